"""The memory agent: remembers what the user asks it to, and recalls it in later conversations.

Its tools read the graph's store (`langgraph.config.get_store()`) and the thread's user
(`configurable.user_id`, default `graph.default_user`), so every thread of one user shares one memory.
`remember` is declared a memory write: the tool policy refuses a fact copied from tool results or from
facts given to the agent.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.tools import BaseTool, StructuredTool
from langgraph.config import get_config, get_store
from langgraph.store.base import BaseStore
from pydantic import BaseModel, Field

from agentgraph.agent import AgentSpec
from agentgraph.memory import Memory, UserMemoryError, arecall, aremember, recall, remember, user_of
from agentgraph.tool_policy import declare_tool

__all__ = [
    "MEMORY",
    "RECALL_TOOL_NAME",
    "REMEMBER_TOOL_NAME",
    "RecallInput",
    "RememberInput",
    "format_memories",
    "make_memory_tools",
]

REMEMBER_TOOL_NAME = "remember"
RECALL_TOOL_NAME = "recall"
REMEMBER_TOOL_DESCRIPTION = "Remember a fact the user stated, in the user's own words, for later conversations."
RECALL_TOOL_DESCRIPTION = "Recall the facts the user asked to be remembered that match the query."


class RememberInput(BaseModel):
    """Arguments of the `remember` tool."""

    fact: str = Field(description="The fact, in the user's own words.")


class RecallInput(BaseModel):
    """Arguments of the `recall` tool."""

    query: str = Field(description="What to recall.")


def format_memories(memories: Sequence[Memory]) -> str:
    """The `recall` tool's result text: one remembered fact a line."""
    return "\n".join(f"- {m.text}" for m in memories) if memories else "nothing remembered matches"


def _store_and_user() -> tuple[BaseStore, str]:
    """The running graph's store and the thread's user."""
    store = get_store()
    if store is None:
        raise UserMemoryError("the graph has no store for memories: compile it with a store (build_graph(store=...))")
    return store, user_of(get_config())


def _remembered(key: str) -> str:
    return f"remembered (memory {key})"


def make_memory_tools() -> tuple[BaseTool, BaseTool]:
    """The `remember` (a memory write) and `recall` tools over the running graph's store."""

    def remember_fact(fact: str) -> str:
        store, user = _store_and_user()
        return _remembered(remember(store, user, fact))

    async def aremember_fact(fact: str) -> str:
        store, user = _store_and_user()
        return _remembered(await aremember(store, user, fact))

    def recall_matching(query: str) -> str:
        store, user = _store_and_user()
        return format_memories(recall(store, user, query))

    async def arecall_matching(query: str) -> str:
        store, user = _store_and_user()
        return format_memories(await arecall(store, user, query))

    remember_tool = StructuredTool.from_function(
        func=remember_fact,
        coroutine=aremember_fact,
        name=REMEMBER_TOOL_NAME,
        description=REMEMBER_TOOL_DESCRIPTION,
        args_schema=RememberInput,
    )
    recall_tool = StructuredTool.from_function(
        func=recall_matching,
        coroutine=arecall_matching,
        name=RECALL_TOOL_NAME,
        description=RECALL_TOOL_DESCRIPTION,
        args_schema=RecallInput,
    )
    # remembering a known fact again changes nothing: a call cut off by a crash may run again
    return declare_tool(remember_tool, side_effect=True, idempotent=True, memory_write=True), recall_tool


MEMORY = AgentSpec(
    name="memory",
    description="Remembers facts the user tells it to remember and recalls them later, across conversations.",
    system_prompt=(
        "You are the memory agent. When the user asks you to remember something, call remember with the fact "
        "in the user's own words. When asked what you remember, call recall, then answer with what it returned."
    ),
    tools=make_memory_tools(),
)
