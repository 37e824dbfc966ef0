"""An adapter for a user's own agent: `agentgraph finetune --agent MODULE:SPEC --examples FILE`.

The agent is an `AgentSpec` named `module:attribute` or `path/to/file.py:attribute` (an `AgentSpec`,
or a function returning one). Its training rows come from

- its tool schemas and system prompt, exactly as the agent node sends them;
- a small file of example tasks the user writes (about ten), one JSON object a line:

      {"request": "Convert 5 miles to kilometres.", "calls": [{"name": "convert_units", "args": {"value": 5, "from_unit": "mi", "to_unit": "km"}}], "answer": "5 miles is 8.04672 km."}
      {"request": "Tell me a joke.", "calls": [], "answer": "I only convert units."}

  `calls` is the expected model turn (several calls for a parallel turn, none for a plain answer,
  which then needs `answer`); `answer` is the reply after the tools' results (optional when there
  are calls). Blank lines and lines starting with `#` are skipped. A bad line stops the run with its
  file and line;
- the examples widened: argument values that appear in the request are replaced by others of the
  same kind (numbers by numbers, strings by the values the other examples give the same parameter),
  the tools are run on the new arguments for the results, and the request is phrased again with other
  openings and endings;
- rows exported from the agent's stored runs (`finetune/traces.py`).

Every third example (and its widenings) is held out for `agentgraph eval --agent`. The run starts from
the generalist `tools` adapter's weights (ms-swift `--adapters`), so a few minutes on a CPU suffice,
and the adapter is registered and served under the agent's name.
"""

from __future__ import annotations

import json
import keyword
import math
import random
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agentgraph.agent import AgentSpec
from agentgraph.errors import ConfigError

TOOLS_ADAPTER = "tools"
"""The generalist adapter a user's agent is trained on top of."""
HELD_OUT_EVERY = 3
OPENINGS = ("", "Please, ", "Quick one: ", "I need this: ", "Hi! ", "Question: ", "")
ENDINGS = ("", " Thanks.", " Thank you!", "")
TEST_OPENINGS = ("", "Hey, ", "One thing: ")
"""Openings only the held-out rows use."""
_JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
_RENDERABLE = {"string", "integer", "number", "boolean", "array", "object"}


class ToolSchemaError(ConfigError):
    """A tool whose schema the served template and tool-call parser cannot carry."""


class ExampleFileError(ConfigError):
    """A bad line in an agent's example file (its message names the file and line)."""


def load_agent(reference: str | AgentSpec) -> AgentSpec:
    """The `AgentSpec` named `module:attribute` or `path/to/file.py:attribute` (or a function returning
    one); an `AgentSpec` itself is returned as it is (from a notebook)."""
    import importlib
    import importlib.util

    if isinstance(reference, AgentSpec):
        return reference
    target, _, name = reference.rpartition(":")
    if not target or not name:
        raise ConfigError(f"agent {reference!r} must look like module:attribute or path/to/file.py:attribute")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ConfigError(f"agent {reference!r}: no file {path}")
        spec = importlib.util.spec_from_file_location(f"agentgraph_agent_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"agent {reference!r}: {path} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"agent {reference!r}: cannot import {target}: {exc}") from exc
    if not hasattr(module, name):
        raise ConfigError(f"agent {reference!r}: {target} has no attribute {name!r}")
    agent = getattr(module, name)
    if callable(agent) and not isinstance(agent, AgentSpec):
        agent = agent()
    if not isinstance(agent, AgentSpec):
        raise ConfigError(f"agent {reference!r} is a {type(agent).__name__}, not an AgentSpec")
    return agent


# -- tool schemas -------------------------------------------------------------------------------------


