"""Fixtures of the graph tests: isolated settings on a temporary SQLite file, test agents, a saver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver

from agentgraph.agent import AgentSpec
from agentgraph.agents.math import MATH
from agentgraph.agents.retrieval import make_retrieval_agent
from agentgraph.agents.writing import WRITING
from agentgraph.runtime import open_checkpointer
from agentgraph.settings import GraphSettings, Settings
from graph_fakes import SpyTool


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default graph limits, a checkpoint database of the test's own."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'graph.db'}", graph=GraphSettings())


@pytest.fixture
def saver(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    with open_checkpointer(settings) as opened:
        yield opened


@pytest.fixture
def search() -> SpyTool:
    """The retrieval agent's search tool."""
    return SpyTool("search", "[geo.txt] Paris is the capital of France.")


@pytest.fixture
def agents(search: SpyTool) -> list[AgentSpec]:
    """Retrieval (spy search), math (sympy calculator) and writing."""
    return [make_retrieval_agent((search.tool,)), MATH, WRITING]
