"""The store's schema under Alembic: upgrade, current revision, and the check done when a store opens."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from agentgraph.db.engine import make_engine, normalize_url, redact, unreachable
from agentgraph.errors import StorageError

__all__ = [
    "acheck_schema",
    "alembic_config",
    "aupgrade",
    "check_connection",
    "check_schema",
    "current",
    "head_revisions",
    "MIGRATIONS_DIR",
    "revisions_of",
    "schema_problem",
    "upgrade",
    "upgrade_connection",
    "UPGRADE_HINT",
    "VERSION_TABLE",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
UPGRADE_HINT = "run `agentgraph db upgrade`"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if url is not None:
        # ConfigParser interpolation treats % specially.
        config.set_main_option("sqlalchemy.url", normalize_url(url).render_as_string(hide_password=False).replace("%", "%%"))
    return config


@functools.cache
def head_revisions() -> tuple[str, ...]:
    """The revisions the code expects the database to be at (read from the migrations folder once)."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database behind an open connection (commits)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (default: the latest)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            upgrade_connection(connection, revision)
    except DBAPIError as exc:
        if exc.connection_invalidated or _is_connect_error(exc):
            raise unreachable(exc, url) from exc
        raise StorageError(f"migrating {redact(url)} failed: {exc.orig}") from exc
    finally:
        engine.dispose()


async def aupgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind an async engine."""
    async with engine.begin() as connection:
        await connection.run_sync(upgrade_connection, revision)


def _is_connect_error(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "connection" in text and ("refused" in text or "failed" in text or "timeout" in text)


def revisions_of(connection: Connection) -> tuple[str, ...]:
    """The revisions recorded in the database (empty when it was never migrated)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return tuple(sorted(context.get_current_heads()))


def current(url: str | URL) -> tuple[str, ...]:
    """The revisions the database at `url` is at."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return revisions_of(connection)
    except DBAPIError as exc:
        raise unreachable(exc, url) from exc
    finally:
        engine.dispose()


def schema_problem(found: tuple[str, ...], url: Any) -> str | None:
    """Why a database at revisions `found` cannot be used, or None when it can."""
    expected = head_revisions()
    if found == expected:
        return None
    where = redact(url)
    if not found:
        return f"the database {where} has no agentgraph schema; {UPGRADE_HINT} (or call the saver's setup())"
    known = _known_revisions()
    unknown = [r for r in found if r not in known]
    if unknown:
        return (
            f"the database {where} is at schema revision {', '.join(unknown)}, unknown to this agentgraph "
            f"(expected {', '.join(expected)}); upgrade agentgraph, or {UPGRADE_HINT} with a matching version"
        )
    return f"the database {where} is at schema revision {', '.join(found)} but this agentgraph needs {', '.join(expected)}; {UPGRADE_HINT}"


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def check_connection(connection: Connection) -> None:
    """Raise StorageError unless the database behind `connection` is at the expected schema."""
    problem = schema_problem(revisions_of(connection), connection.engine.url)
    if problem:
        raise StorageError(problem)


def check_schema(engine: Engine) -> None:
    """Raise StorageError (telling to run `agentgraph db upgrade`) unless the schema is current."""
    try:
        with engine.connect() as connection:
            check_connection(connection)
    except DBAPIError as exc:
        raise unreachable(exc, engine.url) from exc


async def acheck_schema(engine: AsyncEngine) -> None:
    """Async `check_schema`."""
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(revisions_of)
    except DBAPIError as exc:
        raise unreachable(exc, engine.url) from exc
    problem = schema_problem(found, engine.url)
    if problem:
        raise StorageError(problem)
