"""Fixtures of the end-to-end tests: `agentgraph` in its own processes, against the session's vLLM
server (with the committed adapters) and a SQLite file of the test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Cli

from agentgraph.serving.server import ServerInfo
from agentgraph.settings import Settings


@pytest.fixture
def cli(vllm_server: ServerInfo, tmp_path: Path) -> Iterator[Cli]:
    """`agentgraph` on the session's server and a database file of this test.

    The commands run in an empty folder but read the same configuration file as this process (the
    model profile and cache of the session's server)."""
    database_url = f"sqlite:///{tmp_path / 'e2e.db'}"
    urls = [vllm_server.url]
    env = dict(os.environ)
    env.setdefault("AGENTGRAPH_CONFIG", str(Path("agentgraph.toml").resolve()))
    env.update(AGENTGRAPH_SERVER__URLS=json.dumps(urls), AGENTGRAPH_DATABASE_URL=database_url)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    yield Cli(env=env, cwd=workdir, settings=Settings(database_url=database_url, server={"urls": urls}))
