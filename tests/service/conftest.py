"""Fixtures of the service tests: a throw-away PostgreSQL database per session, fake model servers, and
the service running in this process (uvicorn in a thread) or as `agentgraph service --workers N`."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agentgraph.db import upgrade
from agentgraph.service import GraphBuilder
from agentgraph.serving.client import HEALTH
from agentgraph.settings import Settings
from tests.conftest import throwaway_postgres_database
from tests.model_server import FakeModelServer, free_port

BENCH = Path(__file__).resolve().parents[2] / "bench" / "workers.py"

ADMIN_TOKEN = "agk_test-admin-" + "0123456789abcdef" * 2
"""The bootstrap admin key every test service is started with."""


def bearer(token: str) -> dict[str, str]:
    """The headers that send `token` as the API key."""
    return {"authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of its own on the PostgreSQL server, dropped after the session."""
    with throwaway_postgres_database("agentgraph_service") as url:
        upgrade(url)
        yield url


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

    def make(*urls: str, policy: dict[str, Any] | None = None, **service: Any) -> Settings:
        return Settings(
            database_url=postgres_url,
            server={"urls": list(urls), "max_retries": 0, "request_timeout_s": 30.0},
            service={"bootstrap_admin_key": ADMIN_TOKEN, "runs_per_minute": None, **service},  # limits: test_service_auth
            policy=policy or {},
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
