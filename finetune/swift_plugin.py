"""ms-swift registrations for training agentgraph adapters on Gemma 3 in the format vLLM serves.

Load it with `swift sft --custom_register_path finetune/swift_plugin.py --template agentgraph_gemma3`
(the agent template `agentgraph_pythonic` is the template's default). It registers:

- `agentgraph_gemma3`: Gemma 3 turns with a `system` turn (ms-swift's `gemma3_text` has none, so it
  drops every row with tools);
- `agentgraph_pythonic`: tools listed as one signature line each, calls written as a Python list of
  calls (`[calculator(expression="12*3")]`, read back by vLLM's `pythonic` parser), one `tool` turn per
  tool result.

The text is the same, token for token, as `agentgraph/serving/templates/gemma3_pythonic.jinja` renders
for vLLM (checked by tests/finetune/test_template_parity.py). The turn end after a tool call is part
of the trained reply: the served adapter must stop right after its call.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from swift.agent_template import BaseAgentTemplate, agent_template_map
from swift.infer_engine import Function
from swift.template import Template, TemplateMeta, register_template

# ms-swift puts this file's folder first on sys.path; finetune/datasets would then shadow the Hugging Face
# `datasets` package in any later import (spawned dataloader workers inherit sys.path).
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [entry for entry in sys.path if not entry or str(Path(entry).resolve()) != _HERE]

TEMPLATE = "agentgraph_gemma3"
AGENT_TEMPLATE = "agentgraph_pythonic"
START, END = "<start_of_turn>", "<end_of_turn>"
CALL_HINT = 'Call tools as [name(arg="value")].'
_JSON_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list", "object": "dict"}


def python_literal(value: Any) -> str:
    """`value` as a Python literal, written as the chat template's `py_value` macro writes it."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "None"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {python_literal(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(python_literal(v) for v in value) + "]"


def type_text(schema: Any) -> str:
    """A parameter's type as the listing writes it: `str`, `int`, ..., an enum as its values
    (`"c"|"f"`), a typed array as `list[int]`, an object with properties as `{key: type, ...}`, an
    optional value (`anyOf` X or null) as X; anything else as `any`."""
    if not isinstance(schema, dict):
        return "any"
    options = schema.get("anyOf")
    if "type" not in schema and isinstance(options, list):
        # Optional[X] (X or null) is listed as X; any other union has no one type to show
        kept = [option for option in options if not (isinstance(option, dict) and option.get("type") == "null")]
        return type_text(kept[0]) if len(kept) == 1 else "any"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return "|".join(python_literal(value) for value in schema["enum"])
    kind = schema.get("type")
    text = _JSON_TYPES.get(kind, "any") if isinstance(kind, str) else "any"
    if kind == "array" and isinstance(schema.get("items"), dict) and "type" in schema["items"]:
        return f"list[{type_text(schema['items'])}]"
    if kind == "object" and isinstance(schema.get("properties"), dict) and schema["properties"]:
        return "{" + ", ".join(f"{key}: {type_text(sub)}" for key, sub in schema["properties"].items()) + "}"
    return text


def tool_signature(tool: dict) -> str:
    """One line for a tool: `name(arg: type, opt: type = default) - description`."""
    function = tool.get("function", tool) if isinstance(tool, dict) else tool
    params = function.get("parameters")
    params = params if isinstance(params, dict) else {}
    props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
    required = params.get("required") or []
    args = []
    for name, schema in props.items():
        arg = f"{name}: {type_text(schema)}"
        if name not in required:
            arg += f" = {python_literal(schema['default']) if 'default' in schema else 'None'}"
        args.append(arg)
    line = f"{function['name']}({', '.join(args)})"
    description = function.get("description")
    return f"{line} - {' '.join(description.split())}" if description else line


def system_text(tools: list[dict] | None, system: str | None) -> str:
    """The system turn's text: the system prompt, then the tool listing when there are tools."""
    text = system or ""
    if tools:
        listing = "".join(tool_signature(tool) + "\n" for tool in tools)
        text = f"{text}\n" if text else ""
        text += f"Tools:\n{listing}{CALL_HINT}"
    return text


def render_calls(calls: list[tuple[str, dict]]) -> str:
    """Tool calls as one pythonic list: `[a(x="1"), b(y=2)]`."""
    rendered = [f"{name}({', '.join(f'{key}={python_literal(value)}' for key, value in args.items())})" for name, args in calls]
    return "[" + ", ".join(rendered) + "]"


def render_tool_calls(calls: Sequence[Mapping[str, Any]]) -> str:
    """LangChain tool calls (`name`, `args`) as the pythonic list the model writes."""
    return render_calls([(call["name"], dict(call.get("args") or {})) for call in calls])


def parse_calls(text: str) -> list[tuple[str, dict]] | None:
    """The calls in a pythonic call list, or None when `text` is not exactly one such list."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.List) or not node.elts or not all(isinstance(e, ast.Call) for e in node.elts):
        return None
    calls = []
    for call in node.elts:
        if not isinstance(call.func, ast.Name) or call.args or any(kw.arg is None for kw in call.keywords):
            return None
        try:
            calls.append((call.func.id, {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}))
        except ValueError:
            return None
    return calls


class PythonicAgentTemplate(BaseAgentTemplate):
    """Terse tool listing, pythonic call lists and Gemma `tool` turns (see the module docstring)."""

    def _format_tools(self, tools: list[str | dict], system: str | None = None, user_message: dict | None = None) -> str:
        return system_text([self._parse_json(tool) for tool in tools], system)

    def _format_tool_calls(self, tool_call_messages: list[dict]) -> str:
        calls = [self._parse_tool_call(message["content"]) for message in tool_call_messages]
        return render_calls([(call["name"], call["arguments"]) for call in calls])

    def _format_tool_responses(self, assistant_content: str | list, tool_messages: list[dict]) -> tuple[str | list, list[str]]:
        if isinstance(assistant_content, list):
            last, turns = self._format_tool_responses(assistant_content[-1], tool_messages)
            return assistant_content[:-1] + [last], turns
        turns: list[str] = []
        for message in tool_messages:
            turns += [f"\n{START}tool\n", message["content"], END]
        turns.append(f"\n{START}model\n")
        # the call's turn end is trained: the served adapter must stop right after its call
        return assistant_content + END, turns

    def _format_standalone_tool_responses(self, tool_messages: list[dict]) -> list[str]:
        turns: list[str] = []
        for message in tool_messages:
            turns += [f"{END}\n{START}tool\n", message["content"]]
        return turns

    def get_toolcall(self, response: str) -> list[Function]:
        calls = parse_calls(response.split(END)[0])
        return [Function(name=name, arguments=args) for name, args in calls or []]


agent_template_map[AGENT_TEMPLATE] = PythonicAgentTemplate

register_template(
    TemplateMeta(
        TEMPLATE,
        prefix=["<bos>"],
        system_prefix=[f"<bos>{START}system\n{{{{SYSTEM}}}}{END}\n"],
        prompt=[f"{START}user\n{{{{QUERY}}}}{END}\n{START}model\n"],
        chat_sep=[f"{END}\n"],
        suffix=[END],
        template_cls=Template,
        stop_words=[END],
        agent_template=AGENT_TEMPLATE,
    ),
    exist_ok=True,
)