def check_tool_schemas(spec: AgentSpec) -> list[dict]:
    """The agent's OpenAI tool schemas, each checked for what the listing and the pythonic parser can
    carry; the first problem is a ToolSchemaError naming the agent, the tool and the parameter."""
    tools = spec.openai_tools()
    for tool in tools:
        function = tool["function"]
        name = function["name"]
        where = f"agent {spec.name!r}, tool {name!r}"
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ToolSchemaError(
                f"{where}: the name is not a Python identifier, so a call to it cannot be written as [{name}(...)]; "
                "rename the tool (letters, digits and underscores)"
            )
        properties = (function.get("parameters") or {}).get("properties") or {}
        for param, schema in properties.items():
            if not param.isidentifier() or keyword.iskeyword(param):
                raise ToolSchemaError(
                    f"{where}, parameter {param!r}: not a Python identifier, so it cannot be a keyword argument of a call; rename it"
                )
            problem = _unrenderable(schema)
            if problem:
                raise ToolSchemaError(f"{where}, parameter {param!r}: {problem}; the tool listing would show it as `any`")
    return tools


def _unrenderable(schema: Any) -> str | None:
    """Why the listing cannot show `schema`'s type, or None when it can."""
    if not isinstance(schema, dict):
        return "the schema is not an object"
    if "type" not in schema and isinstance(schema.get("anyOf"), list):
        kept = [s for s in schema["anyOf"] if not (isinstance(s, dict) and s.get("type") == "null")]
        if len(kept) != 1:
            return "a union of several types (give it one type)"
        return _unrenderable(kept[0])
    if "$ref" in schema or "allOf" in schema or "oneOf" in schema:
        return "a schema reference or combination (give it a plain type)"
    kind = schema.get("type")
    if isinstance(kind, list):
        return f"several types {kind} (give it one type)"
    if kind is None and not schema.get("enum"):
        return "no type"
    if kind is not None and kind not in _RENDERABLE:
        return f"unknown type {kind!r}"
    return None


# -- example files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskExample:
    """One example task: the request, the expected calls and the answer after their results."""

    request: str
    calls: tuple[tuple[str, dict[str, Any]], ...]
    answer: str | None
    line: int
    results: tuple[str, ...] = field(default=())


def read_examples(path: Path, spec: AgentSpec) -> list[TaskExample]:
    """The example tasks of `path`, each checked against the agent's tools (ExampleFileError names the
    file and line of the first bad one)."""
    path = Path(path)
    if not path.is_file():
        raise ExampleFileError(f"{path}: no such example file")
    tools = {tool["function"]["name"]: tool["function"] for tool in spec.openai_tools()}
    examples = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(text)
        except ValueError as exc:
            raise ExampleFileError(f"{where}: not valid JSON ({exc.args[0] if exc.args else exc})") from exc
        if not isinstance(item, dict):
            raise ExampleFileError(f"{where}: a line must be a JSON object with request, calls and answer")
        unknown = sorted(set(item) - {"request", "calls", "answer"})
        if unknown:
            raise ExampleFileError(f"{where}: unknown key {unknown[0]!r} (use request, calls, answer)")
        request = item.get("request")
        if not isinstance(request, str) or not request.strip():
            raise ExampleFileError(f"{where}: 'request' must be a non-empty string")
        calls_raw = item.get("calls", [])
        if not isinstance(calls_raw, list):
            raise ExampleFileError(f'{where}: \'calls\' must be a list of {{"name": ..., "args": {{...}}}}')
        answer = item.get("answer")
        if answer is not None and (not isinstance(answer, str) or not answer.strip()):
            raise ExampleFileError(f"{where}: 'answer' must be a non-empty string")
        if not calls_raw and answer is None:
            raise ExampleFileError(f"{where}: an example without calls needs the plain 'answer' the agent gives")
        calls = []
        for index, call in enumerate(calls_raw):
            if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                raise ExampleFileError(f"{where}: call {index + 1} must be an object with a 'name' and 'args'")
            name, args = call["name"], call.get("args", {})
            if name not in tools:
                raise ExampleFileError(
                    f"{where}: calls tool {name!r}, which agent {spec.name!r} does not have (its tools: {', '.join(tools) or 'none'})"
                )
            if not isinstance(args, dict):
                raise ExampleFileError(f"{where}: the args of {name!r} must be an object")
            _check_args(where, name, args, tools[name].get("parameters") or {})
            calls.append((name, args))
        examples.append(TaskExample(request.strip(), tuple(calls), answer, number))
    if not examples:
        raise ExampleFileError(f"{path}: no examples")
    return examples


