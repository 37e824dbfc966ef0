"""The default graph: the router hands work to retrieval (search over the configured collection),
math and writing.

`build(...)` is what the CLI runs; `make_graph()` is the factory `langgraph.json` gives LangGraph
Studio (no checkpointer of its own: the server brings its saver and store).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from agentgraph import build_graph
from agentgraph.agent import AgentSpec
from agentgraph.agents.math import MATH
from agentgraph.agents.retrieval import make_retrieval_agent, make_search_tool
from agentgraph.agents.writing import WRITING
from agentgraph.modelcall import ModelFactory
from agentgraph.settings import Settings, get_settings


class GraphStoreSearcher:
    """Hybrid search over `collection` in the store of the graph that is running the search."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self._searchers: dict[int, Any] = {}

    def _searcher(self) -> Any:
        from langchain_core.tools import ToolException
        from langgraph.config import get_store

        from agentgraph.retrieval import HybridSearcher

        store = get_store()
        if store is None:
            raise ToolException("search: this graph runs without a store, so there are no documents to search")
        key = id(store)
        if key not in self._searchers:
            self._searchers = {key: HybridSearcher(store, self.collection)}
        return self._searchers[key]

    def search(self, query: str, k: int | None = None) -> Sequence[Any]:
        """The best passages for `query`."""
        return self._searcher().search(query, k)

    async def asearch(self, query: str, k: int | None = None) -> Sequence[Any]:
        """The best passages for `query`, without blocking the event loop."""
        return await self._searcher().asearch(query, k)


def default_agents(settings: Settings) -> list[AgentSpec]:
    """Retrieval (with its search tool over `retrieval.collection`), math and writing."""
    search = make_search_tool(
        GraphStoreSearcher(settings.retrieval.collection), settings.retrieval.top_k, settings.retrieval.focus_sentences
    )  # type: ignore[arg-type]
    search.handle_tool_error = True
    return [make_retrieval_agent((search,)), MATH, WRITING]


def build(
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    settings: Settings | None = None,
    *,
    model_factory: ModelFactory | None = None,
) -> CompiledStateGraph:
    """The default graph on the given saver and store."""
    settings = settings or get_settings()
    return build_graph(default_agents(settings), checkpointer, store, settings, model_factory=model_factory)


def make_graph() -> CompiledStateGraph:
    """The default graph for LangGraph Studio / `langgraph dev`."""
    return build()
