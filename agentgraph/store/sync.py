"""`SQLAlchemyStore`: the synchronous long-term memory store."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from langgraph.store.base import BaseStore, Item, Op, Result, TTLConfig
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from agentgraph.db.engine import (
    WRITE_OPTION,
    describe_error,
    make_engine,
    retry_busy,
    unreachable,
)
from agentgraph.db.migrate import upgrade_connection
from agentgraph.settings import get_settings
from agentgraph.store.base import BaseSQLAlchemyStore, StoreIndexConfig

__all__ = ["SQLAlchemyStore"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


class SQLAlchemyStore(BaseSQLAlchemyStore, BaseStore):
    """LangGraph `BaseStore` on SQLite or PostgreSQL, with TTLs and optional semantic search.

    >>> with SQLAlchemyStore.from_conn_string("sqlite:///memory.db", index={"fields": ["text"]}) as store:
    ...     store.setup()
    ...     store.put(("notes",), "n1", {"text": "cats purr when content"})
    ...     hits = store.search(("notes",), query="feline behaviour")
    """

    def __init__(self, engine: Engine, *, index: StoreIndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._init_base(engine.url, engine.dialect.name, index, ttl)
        self._sweeper: threading.Thread | None = None
        self._sweeper_stop = threading.Event()

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        url: str | URL | None = None,
        *,
        index: StoreIndexConfig | None = None,
        ttl: TTLConfig | None = None,
        setup: bool = False,
    ) -> Iterator[SQLAlchemyStore]:
        """A store on `url` (default: the `database_url` setting), migrated first when `setup`;
        the engine is disposed on exit."""
        engine = make_engine(url or get_settings().database_url)
        store = cls(engine, index=index, ttl=ttl)
        try:
            if setup:
                store.setup()
            yield store
        finally:
            store.stop_ttl_sweeper()
            engine.dispose()

    def _run(self, fn: Callable[..., T], *args: Any, write: bool = False, action: str = "read the memory store") -> T:
        """Run `fn(connection, *args)` in one transaction (retried while SQLite is busy)."""
        engine = self._write_engine if write else self.engine

        def attempt() -> T:
            try:
                conn = engine.connect()
            except DBAPIError as exc:
                raise unreachable(exc, engine.url) from exc
            with conn, conn.begin():
                return fn(conn, *args)

        try:
            return retry_busy(attempt)
        except SQLAlchemyError as exc:
            raise describe_error(exc, engine.url, action) from exc

    def setup(self) -> None:
        """Create or migrate the tables (all of agentgraph's schema, through Alembic)."""
        self._run(upgrade_connection, write=True, action="set up the memory store")
        self._reset()

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Execute get, search, list-namespaces and put operations in one transaction."""
        plan = self._plan(ops)
        vectors = self._embed(plan)
        results, refresh = self._run(self._execute, plan, vectors, write=bool(plan.puts), action="use the memory store")
        if refresh:
            self._run(self._refresh, refresh, write=True, action="refresh TTLs")
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """`batch` in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(None, self.batch, list(ops))

    def list_items(self, namespace_prefix: Sequence[str], *, filter: Mapping[str, Any] | None = None) -> list[Item]:
        """Every item under a namespace prefix in one query, newest first (no scores, no TTL refresh)."""
        return self._run(self._list_items, tuple(namespace_prefix), filter)

    def count_items(self, namespace_prefix: Sequence[str]) -> tuple[int, datetime | None]:
        """How many items lie under a namespace prefix, and their latest `updated_at`."""
        return self._run(self._count_items, tuple(namespace_prefix))

    def vector_search_kind(self) -> str | None:
        """'pgvector', 'exact', or None without an index."""
        return self._run(self._vector_search_kind)

    def sweep_ttl(self) -> int:
        """Delete expired items; returns how many."""
        return self._run(self._sweep, write=True, action="sweep expired items from the memory store")

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> threading.Thread:
        """Sweep expired items periodically in a daemon thread until `stop_ttl_sweeper`."""
        if self._sweeper is not None and self._sweeper.is_alive():
            return self._sweeper
        interval = self._sweep_interval_s(sweep_interval_minutes)
        self._sweeper_stop.clear()

        def loop() -> None:
            while not self._sweeper_stop.wait(interval):
                try:
                    swept = self.sweep_ttl()
                    if swept:
                        logger.info("memory store: swept %d expired items", swept)
                except Exception:
                    logger.exception("memory store: TTL sweep failed")

        self._sweeper = threading.Thread(target=loop, name="store-ttl-sweeper", daemon=True)
        self._sweeper.start()
        return self._sweeper

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; False if it did not stop within `timeout` seconds."""
        if self._sweeper is None:
            return True
        self._sweeper_stop.set()
        self._sweeper.join(timeout)
        stopped = not self._sweeper.is_alive()
        if stopped:
            self._sweeper = None
        return stopped
