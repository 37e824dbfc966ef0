"""`AsyncSQLAlchemyStore`: the asyncio long-term memory store (same logic as the sync one)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from langgraph.store.base import BaseStore, Item, Op, Result, TTLConfig
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from agentgraph.db.engine import (
    WRITE_OPTION,
    aretry_busy,
    describe_error,
    make_async_engine,
    unreachable,
)
from agentgraph.db.migrate import head_revisions, upgrade_connection
from agentgraph.errors import StorageError
from agentgraph.settings import get_settings
from agentgraph.store.base import BaseSQLAlchemyStore, StoreIndexConfig

__all__ = ["AsyncSQLAlchemyStore"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


class AsyncSQLAlchemyStore(BaseSQLAlchemyStore, BaseStore):
    """Async LangGraph `BaseStore` on SQLite (aiosqlite) or PostgreSQL (psycopg), like `SQLAlchemyStore`.

    The sync methods (`get`, `put`, ...) work from other threads while the event loop runs.
    """

    def __init__(self, engine: AsyncEngine, *, index: StoreIndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._init_base(engine.url, engine.dialect.name, index, ttl)
        self._sweeper: asyncio.Task[None] | None = None
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        url: str | URL | None = None,
        *,
        index: StoreIndexConfig | None = None,
        ttl: TTLConfig | None = None,
        setup: bool = False,
    ) -> AsyncIterator[AsyncSQLAlchemyStore]:
        """A store on `url` (default: the `database_url` setting), migrated first when `setup`;
        the engine is disposed on exit."""
        engine = make_async_engine(url or get_settings().database_url)
        store = cls(engine, index=index, ttl=ttl)
        await asyncio.to_thread(head_revisions)  # read the migrations folder now, not on the event loop at first use
        try:
            if setup:
                await store.setup()
            yield store
        finally:
            await store.stop_ttl_sweeper()
            await engine.dispose()

    async def _arun(self, fn: Callable[..., T], *args: Any, write: bool = False, action: str = "read the memory store") -> T:
        """Run `fn(sync_connection, *args)` in one transaction (retried while SQLite is busy)."""
        engine = self._write_engine if write else self.engine
        self.loop = asyncio.get_running_loop()

        async def attempt() -> T:
            try:
                conn = await engine.connect()
            except DBAPIError as exc:
                raise unreachable(exc, engine.url) from exc
            try:
                async with conn.begin():
                    return await conn.run_sync(fn, *args)
            finally:
                await conn.close()

        try:
            return await aretry_busy(attempt)
        except SQLAlchemyError as exc:
            raise describe_error(exc, engine.url, action) from exc

    async def setup(self) -> None:
        """Create or migrate the tables (all of agentgraph's schema, through Alembic)."""
        await self._arun(upgrade_connection, write=True, action="set up the memory store")
        self._reset()

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Execute get, search, list-namespaces and put operations in one transaction."""
        plan = self._plan(ops)
        vectors = await self._aembed(plan)
        results, refresh = await self._arun(self._execute, plan, vectors, write=bool(plan.puts), action="use the memory store")
        if refresh:
            await self._arun(self._refresh, refresh, write=True, action="refresh TTLs")
        return results

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """`abatch` on the store's event loop, from another thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is self.loop:
            raise StorageError(
                "synchronous calls on AsyncSQLAlchemyStore from its event loop would block it; "
                "use the async methods (aget, aput, asearch, ...)"
            )
        if self.loop is None or not self.loop.is_running():
            raise StorageError("AsyncSQLAlchemyStore's event loop is not running; use the async methods in it")
        return asyncio.run_coroutine_threadsafe(self.abatch(list(ops)), self.loop).result()

    async def alist_items(self, namespace_prefix: Sequence[str], *, filter: Mapping[str, Any] | None = None) -> list[Item]:
        """Every item under a namespace prefix in one query, newest first (no scores, no TTL refresh)."""
        return await self._arun(self._list_items, tuple(namespace_prefix), filter)

    async def acount_items(self, namespace_prefix: Sequence[str]) -> tuple[int, datetime | None]:
        """How many items lie under a namespace prefix, and their latest `updated_at`."""
        return await self._arun(self._count_items, tuple(namespace_prefix))

    async def avector_search_kind(self) -> str | None:
        """'pgvector', 'exact', or None without an index."""
        return await self._arun(self._vector_search_kind)

    async def asweep_ttl(self) -> int:
        """Delete expired items; returns how many."""
        return await self._arun(self._sweep, write=True, action="sweep expired items from the memory store")

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> asyncio.Task[None]:
        """Sweep expired items periodically in a task of the running loop until `stop_ttl_sweeper`."""
        if self._sweeper is not None and not self._sweeper.done():
            return self._sweeper
        interval = self._sweep_interval_s(sweep_interval_minutes)

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    swept = await self.asweep_ttl()
                    if swept:
                        logger.info("memory store: swept %d expired items", swept)
                except Exception:
                    logger.exception("memory store: TTL sweep failed")

        self._sweeper = asyncio.get_running_loop().create_task(loop(), name="store-ttl-sweeper")
        return self._sweeper

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper task; False if it did not stop within `timeout` seconds."""
        task, self._sweeper = self._sweeper, None
        if task is None or task.done():
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout)
        return task.done()
