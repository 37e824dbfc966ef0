"""The sync saver's API, directly and under a compiled graph."""

from __future__ import annotations

import uuid

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.types import ERROR

from agentgraph.checkpoint import SQLAlchemySaver

from .graphs import chat_graph, config, say


@pytest.fixture
def saver(db_url: str):
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        yield saver


def _put(saver: SQLAlchemySaver, thread: str, parent: dict | None = None, *, values=None, new=None, **metadata):
    checkpoint = empty_checkpoint()
    values = values or {}
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = {k: saver.get_next_version(None, None) for k in values}
    cfg = config(thread)
    if parent:
        cfg["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    return saver.put(cfg, checkpoint, {"source": "loop", "step": 0, **metadata}, new or checkpoint["channel_versions"])


def test_graph_runs_resume_and_history(saver: SQLAlchemySaver) -> None:
    graph = chat_graph(saver)
    cfg = config("chat")
    for i in range(3):
        graph.invoke(say(f"question {i}"), cfg)
    state = graph.get_state(cfg)
    assert [m.content for m in state.values["messages"]][::2] == ["question 0", "question 1", "question 2"]
    assert state.values["turns"] == 3
    history = list(graph.get_state_history(cfg))
    assert len(history) == 9  # input + loop checkpoints, three per call
    assert [len(h.values.get("messages", [])) for h in history][:3] == [6, 5, 4]

    # A second saver on the same database (nothing remembered in memory) sees the same state.
    with SQLAlchemySaver.from_conn_string(str(saver.engine.url)) as other:
        again = chat_graph(other).get_state(cfg)
    assert again.values == state.values


def test_list_filter_before_limit(saver: SQLAlchemySaver) -> None:
    first = _put(saver, "t", step=1, run_id="r1")
    second = _put(saver, "t", first, step=2, run_id="r2")
    third = _put(saver, "t", second, step=3, run_id="r2", score=7)
    ids = [c["configurable"]["checkpoint_id"] for c in (first, second, third)]

    assert [t.checkpoint["id"] for t in saver.list(config("t"))] == ids[::-1]
    assert [t.checkpoint["id"] for t in saver.list(config("t"), filter={"run_id": "r2"})] == ids[:0:-1]
    assert [t.checkpoint["id"] for t in saver.list(config("t"), filter={"score": 7, "step": 3})] == [ids[2]]
    assert [t.checkpoint["id"] for t in saver.list(config("t"), before=third)] == ids[1::-1]
    assert [t.checkpoint["id"] for t in saver.list(config("t"), limit=1)] == [ids[2]]
    assert list(saver.list(config("other"))) == []
    assert {t.config["configurable"]["thread_id"] for t in saver.list(None)} == {"t"}
    tup = saver.get_tuple(third)
    assert tup is not None and tup.parent_config == {"configurable": {**config("t")["configurable"], "checkpoint_id": ids[1]}}


def test_writes_are_pending_on_their_checkpoint(saver: SQLAlchemySaver) -> None:
    stored = _put(saver, "w")
    saver.put_writes(stored, [("b", 2), ("a", {"x": 1})], task_id="task-2", task_path="~2")
    saver.put_writes(stored, [("c", "third")], task_id="task-1", task_path="~1")
    saver.put_writes(stored, [(ERROR, "boom")], task_id="task-1", task_path="~1")
    saver.put_writes(stored, [(ERROR, "boom again")], task_id="task-1", task_path="~1")  # special writes replace
    tup = saver.get_tuple(stored)
    assert tup is not None
    assert tup.pending_writes == [
        ("task-1", ERROR, "boom again"),
        ("task-1", "c", "third"),
        ("task-2", "b", 2),
        ("task-2", "a", {"x": 1}),
    ]


def test_delete_copy_and_prune(saver: SQLAlchemySaver) -> None:
    a1 = _put(saver, "a", values={"items": [1, 2]}, run_id="run-a")
    a2 = _put(saver, "a", a1, values={"items": [1, 2, 3]}, run_id="run-b")
    saver.put_writes(a2, [("items", [4])], task_id="t")
    saver.copy_thread("a", "b")
    copied = saver.get_tuple(config("b"))
    assert copied is not None and copied.checkpoint["channel_values"] == {"items": [1, 2, 3]}
    assert copied.pending_writes == [("t", "items", [4])]

    saver.delete_for_runs(["run-b"])  # the copy carries the run IDs, so it loses that checkpoint too
    assert saver.get_tuple(a2) is None
    for thread in ("a", "b"):
        assert [t.checkpoint["channel_values"] for t in saver.list(config(thread))] == [{"items": [1, 2]}]

    a3 = _put(saver, "a", a1, values={"items": [1, 2, 5]})
    _put(saver, "a", a3, values={"items": [1, 2, 5, 6]})
    saver.prune(["a"], strategy="keep_latest")
    assert [t.checkpoint["channel_values"] for t in saver.list(config("a"))] == [{"items": [1, 2, 5, 6]}]
    assert saver.get_tuple(config("a")).parent_config is None
    with pytest.raises(ValueError, match="Unknown prune strategy"):
        saver.prune(["b"], strategy="sometimes")
    with pytest.raises(TypeError):
        saver.prune("b")

    saver.delete_thread("a")
    assert saver.get_tuple(config("a")) is None
    assert saver.get_tuple(config("b")) is not None


async def test_async_methods_of_the_sync_saver(saver: SQLAlchemySaver) -> None:
    thread = str(uuid.uuid4())
    stored = _put(saver, thread, values={"k": "v" * 300})
    tup = await saver.aget_tuple(stored)
    assert tup is not None and tup.checkpoint["channel_values"] == {"k": "v" * 300}
    assert [t.checkpoint["id"] async for t in saver.alist(config(thread))] == [tup.checkpoint["id"]]
