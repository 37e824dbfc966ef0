"""No lock around the saver: while one call waits on a row lock in PostgreSQL, others go on."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from langgraph.checkpoint.base import empty_checkpoint

from agentgraph.checkpoint import AsyncSQLAlchemySaver, SQLAlchemySaver

from .graphs import config

pytestmark = pytest.mark.postgres


@pytest.fixture
def row_lock(postgres_url: str) -> Iterator[tuple[dict, psycopg.Connection]]:
    """A checkpoint whose row another transaction is inserting (uncommitted)."""
    checkpoint = empty_checkpoint()
    conn = psycopg.connect(postgres_url)
    conn.execute(
        "INSERT INTO ag_checkpoints (thread_id, checkpoint_ns, checkpoint_id, created_at, type, checkpoint, "
        "blob_versions, metadata) VALUES ('blocked', '', %s, %s, 'null', '', '{}', '{}')",
        (checkpoint["id"], datetime.now(UTC)),
    )
    try:
        yield checkpoint, conn
    finally:
        conn.rollback()
        conn.close()


def _wait_for_lock_waiter(url: str) -> None:
    deadline = time.monotonic() + 20
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the saver never waited on the locked row")


def _other(saver_put, thread: str):  # type: ignore[no-untyped-def]
    return saver_put(config(thread), empty_checkpoint(), {"source": "loop", "step": 0}, {})


def test_sync_saver_serves_other_threads_while_one_waits(postgres_url: str, row_lock) -> None:  # type: ignore[no-untyped-def]
    checkpoint, blocker = row_lock
    with SQLAlchemySaver.from_conn_string(postgres_url) as saver:
        waiting = threading.Thread(target=saver.put, args=(config("blocked"), checkpoint, {"step": 0}, {}))
        waiting.start()
        _wait_for_lock_waiter(postgres_url)
        for i in range(3):
            stored = _other(saver.put, f"free-{i}")
            assert saver.get_tuple(stored) is not None
        assert waiting.is_alive()
        blocker.rollback()
        waiting.join(timeout=20)
        assert saver.get_tuple(config("blocked")) is not None


async def test_async_saver_serves_other_threads_while_one_waits(postgres_url: str, row_lock) -> None:  # type: ignore[no-untyped-def]
    checkpoint, blocker = row_lock
    async with AsyncSQLAlchemySaver.from_conn_string(postgres_url) as saver:
        waiting = asyncio.create_task(saver.aput(config("blocked"), checkpoint, {"step": 0}, {}))
        await asyncio.to_thread(_wait_for_lock_waiter, postgres_url)
        stored = await asyncio.gather(*(_other(saver.aput, f"afree-{i}") for i in range(8)))
        assert all([await saver.aget_tuple(s) for s in stored])
        assert not waiting.done()
        blocker.rollback()
        await asyncio.wait_for(waiting, timeout=20)
        assert await saver.aget_tuple(config("blocked")) is not None
