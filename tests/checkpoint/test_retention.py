"""Retention: prune with export loses nothing, and `agentgraph db` drives it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from agentgraph.checkpoint import Retention, SQLAlchemySaver
from agentgraph.checkpoint.retention import prune_database
from agentgraph.checkpoint.schema import blobs, checkpoints
from agentgraph.cli import app
from agentgraph.settings import get_settings

from .graphs import chat_graph, config, say


def _snapshot(saver: SQLAlchemySaver, thread: str) -> dict[str, dict]:
    """Every checkpoint of a thread: id -> plain channel values (messages as their contents)."""
    out = {}
    for item in saver.list(config(thread)):
        values = dict(item.checkpoint["channel_values"])
        if "messages" in values:
            values["messages"] = [m.content for m in values["messages"]]
        out[item.checkpoint["id"]] = values
    return out


def _run_chats(saver: SQLAlchemySaver, threads: list[str], turns: int) -> None:
    graph = chat_graph(saver)
    for thread in threads:
        for i in range(turns):
            graph.invoke(say(f"{thread} q{i}"), config(thread))


def test_prune_with_export_loses_nothing(db_url: str, tmp_path: Path) -> None:
    with SQLAlchemySaver.from_conn_string(db_url, snapshot_every=4) as saver:
        _run_chats(saver, ["a", "b"], turns=6)
        before = {t: _snapshot(saver, t) for t in ("a", "b")}

    export = tmp_path / "pruned.jsonl"
    result = prune_database(db_url, Retention(keep_last=2), export=export)

    records = [json.loads(line) for line in export.read_text().splitlines()]
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        after = {t: _snapshot(saver, t) for t in ("a", "b")}
        latest = chat_graph(saver).get_state(config("a")).values
        with saver.engine.connect() as conn:
            stored_versions = conn.execute(sa.select(sa.func.count()).select_from(blobs)).scalar_one()

    assert result.checkpoints == len(records) == sum(len(v) for v in before.values()) - 4
    assert result.exported == len(records) and result.threads == 2 and result.blobs > 0
    for thread in ("a", "b"):
        kept = after[thread]
        assert len(kept) == 2 and set(kept) <= set(before[thread])
        assert all(before[thread][cid] == values for cid, values in kept.items())  # kept ones still load
        exported = {r["checkpoint_id"]: r for r in records if r["thread_id"] == thread}
        assert set(exported) | set(kept) == set(before[thread])  # everything removed is in the file
        for cid, record in exported.items():
            original = before[thread][cid]
            assert [m["content"] for m in record["channel_values"].get("messages", [])] == original.get("messages", [])
            assert record["channel_values"].get("turns") == original.get("turns")
            assert record["ts"] and record["metadata"]["step"] is not None
            assert all(m["type"] in ("human", "ai") for m in record["channel_values"].get("messages", []))
    assert [m.content for m in latest["messages"]][-1].startswith("answer 6")
    assert stored_versions > 0


def test_prune_older_than_keeps_recent_and_the_latest(sqlite_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(sqlite_url) as saver:
        _run_chats(saver, ["old", "new"], turns=3)
        with saver.engine.begin() as conn:
            conn.execute(
                sa.update(checkpoints).where(checkpoints.c.thread_id == "old").values(created_at=datetime.now(UTC) - timedelta(days=40))
            )
        newest_old = next(saver.list(config("old"))).checkpoint["id"]
        count_new = len(list(saver.list(config("new"))))
        saver.retain(Retention(older_than=datetime.now(UTC) - timedelta(days=30)))
        assert [t.checkpoint["id"] for t in saver.list(config("old"))] == [newest_old]
        assert len(list(saver.list(config("new")))) == count_new
        assert len(chat_graph(saver).get_state(config("old")).values["messages"]) == 6


def test_retention_rules_are_exclusive() -> None:
    with pytest.raises(ValueError):
        Retention(keep_last=1, drop_all=True)
    with pytest.raises(ValueError):
        Retention(keep_last=0)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_cli_upgrade_current_and_prune(cli_db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 1 and "needs `agentgraph db upgrade`" in result.output

    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0 and "up to date" in result.output

    with SQLAlchemySaver.from_conn_string(cli_db) as saver:
        _run_chats(saver, ["t1", "t2"], turns=2)
        total = sum(len(list(saver.list(config(t)))) for t in ("t1", "t2"))

    export = tmp_path / "out" / "t1.jsonl"
    result = runner.invoke(app, ["db", "prune", "--keep-last", "1", "--thread", "t1", "--export", str(export)])
    assert result.exit_code == 0, result.output
    lines = export.read_text().splitlines()
    assert f"exported {len(lines)} checkpoints" in result.output
    assert {json.loads(line)["thread_id"] for line in lines} == {"t1"}
    with SQLAlchemySaver.from_conn_string(cli_db) as saver:
        assert len(list(saver.list(config("t1")))) == 1
        assert len(list(saver.list(config("t1")))) + len(list(saver.list(config("t2")))) + len(lines) == total

    result = runner.invoke(app, ["db", "prune", "--keep-last", "1", "--older-than", "3"])
    assert result.exit_code != 0 and "exactly one" in result.output
