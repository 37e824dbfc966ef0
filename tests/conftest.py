"""Fixtures shared by every test folder: the prepared base model and one real vLLM server per session.

The server serves the base model and every adapter of the committed registry; it is started on a free
port the first time a test asks for it and stopped at the end of the session.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from agentgraph.serving.prepare import PreparedModel, prepare_model
from agentgraph.serving.profile import get_profile
from agentgraph.serving.server import ServerInfo, stop_server
from agentgraph.settings import Settings

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
"""The PostgreSQL server every development machine and CI run provide (trust auth, no pgvector)."""


def _postgres_admin(sql: str) -> None:
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def throwaway_postgres_database(prefix: str = "agentgraph_test") -> Iterator[str]:
    """The URL of a new, empty database on the PostgreSQL server, dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def prepared_model() -> PreparedModel:
    """The profile's base model, built once and cached across runs in the settings' cache folder."""
    settings = Settings()
    return prepare_model(settings, get_profile(settings.model.profile))


@pytest.fixture(scope="session")
def server_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the session's own vLLM server: a free port, state kept in a temporary folder,
    adapters loadable at run time (the fine-tuning notebook serves the adapter it trains)."""
    state_dir: Path = tmp_path_factory.mktemp("vllm-server")
    return Settings(server={"port": free_port(), "state_dir": state_dir, "runtime_adapters": True})


@pytest.fixture(scope="session")
def _session_server_stopped_at_exit(server_settings: Settings) -> Iterator[None]:
    """Stops the session's server, if one was started, when the session ends."""
    try:
        yield
    finally:
        stop_server(server_settings)


@pytest.fixture
def vllm_server(server_settings: Settings, prepared_model: PreparedModel, _session_server_stopped_at_exit: None) -> ServerInfo:
    """A real vLLM server with the base model and every registered adapter: the session's one, started
    the first time a test asks for it, reused while it runs, started again after `no_session_server`."""
    from agentgraph.serving.runtime import ensure_server

    return ensure_server(server_settings, show_progress=False)


@pytest.fixture
def no_session_server(server_settings: Settings) -> None:
    """Stops the session's server for a test that starts a vLLM server of its own: two servers (about 7 GB
    each on a CPU) beside a training run exhaust a 24 GiB machine. The next test asking for it restarts it."""
    stop_server(server_settings)
