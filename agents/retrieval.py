"""The retrieval agent: searches the ingested documents and answers with cited sources.

Its answers are grounded by the framework (`agentgraph.citations`): only what its searches returned is cited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from agentgraph.agent import AgentSpec
from agentgraph.citations import CITATION, citations, cite, declare_sources, format_passages
from agentgraph.retrieval.focus import focus
from agentgraph.retrieval.passage import Passage
from agentgraph.taskcontext import current_task

if TYPE_CHECKING:
    from agentgraph.retrieval.search import HybridSearcher

__all__ = ["CITATION", "RETRIEVAL", "Passage", "cite", "citations", "format_passages", "make_retrieval_agent", "make_search_tool"]

SEARCH_TOOL_NAME = "search"
SEARCH_TOOL_DESCRIPTION = "Search the ingested documents; returns passages with their source ids."


class SearchInput(BaseModel):
    """Arguments of the `search` tool."""

    query: str


def make_search_tool(searcher: HybridSearcher, k: int | None = None, focused: bool | None = None) -> BaseTool:
    """The `search` tool over `searcher`: the top `k` passages (default `retrieval.top_k`); `focused`
    (default `retrieval.focus_sentences`) shows each as its sentences that best answer the query and the
    agent's task, best first (`retrieval.focus`)."""
    if focused is None:
        from agentgraph.settings import get_settings

        focused = get_settings().retrieval.focus_sentences

    def shown(passages: Sequence[Passage], query: str) -> str:
        return format_passages(focus(passages, query, current_task()) if focused else passages)

    def search(query: str) -> str:
        return shown(searcher.search(query, k), query)

    async def asearch(query: str) -> str:
        return shown(await searcher.asearch(query, k), query)

    return declare_sources(
        StructuredTool.from_function(
            func=search,
            coroutine=asearch,
            name=SEARCH_TOOL_NAME,
            description=SEARCH_TOOL_DESCRIPTION,
            args_schema=SearchInput,
        )
    )


def make_retrieval_agent(tools: tuple = ()) -> AgentSpec:
    """The retrieval agent with the given search tool(s)."""
    return AgentSpec(
        name="retrieval",
        description="Finds facts in the ingested documents and cites their sources.",
        system_prompt="You are the retrieval agent. Search the documents, then answer with the fact and its source.",
        tools=tools,
    )


RETRIEVAL = make_retrieval_agent()
