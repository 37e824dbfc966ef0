"""Where an agent's tool calls are checked and run: the allow-list, argument validation, approvals.

Every function here answers a tool call with exactly one `ToolMessage`; a refused call never runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

from agentgraph.agent import AgentSpec

REJECTED_BY_PERSON = "rejected by a person"


def error_reply(call: Mapping[str, Any], text: str) -> ToolMessage:
    """The error `ToolMessage` answering `call`."""
    return ToolMessage(content=text, tool_call_id=call["id"], name=call.get("name") or "", status="error")


def refusal(spec: AgentSpec, call: Mapping[str, Any]) -> str | None:
    """Why `spec` may not run `call` as given (tool not on the allow-list, invalid arguments), or None."""
    tool = spec.tool(call["name"])
    if tool is None:
        allowed = ", ".join(t.name for t in spec.tools) or "none"
        return f"tool {call['name']!r} is not allowed for the {spec.name} agent; allowed tools: {allowed}"
    problem = invalid_arguments(tool, call.get("args"))
    return f"invalid arguments for {tool.name}: {problem}" if problem else None


def invalid_arguments(tool: BaseTool, args: Any) -> str | None:
    """What is wrong with `args` for `tool`'s schema, or None when they validate."""
    if not isinstance(args, dict):
        return f"arguments must be an object, got {type(args).__name__}"
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
    elif isinstance(schema, dict):
        import jsonschema

        try:
            jsonschema.validate(args, schema)
        except jsonschema.ValidationError as exc:
            return exc.message
    return None


def run_tool(tool: BaseTool, call: Mapping[str, Any]) -> ToolMessage:
    """Run an allowed, validated call; a failure of the tool becomes an error `ToolMessage`."""
    tool_call = ToolCall(name=tool.name, args=dict(call["args"]), id=call["id"], type="tool_call")
    try:
        reply = tool.invoke(tool_call)
    except Exception as exc:  # a broken tool must not end the run: the model sees the failure
        return error_reply(call, f"{tool.name} failed: {type(exc).__name__}: {exc}")
    if isinstance(reply, ToolMessage):
        return reply
    return ToolMessage(content=str(reply), tool_call_id=call["id"], name=tool.name)


@dataclass(frozen=True)
class Decision:
    """A person's answer to an approval request: run the call (perhaps with edited arguments) or not."""

    action: Literal["approve", "reject"]
    args: dict | None = None


def approval_request(agent: str, subtask: str, call: Mapping[str, Any]) -> dict:
    """The value an approval interrupt carries: which agent wants to run which tool with which arguments."""
    return {"agent": agent, "subtask": subtask, "tool": call["name"], "args": dict(call["args"]), "tool_call_id": call["id"]}


def parse_decision(value: Any) -> Decision:
    """Read a resume value `{"action": "approve"|"reject", "args": {...}}`; anything else is a rejection."""
    if isinstance(value, Mapping) and value.get("action") in ("approve", "reject"):
        args = value.get("args")
        return Decision(value["action"], dict(args) if isinstance(args, Mapping) else None)
    return Decision("reject")
