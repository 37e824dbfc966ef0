"""Fixtures of the checkpoint tests: a SQLite file and a throw-away PostgreSQL database per session.

The PostgreSQL database is created on the server every development machine and CI run provide
(127.0.0.1:5432, trust auth) and dropped at the end of the session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from agentgraph.checkpoint.schema import TABLES
from agentgraph.db import make_engine, upgrade

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _admin(sql: str) -> None:
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('checkpoint') / 'checkpoints.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"agentgraph_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"{POSTGRES_SERVER}/{name}"
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def blank_postgres_url() -> Iterator[str]:
    """The URL of an empty database (no schema) on the PostgreSQL server."""
    name = f"agentgraph_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def empty_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(sa.delete(table))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty, migrated database of each backend."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    empty_tables(url)
    return url
