"""The retrieval agent: searches the ingested documents and answers with cited sources."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agentgraph.agent import AgentSpec

CITATION = re.compile(r"\[source: ([^\]]+)\]")


@dataclass(frozen=True)
class Passage:
    """A chunk of an ingested document, as the search tool returns it."""

    source: str
    text: str
    score: float = 0.0


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


def make_retrieval_agent(tools: tuple = ()) -> AgentSpec:
    """The retrieval agent with the given search tool(s)."""
    return AgentSpec(
        name="retrieval",
        description="Finds facts in the ingested documents and cites their sources.",
        system_prompt="You are the retrieval agent. Search the documents, then answer with the fact and its source.",
        tools=tools,
    )


RETRIEVAL = make_retrieval_agent()
