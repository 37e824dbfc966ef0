"""How values are stored: once per version, and growing lists as their new items."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.checkpoint.base import empty_checkpoint

from agentgraph.checkpoint import SQLAlchemySaver
from agentgraph.checkpoint.schema import blobs
from agentgraph.errors import StorageError

from .graphs import chat_graph, config, say


def _rows(saver: SQLAlchemySaver, channel: str, thread: str = "chat") -> list[sa.Row]:
    with saver.engine.connect() as conn:
        return conn.execute(sa.select(blobs).where(blobs.c.thread_id == thread, blobs.c.channel == channel).order_by(blobs.c.version)).all()


def _put_list(saver: SQLAlchemySaver, thread: str, items: list, parent: dict | None = None, version: str | None = None):
    checkpoint = empty_checkpoint()
    version = version or saver.get_next_version(None, None)
    checkpoint["channel_values"] = {"items": items}
    checkpoint["channel_versions"] = {"items": version}
    cfg = config(thread)
    if parent:
        cfg["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    return saver.put(cfg, checkpoint, {"source": "loop", "step": 0}, {"items": version})


def test_growing_messages_are_stored_as_deltas_with_periodic_snapshots(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url, snapshot_every=4) as saver:
        graph = chat_graph(saver)
        for i in range(12):
            graph.invoke(say(f"q{i}"), config("chat"))
        rows = _rows(saver, "messages")
        expected = graph.get_state(config("chat")).values["messages"]

    assert all(r.depth < 4 for r in rows)
    deltas = [r for r in rows if r.base_version is not None]
    snapshots = [r for r in rows if r.base_version is None]
    assert len(deltas) > 2 * len(snapshots)
    assert {r.depth for r in deltas} == {1, 2, 3}
    # Each delta holds only the new message(s): far smaller than the whole history.
    assert max(len(r.blob) for r in deltas) * 4 < max(len(r.blob) for r in snapshots)
    assert len(expected) == 24

    with SQLAlchemySaver.from_conn_string(db_url) as fresh:  # nothing remembered: rebuilt from rows
        state = chat_graph(fresh).get_state(config("chat")).values["messages"]
        history = [len(s.values.get("messages", [])) for s in chat_graph(fresh).get_state_history(config("chat"))]
    assert state == expected
    assert history[:4] == [24, 23, 22, 22]


def test_unchanged_channel_is_written_once(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        graph = chat_graph(saver)
        graph.invoke({**say("first"), "notes": {"topic": "storage", "tags": ["a", "b"]}}, config("chat"))
        for i in range(5):
            graph.invoke(say(f"more {i}"), config("chat"))
        assert len(_rows(saver, "notes")) == 1
        assert graph.get_state(config("chat")).values["notes"] == {"topic": "storage", "tags": ["a", "b"]}


def test_storage_grows_far_slower_than_full_copies(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url, snapshot_every=8) as saver:
        graph = chat_graph(saver)
        for i in range(40):
            graph.invoke(say(f"q{i}"), config("chat"))
        stored = sum(len(r.blob) for r in _rows(saver, "messages"))
        full_copies = sum(
            len(saver.serde.dumps_typed(s.values["messages"])[1])
            for s in graph.get_state_history(config("chat"))
            if s.values.get("messages")
        )
    assert stored * 4 < full_copies


def test_edits_that_are_not_appends_store_the_whole_list(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        graph = chat_graph(saver)
        graph.invoke(say("q1"), config("chat"))
        graph.invoke(say("q2"), config("chat"))
        first = graph.get_state(config("chat")).values["messages"][0]
        graph.update_state(config("chat"), {"messages": [HumanMessage(content="edited", id=first.id)]})
        edited = [m.content for m in graph.get_state(config("chat")).values["messages"]]
        graph.update_state(config("chat"), {"messages": [RemoveMessage(id=first.id)]})
        removed = [m.content for m in graph.get_state(config("chat")).values["messages"]]
        latest = _rows(saver, "messages")[-1]

    assert edited[0] == "edited" and len(edited) == 4
    assert removed == edited[1:]
    assert latest.base_version is None
    with SQLAlchemySaver.from_conn_string(db_url) as fresh:
        assert [m.content for m in chat_graph(fresh).get_state(config("chat")).values["messages"]] == removed


def test_forks_rebuild_their_own_branch(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        graph = chat_graph(saver)
        for i in range(3):
            graph.invoke(say(f"q{i}"), config("chat"))
        past = [s for s in graph.get_state_history(config("chat")) if len(s.values.get("messages", [])) == 2][0]
        graph.invoke(say("branch"), past.config)
        branch = [m.content for m in graph.get_state(config("chat")).values["messages"]]
        main_line = [
            m.content
            for s in graph.get_state_history(config("chat"))
            if len(s.values.get("messages", [])) == 6
            for m in s.values["messages"]
        ]
    assert branch[2] == "branch" and len(branch) == 4
    assert main_line[4] == "q2"


def test_delta_is_not_written_on_top_of_a_deleted_value(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as saver, SQLAlchemySaver.from_conn_string(db_url) as other:
        first = _put_list(saver, "t", ["a", "b"])
        other.delete_thread("t")  # another process: `saver` still remembers ["a", "b"]
        _put_list(saver, "t", ["a", "b", "c"], parent=first, version=saver.get_next_version(2, None))
        rows = _rows(saver, "items", thread="t")
        assert [r.base_version for r in rows] == [None]
        assert other.get_tuple(config("t")).checkpoint["channel_values"] == {"items": ["a", "b", "c"]}


def test_reading_a_state_lets_the_next_write_be_a_delta(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as writer:
        first = _put_list(writer, "t", [AIMessage(content="a", id="1")])
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        loaded = saver.get_tuple(first).checkpoint["channel_values"]["items"]
        _put_list(saver, "t", [*loaded, AIMessage(content="b", id="2")], parent=first, version=saver.get_next_version(1, None))
        rows = _rows(saver, "items", thread="t")
    assert rows[-1].base_version == rows[0].version


def test_a_broken_delta_chain_is_reported(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        first = _put_list(saver, "t", [1, 2])
        second = _put_list(saver, "t", [1, 2, 3], parent=first, version=saver.get_next_version(1, None))
        base = _rows(saver, "items", thread="t")[0]
        with saver.engine.begin() as conn:
            conn.execute(sa.delete(blobs).where(blobs.c.thread_id == "t", blobs.c.version == base.version))
        with pytest.raises(StorageError, match="missing from the database"):
            saver.get_tuple(second)


def test_saving_the_same_checkpoint_again_is_harmless(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        first = _put_list(saver, "t", ["a"])
        version = saver.get_next_version(1, None)
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"items": ["a", "b"]}
        checkpoint["channel_versions"] = {"items": version}
        cfg = config("t", checkpoint_id=first["configurable"]["checkpoint_id"])
        for _ in range(2):  # e.g. a retried call
            saver.put(cfg, checkpoint, {"source": "loop", "step": 1}, {"items": version})
        assert [r.base_version for r in _rows(saver, "items", thread="t")] == [None, _rows(saver, "items", thread="t")[0].version]
        assert len(list(saver.list(config("t")))) == 2
    with SQLAlchemySaver.from_conn_string(db_url) as fresh:
        assert fresh.get_tuple(config("t")).checkpoint["channel_values"] == {"items": ["a", "b"]}
