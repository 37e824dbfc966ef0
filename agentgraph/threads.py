"""Threads of a checkpointed graph: list them, read their history, fork them, summarise a run."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Interrupt, StateSnapshot

from agentgraph.errors import AgentgraphError

__all__ = [
    "CheckpointInfo",
    "current_state",
    "fork_thread",
    "history",
    "list_threads",
    "PRINCIPAL_KEY",
    "run_principal",
    "run_summary",
    "thread_config",
    "thread_status",
    "ThreadError",
    "ThreadInfo",
]


class ThreadError(AgentgraphError):
    """A thread or checkpoint does not exist, or is not in the state the command needs."""


PRINCIPAL_KEY = "agentgraph_principal"
"""`configurable` key of the run's principal: the name of the API key whose request runs it (audited)."""


def thread_config(thread_id: str, checkpoint_id: str | None = None, *, principal: str | None = None) -> RunnableConfig:
    """The config that addresses a thread (at its latest checkpoint, or at `checkpoint_id`), run on
    behalf of `principal` if given."""
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    if principal is not None:
        configurable[PRINCIPAL_KEY] = principal
    return {"configurable": configurable}


def run_principal(config: RunnableConfig | None) -> str | None:
    """The principal a run's config names (see `thread_config`), or None."""
    return ((config or {}).get("configurable") or {}).get(PRINCIPAL_KEY)


@dataclass(frozen=True)
class ThreadInfo:
    """One thread: its latest checkpoint, its last question and whether it finished."""

    thread_id: str
    updated_at: str
    checkpoints: int
    question: str
    status: str
    """`done`, `waiting` (for a person's approval) or `unfinished` (interrupted by a crash or a kill)."""


@dataclass(frozen=True)
class CheckpointInfo:
    """One checkpoint of a thread and the nodes whose writes produced it."""

    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str
    written_by: list[str]
    next: list[str]
    created_at: str
    answer: str = ""
    plan: list[str] = field(default_factory=list)


def current_state(graph: CompiledStateGraph, thread_id: str) -> StateSnapshot:
    """The latest state of a thread; a clear error when the thread does not exist."""
    state = graph.get_state(thread_config(thread_id))
    if state.created_at is None:
        raise ThreadError(f"unknown thread {thread_id!r}; `agentgraph threads` lists the known ones")
    return state


def thread_status(state: StateSnapshot) -> str:
    """`done`, `waiting` or `unfinished` for a thread's latest state.

    A step whose tasks all finished but whose checkpoint was never written (the process died in
    between) shows no `next` node, only its tasks: that thread is unfinished too.
    """
    if state.interrupts:
        return "waiting"
    return "unfinished" if state.next or state.tasks else "done"


def list_threads(graph: CompiledStateGraph, checkpointer: BaseCheckpointSaver, limit: int = 20) -> list[ThreadInfo]:
    """The `limit` most recently updated threads, newest first."""
    counts: dict[str, int] = {}
    latest: dict[str, str] = {}
    for item in checkpointer.list(None):
        configurable = item.config["configurable"]
        if configurable.get("checkpoint_ns"):
            continue
        thread_id = configurable["thread_id"]
        counts[thread_id] = counts.get(thread_id, 0) + 1
        ts = item.checkpoint["ts"]
        if ts > latest.get(thread_id, ""):
            latest[thread_id] = ts
    newest = sorted(latest, key=latest.__getitem__, reverse=True)[:limit]
    infos = []
    for thread_id in newest:
        state = graph.get_state(thread_config(thread_id))
        infos.append(
            ThreadInfo(
                thread_id=thread_id,
                updated_at=latest[thread_id],
                checkpoints=counts[thread_id],
                question=_last_question(state.values),
                status=thread_status(state),
            )
        )
    return infos


def history(graph: CompiledStateGraph, thread_id: str) -> list[CheckpointInfo]:
    """A thread's checkpoints, oldest first, each with the nodes that wrote it."""
    current_state(graph, thread_id)
    snapshots = list(graph.get_state_history(thread_config(thread_id)))
    by_id = {s.config["configurable"]["checkpoint_id"]: s for s in snapshots}
    infos = []
    for snapshot in reversed(snapshots):
        parent_id = snapshot.parent_config["configurable"]["checkpoint_id"] if snapshot.parent_config else None
        parent = by_id.get(parent_id) if parent_id else None
        source = snapshot.metadata.get("source", "?") if snapshot.metadata else "?"
        written_by = [task.name for task in parent.tasks] if parent and source == "loop" else [source]
        values = snapshot.values or {}
        infos.append(
            CheckpointInfo(
                checkpoint_id=snapshot.config["configurable"]["checkpoint_id"],
                parent_id=parent_id,
                step=snapshot.metadata.get("step", -1) if snapshot.metadata else -1,
                source=source,
                written_by=written_by,
                next=list(snapshot.next),
                created_at=snapshot.created_at or "",
                answer=values.get("answer", ""),
                plan=[f"{s['id']}:{s['status']}" for s in values.get("plan", [])],
            )
        )
    return infos


def fork_thread(checkpointer: BaseCheckpointSaver, thread_id: str, checkpoint_id: str, new_thread_id: str | None = None) -> str:
    """A new thread starting at one checkpoint of `thread_id`; its id.

    The new thread has that checkpoint's state, and the nodes that ran after it run again when the
    thread is resumed (`graph.invoke(None, ...)`).
    """
    source = checkpointer.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}})
    if source is None:
        raise ThreadError(f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}; `agentgraph history {thread_id}` lists them")
    new_thread_id = new_thread_id or str(uuid.uuid4())
    metadata = {**source.metadata, "source": "fork", "forked_from": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}}
    checkpointer.put(
        {"configurable": {"thread_id": new_thread_id, "checkpoint_ns": ""}},
        source.checkpoint,
        metadata,  # type: ignore[arg-type]
        dict(source.checkpoint["channel_versions"]),
    )
    return new_thread_id


def run_summary(thread_id: str, values: Mapping[str, Any], interrupts: Iterable[Interrupt] = ()) -> dict[str, Any]:
    """The outcome of a run as plain JSON data: answer, agents in the order they ran, citations, tool calls."""
    results = values.get("results", {})
    ran = [s for s in values.get("plan", []) if s["id"] in results]
    return {
        "thread_id": thread_id,
        "answer": values.get("answer", ""),
        "agents": [s["agent"] for s in ran],
        "citations": list(values.get("citations", [])),
        "tool_calls": [
            {"agent": s["agent"], "name": call["name"], "arguments": call["args"], "status": call["status"]}
            for s in ran
            for call in results[s["id"]]["tool_calls"]
        ],
        "errors": list(values.get("errors", [])),
        "interrupts": [{"id": i.id, **i.value} if isinstance(i.value, dict) else {"id": i.id, "value": i.value} for i in interrupts],
    }


def _last_question(values: Mapping[str, Any]) -> str:
    question = next((m for m in reversed(values.get("messages", [])) if isinstance(m, HumanMessage)), None)
    return " ".join(question.text.split()) if question else ""