def _check_args(where: str, tool: str, args: dict[str, Any], parameters: dict[str, Any]) -> None:
    properties = parameters.get("properties") or {}
    for arg, value in args.items():
        if arg not in properties:
            raise ExampleFileError(f"{where}: {tool} has no parameter {arg!r} (its parameters: {', '.join(properties)})")
        schema = properties[arg]
        if "type" not in schema and isinstance(schema.get("anyOf"), list):
            kept = [s for s in schema["anyOf"] if s.get("type") != "null"]
            schema = kept[0] if len(kept) == 1 else schema
        expected = _JSON_TYPES.get(schema.get("type"))
        wrong_type = expected is not None and (
            not isinstance(value, expected) or (isinstance(value, bool) and schema.get("type") != "boolean")
        )
        if wrong_type:
            raise ExampleFileError(f"{where}: {tool}({arg}=...) should be {schema.get('type')}, got {json.dumps(value)}")
        if schema.get("enum") and value not in schema["enum"]:
            raise ExampleFileError(f"{where}: {tool}({arg}=...) must be one of {schema['enum']}, got {json.dumps(value)}")
    missing = [name for name in parameters.get("required") or [] if name not in args]
    if missing:
        raise ExampleFileError(f"{where}: {tool} needs {', '.join(repr(m) for m in missing)}")


# -- rows ---------------------------------------------------------------------------------------------


