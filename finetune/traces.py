"""`agentgraph traces export`: training rows from the runs stored in the checkpoint store.

Every checkpoint of every thread is read (questions clear the per-question state, so earlier questions
live only in earlier checkpoints). Model turns are attributed to the node that made them:

- `router`: each router turn whose calls are all handoffs to known agents, after the conversation the
  router read (the user's questions and the final answers), with the handoff tools;
- an agent: each finished transcript of that agent (`transcripts` in the state), with its tools.

Formats:
- `swift`: ms-swift agent rows (SFT). Transcripts with a call a person rejected are left out; a call a
  person edited is written with the edited arguments; a call that did not run or failed carries
  `"loss": false` (read from the reply's `ToolCallOutcome`).
- `kto`: one row per approval decision: the agent's turn up to the call, and `label` true when the call
  was approved as it was, false when it was rejected or edited (the edited call is a second, true row).
- `dpo`: one pair per edited call: `chosen` the edited call, `rejected_response` the model's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from agentgraph.errors import AgentgraphError
from agentgraph.toolrecord import record_of

FORMATS = ("swift", "kto", "dpo")
ROUTER = "router"
SUPERVISOR_NODE = "supervisor"
INTERRUPT_CHANNEL = "__interrupt__"


class TraceError(AgentgraphError):
    """The export cannot be made as asked."""


@dataclass(frozen=True)
class Decision:
    """What a person did with a call that needed approval."""

    tool_call_id: str
    action: str
    """`approve`, `reject` or `edit`."""
    edited_args: dict | None = None


def agent_tools(agent: str) -> list[dict]:
    """The OpenAI tool schemas `agent` is served with (the router: its handoff tools)."""
    from agentgraph.agents import DEFAULT_AGENTS

    if agent == ROUTER:
        from langchain_core.utils.function_calling import convert_to_openai_tool

        from agentgraph.router import handoff_tools

        return [convert_to_openai_tool(t) for t in handoff_tools(list(DEFAULT_AGENTS))]
    if agent == "retrieval":
        from agentgraph.finetune.datasets.retrieval import retrieval_agent

        return retrieval_agent().openai_tools()
    spec = next((a for a in DEFAULT_AGENTS if a.name == agent), None)
    return spec.openai_tools() if spec is not None else []


def iter_checkpoints(saver: BaseCheckpointSaver, thread_id: str | None = None) -> Iterator[Any]:
    """Every stored checkpoint tuple (of one thread, or of all), newest first."""
    config = {"configurable": {"thread_id": thread_id}} if thread_id else None
    yield from saver.list(config)  # type: ignore[arg-type]


def _interrupt_values(value: Any) -> Iterable[Any]:
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        yield getattr(item, "value", item)


def approval_ids(tuples: Iterable[Any]) -> set[str]:
    """Ids of the tool calls that were sent to a person for approval (from the stored interrupts)."""
    ids: set[str] = set()
    for snapshot in tuples:
        for write in snapshot.pending_writes or ():
            if len(write) >= 3 and write[1] == INTERRUPT_CHANNEL:
                for value in _interrupt_values(write[2]):
                    if isinstance(value, Mapping) and isinstance(value.get("tool_call_id"), str):
                        ids.add(value["tool_call_id"])
    return ids


def decisions(messages: Sequence[AnyMessage], asked: set[str]) -> dict[str, Decision]:
    """The person's decision on every asked call of a transcript, read from its tool replies' records."""
    found: dict[str, Decision] = {}
    for message in messages:
        if not isinstance(message, ToolMessage) or message.tool_call_id not in asked:
            continue
        record = record_of(message)
        if record.outcome == "rejected":
            found[message.tool_call_id] = Decision(message.tool_call_id, "reject")
        elif record.edited_args is not None:
            found[message.tool_call_id] = Decision(message.tool_call_id, "edit", record.edited_args)
        else:
            found[message.tool_call_id] = Decision(message.tool_call_id, "approve")
    return found


def _fingerprint(snapshot: Any, messages: Sequence[AnyMessage]) -> str:
    """Identifies one conversation of one thread (it appears again in every later checkpoint)."""
    thread = (snapshot.config.get("configurable") or {}).get("thread_id", "")
    body = [[type(m).__name__, m.content, getattr(m, "tool_calls", None), m.additional_kwargs] for m in messages]
    return json.dumps([thread, body], sort_keys=True, default=str)


def transcripts(tuples: Iterable[Any], agent: str) -> list[list[AnyMessage]]:
    """The finished transcripts of `agent` in the checkpoints (each once per thread), oldest first."""
    seen: dict[str, list[AnyMessage]] = {}
    for snapshot in tuples:
        stored = (snapshot.checkpoint.get("channel_values") or {}).get("transcripts") or {}
        for transcript in stored.values():
            if transcript.get("agent") != agent:
                continue
            messages = list(transcript.get("messages") or [])
            if not messages or not isinstance(messages[-1], AIMessage) or messages[-1].tool_calls:
                continue
            seen.setdefault(_fingerprint(snapshot, messages), messages)
    return list(reversed(seen.values()))


def router_turns(tuples: Iterable[Any], agents: Iterable[str]) -> list[list[AnyMessage]]:
    """Router conversations (system prompt, what it read, its handoff turn), each once per thread, oldest first."""
    from agentgraph.router import HANDOFF_PREFIX, ROUTER_PROMPT

    known = {f"{HANDOFF_PREFIX}{a}" for a in agents}
    seen: dict[str, list[AnyMessage]] = {}
    for snapshot in tuples:
        history = (snapshot.checkpoint.get("channel_values") or {}).get("messages") or []
        for index, message in enumerate(history):
            if not isinstance(message, AIMessage) or not message.tool_calls:
                continue
            if not all(call["name"] in known and (call.get("args") or {}).get("task") for call in message.tool_calls):
                continue
            read = [
                m
                for m in history[:index]
                if isinstance(m, HumanMessage) or (isinstance(m, AIMessage) and not m.tool_calls and m.name != SUPERVISOR_NODE)
            ]
            if not read or not isinstance(read[-1], HumanMessage):
                continue
            turn = AIMessage("", tool_calls=[dict(call) for call in message.tool_calls])
            conversation = [SystemMessage(ROUTER_PROMPT), *read, turn]
            message_key = [*read, message]
            seen.setdefault(_fingerprint(snapshot, message_key), conversation)
    return list(reversed(seen.values()))


def unlearnt_calls(messages: Sequence[AnyMessage]) -> set[str]:
    """Ids of the calls in `messages` that did not run or failed: kept in a row, but not learnt."""
    return {m.tool_call_id for m in messages if isinstance(m, ToolMessage) and not record_of(m).ran_ok}


def _with_edits(messages: Sequence[AnyMessage], found: Mapping[str, Decision]) -> list[AnyMessage]:
    out: list[AnyMessage] = []
    for message in messages:
        if isinstance(message, AIMessage) and message.tool_calls:
            calls = [
                {**call, "args": found[call["id"]].edited_args}
                if call["id"] in found and found[call["id"]].action == "edit"
                else dict(call)
                for call in message.tool_calls
            ]
            message = AIMessage(message.content, tool_calls=calls)
        out.append(message)
    return out


def export_rows(saver: BaseCheckpointSaver, agent: str, fmt: str = "swift", thread_id: str | None = None) -> list[dict[str, Any]]:
    """Rows for `agent` in `fmt` (swift, kto or dpo) from the stored runs."""
    from agentgraph.finetune.datasets.common import swift_row
    from agentgraph.finetune.swift_plugin import render_tool_calls

    if fmt not in FORMATS:
        raise TraceError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    tuples = list(iter_checkpoints(saver, thread_id))
    tools = agent_tools(agent)
    if agent == ROUTER:
        from agentgraph.agents import DEFAULT_AGENTS

        if fmt != "swift":
            return []  # the router's handoffs are never sent for approval
        return [swift_row(c, tools) for c in router_turns(tuples, [a.name for a in DEFAULT_AGENTS])]
    asked = approval_ids(tuples)
    rows: list[dict[str, Any]] = []
    for messages in transcripts(tuples, agent):
        found = decisions(messages, asked)
        if fmt == "swift":
            if any(d.action == "reject" for d in found.values()):
                continue
            rows.append(swift_row(_with_edits(messages, found), tools, unlearnt_calls(messages)))
            continue
        for index, message in enumerate(messages):
            if not isinstance(message, AIMessage):
                continue
            judged = [found[c["id"]] for c in message.tool_calls if c["id"] in found]
            if not judged:
                continue
            prefix = swift_row(messages[:index], tools, unlearnt_calls(messages[:index]))
            original = render_tool_calls(message.tool_calls)
            edited = render_tool_calls(_with_edits([message], found)[0].tool_calls)  # type: ignore[union-attr]
            extra = {"tools": prefix["tools"]} if "tools" in prefix else {}
            if fmt == "kto":
                approved = all(d.action == "approve" for d in judged)
                rows.append({**extra, "messages": _answered(prefix, original), "label": approved})
                if any(d.action == "edit" for d in judged) and not any(d.action == "reject" for d in judged):
                    rows.append({**extra, "messages": _answered(prefix, edited), "label": True})
            elif any(d.action == "edit" for d in judged) and edited != original:
                rows.append({**extra, "messages": _answered(prefix, edited), "rejected_response": original})
    return rows


def _answered(prefix: Mapping[str, Any], text: str) -> list[dict[str, Any]]:
    """The messages of row `prefix` followed by the assistant turn `text`."""
    return [*prefix["messages"], {"role": "assistant", "content": text}]


def write_rows(rows: Sequence[Mapping[str, Any]], out: Path | None) -> str | None:
    """Write JSONL to `out`, or return it as text when `out` is None."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if out is None:
        return text
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return None
