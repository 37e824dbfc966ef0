"""Fixtures of the safety tests: settings on a temporary SQLite file, a throw-away PostgreSQL database,
and the scripted models of the graph tests on the import path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "graph"))  # graph_fakes: the scripted chat models of the graph tests

from agentgraph.db import upgrade  # noqa: E402
from agentgraph.runtime import open_checkpointer  # noqa: E402
from agentgraph.settings import Settings  # noqa: E402
from tests.conftest import throwaway_postgres_database  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default limits and policy, a database of the test's own."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'safety.db'}")


@pytest.fixture
def saver(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    with open_checkpointer(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated, throw-away PostgreSQL database for the session.

    Commits do not wait for the server's disk (`synchronous_commit = off`): the tests kill clients, never the
    server, and a killed client loses nothing the server acknowledged either way.
    """
    with throwaway_postgres_database("agentgraph_safety") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET synchronous_commit = off")
        upgrade(url)
        yield url


@pytest.fixture
def blank_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of the test's own."""
    with throwaway_postgres_database("agentgraph_safety") as url:
        yield url
