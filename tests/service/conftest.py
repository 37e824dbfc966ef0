"""Fixtures of the service tests: a throw-away PostgreSQL database per session, fake model servers, and
the service running in this process (uvicorn in a thread) or as `agentgraph service --workers N`."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from agentgraph.db import upgrade
from agentgraph.service import GraphBuilder
from agentgraph.serving.client import HEALTH
from agentgraph.settings import Settings
from tests.model_server import FakeModelServer, free_port

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "workers.py"


def _admin(sql: str) -> None:
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of its own on the PostgreSQL server, dropped after the session."""
    name = f"agentgraph_service_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"{POSTGRES_SERVER}/{name}"
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def forget_failed_servers() -> Iterator[None]:
    HEALTH.reset()
    yield
    HEALTH.reset()


@pytest.fixture
def model_server() -> Iterator[FakeModelServer]:
    """The scripted model server (router -> math + writing)."""
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def make_settings(postgres_url: str) -> Callable[..., Settings]:
    """Service settings on the session's database and the given model server URLs."""

    def make(*urls: str, **service: Any) -> Settings:
        return Settings(
            database_url=postgres_url,
            server={"urls": list(urls), "max_retries": 0, "request_timeout_s": 30.0},
            service=service,
        )

    return make


@contextmanager
def running_service(settings: Settings, builder: GraphBuilder | None = None) -> Iterator[str]:
    """The service app (on `builder`'s graph, default: the settings') served by uvicorn in a thread of
    this process; its base URL."""
    import uvicorn

    from agentgraph.service import create_app

    port = free_port()
    app = create_app(settings, builder=builder)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="session")
def bench() -> ModuleType:
    """bench/workers.py, the load test, as a module."""
    spec = importlib.util.spec_from_file_location("agentgraph_bench_workers", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
