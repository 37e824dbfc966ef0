"""Engines for the agentgraph store: one URL gives a sync or an async SQLAlchemy engine.

SQLite files are opened in WAL mode with a busy timeout, and write transactions start with
`BEGIN IMMEDIATE`, so several processes can share one file safely. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, create_engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from agentgraph.errors import StorageError

__all__ = [
    "aretry_busy",
    "BUSY_RETRIES",
    "DEFAULT_BUSY_TIMEOUT_MS",
    "describe_error",
    "is_busy_error",
    "is_retryable",
    "is_sqlite",
    "make_async_engine",
    "make_engine",
    "normalize_url",
    "redact",
    "retry_busy",
    "unreachable",
    "WRITE_OPTION",
]

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 5000
"""How long one SQLite statement waits for a lock held by another connection."""

BUSY_RETRIES = 4
"""How many times a transaction that found SQLite locked is retried (with backoff) before failing."""

WRITE_OPTION = "agentgraph_write"
"""Execution option marking a connection whose transaction writes (SQLite: `BEGIN IMMEDIATE`)."""


def normalize_url(url: str | URL, *, asynchronous: bool = False) -> URL:
    """The SQLAlchemy URL with the driver agentgraph uses for it (sync or async)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the raw string
        raise StorageError(f"invalid database URL {redact(str(url))!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite+pysqlite")
    raise StorageError(f"unsupported database URL {redact(parsed)}: use sqlite:///PATH or postgresql://USER@HOST/DB")


def redact(url: str | URL) -> str:
    """The URL as text, with its password hidden (and without the driver name agentgraph chose)."""
    try:
        parsed = make_url(url)
        return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def is_sqlite(url_or_engine: str | URL | Engine | AsyncEngine) -> bool:
    """Whether the URL or engine points to SQLite."""
    if isinstance(url_or_engine, (Engine, AsyncEngine)):
        return url_or_engine.dialect.name == "sqlite"
    return make_url(url_or_engine).get_backend_name() == "sqlite"


def _sqlite_file(url: URL) -> str | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


def _engine_args(url: URL, busy_timeout_ms: int, pool_size: int | None) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        args: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        path = _sqlite_file(url)
        if path is None:
            args["poolclass"] = StaticPool
        else:
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            if pool_size is not None:
                args["pool_size"] = pool_size
        return args
    return {"pool_size": pool_size or 10, "max_overflow": 20, "pool_recycle": 3600}


def _install_sqlite_events(sync_engine: Engine, busy_timeout_ms: int, wal: bool) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is turned off: SQLAlchemy's `begin` event below
        # decides between a deferred and an immediate transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str | URL, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, pool_size: int | None = None) -> Engine:
    """A sync engine for `url` (`sqlite:///PATH` or `postgresql://...`)."""
    normalized = normalize_url(url)
    engine = create_engine(normalized, **_engine_args(normalized, busy_timeout_ms, pool_size))
    if engine.dialect.name == "sqlite":
        _install_sqlite_events(engine, busy_timeout_ms, wal=_sqlite_file(normalized) is not None)
    return engine


def make_async_engine(url: str | URL, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, pool_size: int | None = None) -> AsyncEngine:
    """An async engine for `url`: `sqlite+aiosqlite` or `postgresql+psycopg` (async)."""
    normalized = normalize_url(url, asynchronous=True)
    engine = create_async_engine(normalized, **_engine_args(normalized, busy_timeout_ms, pool_size))
    if engine.dialect.name == "sqlite":
        _install_sqlite_events(engine.sync_engine, busy_timeout_ms, wal=_sqlite_file(normalized) is not None)
    return engine


def is_busy_error(exc: BaseException) -> bool:
    """Whether `exc` is SQLite's "database is locked / busy"."""
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def is_retryable(exc: BaseException) -> bool:
    """Whether retrying the whole transaction may succeed: SQLite busy, or a PostgreSQL
    serialization failure or deadlock."""
    if is_busy_error(exc):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in ("40001", "40P01")


def _backoff(attempt: int) -> float:
    return min(2.0, 0.05 * 2**attempt) * (0.5 + random.random())


def describe_error(exc: BaseException, url: URL | str, action: str) -> StorageError:
    """A StorageError naming the URL (password hidden) and what went wrong."""
    where = redact(url)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StorageError(f"lost the connection to the database {where} while trying to {action}: {exc.orig}")
    if is_busy_error(exc):
        return StorageError(
            f"the SQLite database {where} stayed locked by another connection while trying to {action} "
            f"(gave up after {BUSY_RETRIES + 1} attempts); a long write transaction holds it"
        )
    orig = getattr(exc, "orig", None) or exc
    return StorageError(f"database error on {where} while trying to {action}: {orig}")


def unreachable(exc: BaseException, url: URL | str) -> StorageError:
    """A StorageError for a database that cannot be connected to."""
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return StorageError(f"cannot connect to the database {redact(url)}: {reason}")


def retry_busy(fn: Callable[[], T], *, retries: int = BUSY_RETRIES) -> T:
    """Run `fn`, retrying it with backoff while SQLite reports the database locked (or PostgreSQL a
    serialization conflict)."""
    for attempt in range(retries + 1):
        try:
            return fn()
        except DBAPIError as exc:
            if not is_retryable(exc) or attempt == retries:
                raise
            time.sleep(_backoff(attempt))
    raise AssertionError("unreachable")


async def aretry_busy(fn: Callable[[], Awaitable[T]], *, retries: int = BUSY_RETRIES) -> T:
    """Async `retry_busy`."""
    for attempt in range(retries + 1):
        try:
            return await fn()
        except DBAPIError as exc:
            if not is_retryable(exc) or attempt == retries:
                raise
            await asyncio.sleep(_backoff(attempt))
    raise AssertionError("unreachable")
