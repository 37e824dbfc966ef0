"""Fixtures of the server-fault tests: a throw-away SQLite store and settings pointing at fake model servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentgraph.serving.client import HEALTH
from agentgraph.settings import Settings


@pytest.fixture(autouse=True)
def forget_failed_servers() -> Iterator[None]:
    """Each test starts with no server remembered as failing."""
    HEALTH.reset()
    yield
    HEALTH.reset()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on the given server URLs (no retries, a 10 s timeout unless overridden)."""

    def make(*urls: str, graph: dict[str, Any] | None = None, **server: Any) -> Settings:
        options = {"urls": list(urls), "max_retries": 0, "request_timeout_s": 10.0, **server}
        return Settings(database_url=f"sqlite:///{tmp_path / 'faults.db'}", server=options, graph=graph or {})

    return make
