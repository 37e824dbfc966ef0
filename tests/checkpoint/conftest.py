"""Fixtures of the checkpoint tests: a SQLite file and a throw-away PostgreSQL database per session.

The PostgreSQL database is created on the server every development machine and CI run provide
(127.0.0.1:5432, trust auth) and dropped at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from agentgraph.checkpoint.schema import TABLES
from agentgraph.db import make_engine, upgrade
from tests.conftest import throwaway_postgres_database


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('checkpoint') / 'checkpoints.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with throwaway_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def blank_postgres_url() -> Iterator[str]:
    """The URL of an empty database (no schema) on the PostgreSQL server."""
    with throwaway_postgres_database() as url:
        yield url


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
