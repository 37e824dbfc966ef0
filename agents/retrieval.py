"""The retrieval agent: searches the ingested documents and answers with cited sources."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from agentgraph.agent import AgentSpec
from agentgraph.retrieval.passage import Passage

if TYPE_CHECKING:
    from agentgraph.retrieval.search import HybridSearcher

CITATION = re.compile(r"\[source: ([^\]]+)\]")
SEARCH_TOOL_NAME = "search"
SEARCH_TOOL_DESCRIPTION = "Search the ingested documents; returns passages with their source ids."


def format_passages(passages: Iterable[Passage]) -> str:
    """The search tool's result text: one passage a line, prefixed by its source id."""
    lines = [f"[{p.source}] {' '.join(p.text.split())}" for p in passages]
    return "\n".join(lines) if lines else "no passages found"


def cite(sentence: str, source: str) -> str:
    """An answer sentence with its citation, in the trained format."""
    return f"{sentence} [source: {source}]"


def citations(answer: str) -> list[str]:
    """The sources an answer cites, in order, without repeats."""
    return list(dict.fromkeys(CITATION.findall(answer)))


class SearchInput(BaseModel):
    """Arguments of the `search` tool."""

    query: str


def make_search_tool(searcher: HybridSearcher, k: int | None = None) -> BaseTool:
    """The `search` tool over `searcher`: the top `k` passages (default `retrieval.top_k`), formatted."""

    def search(query: str) -> str:
        return format_passages(searcher.search(query, k))

    async def asearch(query: str) -> str:
        return format_passages(await searcher.asearch(query, k))

    return StructuredTool.from_function(
        func=search,
        coroutine=asearch,
        name=SEARCH_TOOL_NAME,
        description=SEARCH_TOOL_DESCRIPTION,
        args_schema=SearchInput,
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
