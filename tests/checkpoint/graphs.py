"""Small graphs and checkpoints the checkpoint tests use."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    turns: int
    notes: dict[str, Any]


def reply(state: ChatState) -> dict[str, Any]:
    turn = state.get("turns", 0) + 1
    return {"messages": [AIMessage(content=f"answer {turn}: " + "x" * 40)], "turns": turn}


def chat_graph(checkpointer: Any) -> Any:
    """One node that answers each human message; state grows by two messages per call."""
    builder = StateGraph(ChatState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)


def say(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=text)]}


def config(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", **extra}}
