"""Faults: unreachable database, schema out of date or unknown, SQLite locked, several processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from langgraph.checkpoint.base import empty_checkpoint

from agentgraph.checkpoint import AsyncSQLAlchemySaver, SQLAlchemySaver
from agentgraph.db import check_schema, make_engine, upgrade
from agentgraph.errors import StorageError

from .graphs import config

UNREACHABLE = "postgresql://agent:s3cret-pw@127.0.0.1:1/agentgraph"


def _put(saver: SQLAlchemySaver, thread: str = "t") -> dict:
    checkpoint = empty_checkpoint()
    return saver.put(config(thread), checkpoint, {"source": "loop", "step": 0}, {})


def test_unreachable_database_names_the_url_without_password() -> None:
    with pytest.raises(StorageError) as err:
        with SQLAlchemySaver.from_conn_string(UNREACHABLE):
            pass
    message = str(err.value)
    assert "cannot connect" in message and "postgresql://agent:***@127.0.0.1:1/agentgraph" in message
    assert "s3cret-pw" not in message


async def test_unreachable_database_async() -> None:
    with pytest.raises(StorageError, match=r"cannot connect to the database postgresql://agent:\*\*\*@") as err:
        async with AsyncSQLAlchemySaver.from_conn_string(UNREACHABLE):
            pass
    assert "s3cret-pw" not in str(err.value)


def test_empty_database_asks_for_upgrade_until_setup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with SQLAlchemySaver.from_conn_string(url) as saver:
        with pytest.raises(StorageError, match="run `agentgraph db upgrade`"):
            saver.get_tuple(config("t"))
        saver.setup()
        assert saver.get_tuple(config("t")) is None


async def test_empty_postgres_database_async_setup(blank_postgres_url: str) -> None:
    async with AsyncSQLAlchemySaver.from_conn_string(blank_postgres_url) as saver:
        with pytest.raises(StorageError, match="has no agentgraph schema"):
            await saver.aget_tuple(config("t"))
        await saver.setup()
        assert await saver.aget_tuple(config("t")) is None


@pytest.mark.parametrize(
    ("revision", "expected"),
    [("9999", r"revision 9999, unknown to this agentgraph"), ("0001", r"at schema revision 0001 but .* needs")],
)
def test_schema_mismatch_is_refused_on_open(tmp_path: Path, revision: str, expected: str) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    with pytest.raises(StorageError, match=expected) as err:
        check_schema(engine)
    assert "agentgraph db upgrade" in str(err.value)
    with pytest.raises(StorageError, match=expected):
        with SQLAlchemySaver.from_conn_string(url):
            pass
    engine.dispose()


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_sqlite_locked_gives_a_clear_error_after_retries(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    upgrade(f"sqlite:///{path}")
    blocker = _hold_write_lock(path)
    try:
        with SQLAlchemySaver.from_conn_string(f"sqlite:///{path}", busy_timeout_ms=20) as saver:
            with pytest.raises(StorageError, match=r"stayed locked .* \(gave up after 5 attempts\)"):
                _put(saver)
            assert saver.get_tuple(config("t")) is None  # readers are not blocked (WAL)
    finally:
        blocker.rollback()
        blocker.close()


def test_sqlite_lock_released_during_retries_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    upgrade(f"sqlite:///{path}")
    blocker = _hold_write_lock(path)
    timer = threading.Timer(0.15, lambda: (blocker.rollback(), blocker.close()))
    timer.start()
    try:
        with SQLAlchemySaver.from_conn_string(f"sqlite:///{path}", busy_timeout_ms=20) as saver:
            stored = _put(saver)
            assert saver.get_tuple(stored) is not None
    finally:
        timer.join()


WRITER = textwrap.dedent(
    """
    import sys
    from langgraph.checkpoint.base import empty_checkpoint
    from agentgraph.checkpoint import SQLAlchemySaver

    url, name = sys.argv[1], sys.argv[2]
    with SQLAlchemySaver.from_conn_string(url) as saver:
        parent = None
        for i in range(15):
            checkpoint = empty_checkpoint()
            version = saver.get_next_version(i or None, None)
            checkpoint["channel_values"] = {"log": [f"{name}-{j}" for j in range(i + 1)]}
            checkpoint["channel_versions"] = {"log": version}
            cfg = {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
            if parent:
                cfg["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
            parent = saver.put(cfg, checkpoint, {"source": "loop", "step": i}, {"log": version})
            saver.put_writes(parent, [("log", [name])], task_id=f"task-{i}")
    """
)


def test_several_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade(url)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"p{n}"], stderr=subprocess.PIPE, text=True) for n in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    with SQLAlchemySaver.from_conn_string(url) as saver:
        for n in range(3):
            history = list(saver.list(config(f"p{n}")))
            assert len(history) == 15
            assert history[0].checkpoint["channel_values"]["log"] == [f"p{n}-{j}" for j in range(15)]
            assert history[0].pending_writes == [("task-14", "log", [f"p{n}"])]
