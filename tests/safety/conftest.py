"""Fixtures of the safety tests: settings on a temporary SQLite file, a throw-away PostgreSQL database,
and the scripted models of the graph tests on the import path."""

from __future__ import annotations

import sys
import uuid
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

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default limits and policy, a database of the test's own."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'safety.db'}")


@pytest.fixture
def saver(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    with open_checkpointer(settings) as opened:
        yield opened


def _admin(sql: str) -> None:
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated, throw-away PostgreSQL database for the session."""
    name = f"agentgraph_safety_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"{POSTGRES_SERVER}/{name}"
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def blank_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of the test's own."""
    name = f"agentgraph_safety_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