def run_tools(spec: AgentSpec, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[str] | None:
    """The agent's real tools' results for `calls`, or None when one of them fails."""
    from agentgraph.finetune.train import failed_call

    results = []
    for name, args in calls:
        tool = spec.tool(name)
        if tool is None:
            return None
        try:
            result = str(tool.invoke(dict(args)))
        except Exception:  # a tool's own refusal: this widening is unusable
            return None
        if failed_call(name, result):
            return None
        results.append(result)
    return results


def example_row(
    spec: AgentSpec, tools: list[dict], request: str, calls: Sequence[tuple[str, dict]], results: Sequence[str] | None, answer: str | None
) -> dict[str, Any]:
    """The agent's conversation for one task as an ms-swift row: system prompt, request, calls, results, answer."""
    from agentgraph.finetune.datasets.common import swift_row

    messages: list[BaseMessage] = [SystemMessage(spec.system_prompt), HumanMessage(request)]
    if calls:
        ids = [f"call_{i}" for i in range(len(calls))]
        messages.append(
            AIMessage(
                "", tool_calls=[{"name": n, "args": dict(a), "id": i, "type": "tool_call"} for (n, a), i in zip(calls, ids, strict=True)]
            )
        )
        if results is not None and answer is not None:
            messages += [ToolMessage(r, tool_call_id=i) for r, i in zip(results, ids, strict=True)]
            messages.append(AIMessage(answer))
    elif answer is not None:
        messages.append(AIMessage(answer))
    return swift_row(messages, tools)


def _number_like(rng: random.Random, value: int | float) -> int | float:
    if isinstance(value, int):
        magnitude = max(abs(value), 5)
        new = rng.randint(1, magnitude * 3)
        return -new if value < 0 else new
    return round(rng.uniform(0.5, max(abs(value), 2.0) * 3), 1)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def widen(
    spec: AgentSpec, example: TaskExample, pools: dict[tuple[str, str], list[Any]], rng: random.Random
) -> tuple[str, list[tuple[str, dict]], list[tuple[str, str]]] | None:
    """`example` with other argument values (those written in the request) and the (old, new) texts
    replaced, or None when none can change."""
    request = example.request
    calls = [(name, dict(args)) for name, args in example.calls]
    replaced: list[tuple[str, str]] = []
    for name, args in calls:
        for arg, value in list(args.items()):
            shown = _show(value)
            if isinstance(value, bool) or not shown or not re.search(rf"(?<![\w.]){re.escape(shown)}(?![\w])", request, re.IGNORECASE):
                continue
            if isinstance(value, (int, float)):
                new = _number_like(rng, value)
            elif isinstance(value, str):
                options = [v for v in pools.get((name, arg), []) if isinstance(v, str) and v.lower() != value.lower()]
                if not options:
                    continue
                new = rng.choice(options)
            else:
                continue
            request = re.sub(
                rf"(?<![\w.]){re.escape(shown)}(?![\w])", _show(new).replace("\\", "\\\\"), request, count=1, flags=re.IGNORECASE
            )
            args[arg] = new
            replaced.append((shown, _show(new)))
    return (request, calls, replaced) if replaced else None


def phrase(rng: random.Random, request: str, held_out: bool) -> str:
    """`request` with another opening and ending."""
    opening = rng.choice(TEST_OPENINGS if held_out else OPENINGS)
    text = request
    if opening:
        text = opening + text[:1].lower() + text[1:]
    ending = rng.choice(ENDINGS)
    return text + ending if ending and text.endswith((".", "?", "!")) else text


def _answer_for(
    example: TaskExample, old: Sequence[str] | None, new: Sequence[str] | None, replaced: Sequence[tuple[str, str]]
) -> str | None:
    """The example's answer with the new results and argument values in place of the old ones (None
    when it does not quote every result: the row then ends with the calls)."""
    if example.answer is None or old is None or new is None:
        return example.answer if not example.calls else None
    answer = example.answer
    marks = {}
    for number, (before, after) in enumerate(zip(old, new, strict=True)):
        if before not in answer:
            return None
        marks[f"\0{number}\0"] = after
        answer = answer.replace(before, f"\0{number}\0")
    for before, after in replaced:
        answer = re.sub(rf"(?<![\w.]){re.escape(before)}(?![\w])", after.replace("\\", "\\\\"), answer, count=1, flags=re.IGNORECASE)
    for mark, after in marks.items():
        answer = answer.replace(mark, after)
    return answer


def build_rows(spec: AgentSpec, examples: Sequence[TaskExample], seed: int = 0, per_example: int = 12) -> dict[str, list[dict[str, Any]]]:
    """Train, val and test rows: every third example (with its widenings) is test, the others train;
    val is a few train examples' widenings not trained on."""
    tools = check_tool_schemas(spec)
    pools: dict[tuple[str, str], list[Any]] = {}
    for example in examples:
        for name, args in example.calls:
            for arg, value in args.items():
                pools.setdefault((name, arg), []).append(value)
    for tool in tools:
        for arg, schema in ((tool["function"].get("parameters") or {}).get("properties") or {}).items():
            pools.setdefault((tool["function"]["name"], arg), []).extend(schema.get("enum") or [])
    rng = random.Random(f"{seed}:{spec.name}")
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "val": [], "test": []}
    seen: set[str] = set()
    for index, example in enumerate(examples):
        held_out = index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
        base_results = run_tools(spec, example.calls) if example.calls else None
        answer = example.answer
        variants = [(example.request, [(n, dict(a)) for n, a in example.calls], base_results, answer)]
        for _ in range(per_example * 3):
            if len(variants) >= per_example:
                break
            widened = widen(spec, example, pools, rng) if example.calls and rng.random() < 0.8 else None
            if widened is None:
                variants.append((phrase(rng, example.request, held_out), [(n, dict(a)) for n, a in example.calls], base_results, answer))
                continue
            request, calls, replaced = widened
            results = run_tools(spec, calls)
            if results is None:
                continue
            variants.append((phrase(rng, request, held_out), calls, results, _answer_for(example, base_results, results, replaced)))
        for number, (request, calls, results, reply) in enumerate(variants):
            row = example_row(spec, tools, request, calls, results, reply)
            key = json.dumps(row, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            split = "test" if held_out else ("val" if number % 6 == 5 else "train")
            splits[split].append({**row, "_example_line": example.line} if split == "test" else row)
    return splits


def trace_rows(spec: AgentSpec, settings: Any) -> list[dict[str, Any]]:
    """The agent's finished transcripts from the stored runs, as ms-swift rows with its tools."""
    from agentgraph.finetune.datasets.common import swift_row
    from agentgraph.finetune.traces import iter_checkpoints, transcripts
    from agentgraph.runtime import open_checkpointer

    tools = spec.openai_tools()
    with open_checkpointer(settings) as saver:
        return [swift_row(messages, tools) for messages in transcripts(list(iter_checkpoints(saver)), spec.name)]


# -- training and evaluation --------------------------------------------------------------------------


def starting_adapter(settings: Any, base_model_hash: str) -> Path:
    """The `tools` adapter's folder, checked: registered, on disk, trained on this base model."""
    from agentgraph.finetune.train import TrainingError
    from agentgraph.serving.registry import AdapterRegistry, check_adapter

    entry = AdapterRegistry.load(settings.registry_path).entries.get(TOOLS_ADAPTER)
    if entry is None:
        raise TrainingError(
            f"a user's agent is trained on top of the {TOOLS_ADAPTER!r} adapter and none is registered: run `agentgraph finetune {TOOLS_ADAPTER}`"
        )
    check_adapter(entry, settings.server.max_lora_rank, base_model_hash)
    return entry.path


def finetune_agent(
    reference: str | AgentSpec,
    examples_file: Path,
    settings: Any,
    *,
    per_example: int = 12,
    epochs: float = 2.0,
    max_steps: int | None = None,
    traces: bool = True,
    output: Path | None = None,
    register: bool = True,
    seed: int = 0,
    on_event: Any = None,
    on_stage: Any = None,
) -> Any:
    """Build the agent's rows, train them on top of `tools` with `swift sft`, export, register."""
    from dataclasses import replace
    from datetime import datetime

    from agentgraph.finetune.config import DataConfig, SftConfig, TrainConfig
    from agentgraph.finetune.datasets.common import files_hash, write_jsonl
    from agentgraph.finetune.train import DataFiles, TrainingError, complete_run, count_rows, run_swift, swift_command, total_steps
    from agentgraph.serving.prepare import prepare_model
    from agentgraph.serving.profile import get_profile

    stage = on_stage or (lambda _text, _total: None)
    spec = load_agent(reference)
    if spec.adapter_name == TOOLS_ADAPTER:
        raise TrainingError(f"agent {spec.name!r} is served as {TOOLS_ADAPTER!r}, the generalist adapter; give it its own adapter name")
    examples = read_examples(examples_file, spec)
    profile = get_profile(settings.model.profile)
    stage("preparing the base model", None)
    model = prepare_model(settings, profile)
    start = starting_adapter(settings, model.base_model_hash)
    stage("building the rows", None)
    splits = build_rows(spec, examples, seed=seed, per_example=per_example)
    extra = trace_rows(spec, settings) if traces else []
    folder = Path(settings.finetune.data_dir) / spec.adapter_name
    write_jsonl(folder / "train.jsonl", splits["train"] + extra)
    write_jsonl(folder / "val.jsonl", splits["val"] or splits["train"][:4])
    write_jsonl(folder / "test.jsonl", splits["test"])
    (folder / "agent.json").write_text(
        json.dumps(
            {"agent": str(reference) if isinstance(reference, str) else spec.name, "examples": str(examples_file), "trace_rows": len(extra)}
        )
        + "\n"
    )
    train, val = folder / "train.jsonl", folder / "val.jsonl"
    data = DataFiles(train, val, files_hash((train, val)), count_rows(train), count_rows(val))
    config = TrainConfig(
        agent=spec.adapter_name,
        data=DataConfig(n_train=data.train_rows, seed=seed, val_rows=0),
        sft=SftConfig(epochs=epochs, batch_size=4, learning_rate=2e-4, eval_steps=max(5, data.train_rows // 8), warmup_ratio=0.05),
    )
    if max_steps is not None:
        config = replace(config, sft=replace(config.sft, max_steps=max_steps))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(settings.finetune.runs_dir) / f"{spec.adapter_name}-sft-{stamp}"
    command = swift_command(config, "sft", profile, model, data, run_dir, init_adapter=start)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "command.json").write_text(json.dumps(command, indent=2) + "\n")
    planned = total_steps(config, "sft", data.train_rows)
    info = {
        "agent": spec.adapter_name,
        "method": "sft",
        "base_model_hash": model.base_model_hash,
        "data_hash": data.data_hash,
        "train_rows": data.train_rows,
        "val_rows": data.val_rows,
        "config": config.to_dict(),
        "init_adapter": str(start),
        "started_at": stamp,
        "planned_steps": planned,
        "agent_reference": str(reference) if isinstance(reference, str) else spec.name,
        "trace_rows": len(extra),
    }
    (run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")
    stage(f"training {spec.adapter_name} on top of {TOOLS_ADAPTER} ({data.train_rows} rows, {len(extra)} from traces)", planned)
    run_swift(command, run_dir, on_event)
    stage("exporting the adapter", None)
    adapter_dir = Path(output) if output is not None else Path(settings.registry_path).parent / spec.adapter_name
    return complete_run(run_dir, settings, adapter_dir, register=register)


def calls_match(expected: Sequence[tuple[str, dict]], got: Sequence[tuple[str, dict]]) -> bool:
    """The same calls (in any order), numbers equal to 1e-6, strings ignoring case and outer spaces."""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or isinstance(b, bool):
            return a == b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
        if isinstance(a, str) and isinstance(b, str):
            return a.strip().lower() == b.strip().lower()
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return a == b

    remaining = list(got)
    for name, args in expected:
        match = next(
            (c for c in remaining if c[0] == name and c[1].keys() == args.keys() and all(same(args[k], c[1][k]) for k in args)), None
        )
        if match is None:
            return False
        remaining.remove(match)
    return not remaining


def expected_calls(row: dict[str, Any]) -> list[tuple[str, dict]]:
    """The calls of a row's first model turn."""
    calls = []
    for message in row["messages"]:
        if message["role"] == "tool_call":
            payload = json.loads(message["content"])
            calls.append((payload["name"], payload["arguments"]))
        elif message["role"] in ("assistant", "tool_response") and calls:
            break
        elif message["role"] == "assistant":
            break
    return calls


def eval_agent(
    reference: str | AgentSpec, settings: Any, models: Sequence[str] | None = None, limit: int | None = None, concurrency: int = 4
) -> dict[str, Any]:
    """The agent's held-out rows (built by `finetune_agent`) asked of each model: the share whose first
    turn makes exactly the expected calls (or, for a plain answer, no call)."""
    from agentgraph.finetune.datasets.common import read_jsonl
    from agentgraph.serving.client import chat_model

    spec = load_agent(reference)
    test_file = Path(settings.finetune.data_dir) / spec.adapter_name / "test.jsonl"
    if not test_file.is_file():
        raise ConfigError(
            f"no held-out rows for agent {spec.name!r} in {test_file}: run `agentgraph finetune --agent {reference if isinstance(reference, str) else 'MODULE:SPEC'} --examples FILE` first"
        )
    rows = read_jsonl(test_file)[: limit or None]
    tools = spec.openai_tools()
    results: dict[str, Any] = {"agent": spec.name, "rows": len(rows), "models": {}}
    for model in models or (spec.adapter_name, TOOLS_ADAPTER):
        chat = chat_model(model, settings).bind_tools(tools)

        def one(row: dict[str, Any], chat: Any = chat) -> dict[str, Any]:
            expected = expected_calls(row)
            request = next(m["content"] for m in row["messages"] if m["role"] == "user")
            reply = chat.invoke([SystemMessage(spec.system_prompt), HumanMessage(request)])
            got = [(c["name"], dict(c["args"])) for c in reply.tool_calls]
            return {
                "request": request,
                "expected": expected,
                "got": got,
                "content": str(reply.content)[:200],
                "ok": calls_match(expected, got),
            }

        with ThreadPoolExecutor(concurrency) as pool:
            details = list(pool.map(one, rows))
        right = sum(d["ok"] for d in details)
        results["models"][model] = {"call_exact": round(100 * right / max(len(rows), 1), 1), "right": right, "details": details}
    return results


__all__ = [
    "ExampleFileError",
    "TaskExample",
    "ToolSchemaError",
    "build_rows",
    "calls_match",
    "check_tool_schemas",
    "eval_agent",
    "finetune_agent",
    "load_agent",
    "read_examples",
]
