"""LangGraph's DeltaChannel state survives pruning: ancestors back to its snapshot are kept."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, StateGraph

from agentgraph.checkpoint import SQLAlchemySaver

from .graphs import config


def _append(state: list[str], batches: list[list[str]]) -> list[str]:
    out = list(state)
    for batch in batches:
        out.extend(batch)
    return out


class LogState(TypedDict):
    log: Annotated[list[str], DeltaChannel(_append, snapshot_frequency=4)]


def _step(state: LogState) -> dict[str, Any]:
    return {"log": [f"entry {len(state['log'])}"]}


def _graph(saver: SQLAlchemySaver) -> Any:
    builder = StateGraph(LogState)
    builder.add_node("step", _step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder.compile(checkpointer=saver)


def test_prune_keeps_what_a_delta_channel_is_rebuilt_from(db_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        graph = _graph(saver)
        for i in range(5):
            graph.invoke({"log": [f"input {i}"]}, config("delta"))
        before = graph.get_state(config("delta")).values["log"]
        total = len(list(saver.list(config("delta"))))

        saver.prune(["delta"], strategy="keep_latest")
        kept = len(list(saver.list(config("delta"))))

    with SQLAlchemySaver.from_conn_string(db_url) as fresh:
        after = _graph(fresh).get_state(config("delta")).values["log"]
    assert len(before) == 10
    assert after == before
    assert 1 < kept < total
