"""`traces export`: rows from runs stored by the real graph (scripted model) in a temporary SQLite store."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from langgraph.types import Command

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "graph"))
from agentgraph.agents.math import MATH  # noqa: E402
from agentgraph.agents.retrieval import make_retrieval_agent  # noqa: E402
from agentgraph.agents.writing import WRITING  # noqa: E402
from agentgraph.finetune.rows import read_rows  # noqa: E402
from agentgraph.finetune.traces import TraceError, export_rows  # noqa: E402
from agentgraph.graph import build_graph  # noqa: E402
from agentgraph.runtime import open_checkpointer  # noqa: E402
from agentgraph.settings import GraphSettings, Settings  # noqa: E402
from graph_fakes import Script, SpyTool, ai, call, handoff  # noqa: E402


def thread(name: str) -> dict:
    return {"configurable": {"thread_id": name}}


@pytest.fixture
def stored(tmp_path: Path):  # noqa: ANN201
    """Four threads: math, then retrieval with a search approved, edited and rejected by a person."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'runs.db'}", graph=GraphSettings())
    search = SpyTool("search", "[cats.md] Cats purr.")
    retrieval = replace(make_retrieval_agent((search.tool,)), needs_approval=frozenset({"search"}))
    script = Script(
        router=[ai("", handoff("math", "What is 2+2?"))] + [ai("", handoff("retrieval", "Do cats purr?"))] * 3,
        math=[ai("", call("calculator", expression="2+2")), ai("The answer is 4.")],
        retrieval=[ai("", call("search", query="cats")), ai("Cats purr. [source: cats.md]")] * 3,
    )
    with open_checkpointer(settings) as saver:
        graph = build_graph([retrieval, MATH, WRITING], saver, settings=settings, model_factory=script.factory)
        graph.invoke({"messages": [HumanMessage("What is 2+2?")]}, thread("t-math"))
        for name, decision in (
            ("t-ok", {"action": "approve"}),
            ("t-edit", {"action": "approve", "args": {"query": "cats purr"}}),
            ("t-no", {"action": "reject"}),
        ):
            first = graph.invoke({"messages": [HumanMessage("Do cats purr?")]}, thread(name))
            assert first["__interrupt__"]
            graph.invoke(Command(resume=decision), thread(name))
        yield saver


def tool_calls(row: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in row["messages"] if m["role"] == "tool_call"]


def test_math_turns_become_swift_rows(stored) -> None:  # noqa: ANN001
    [row] = export_rows(stored, "math", "swift")
    assert [m["role"] for m in row["messages"]] == ["system", "user", "tool_call", "tool_response", "assistant"]
    assert tool_calls(row) == [{"name": "calculator", "arguments": {"expression": "2+2"}}]
    assert row["messages"][3]["content"] == "4" and row["messages"][-1]["content"] == "The answer is 4."
    assert [t["function"]["name"] for t in json.loads(row["tools"])] == ["calculator", "solve"]


def test_router_turns_are_attributed_to_the_router(stored) -> None:  # noqa: ANN001
    rows = export_rows(stored, "router", "swift")
    names = sorted(tool_calls(r)[0]["name"] for r in rows)
    assert names == ["transfer_to_math"] + ["transfer_to_retrieval"] * 3  # one per thread, not per checkpoint
    assert all(r["messages"][0]["content"].startswith("You are the router") for r in rows)
    assert all(r["messages"][1] == {"role": "user", "content": r["messages"][1]["content"]} for r in rows)


def test_sft_rows_skip_rejections_and_keep_edits(stored) -> None:  # noqa: ANN001
    rows = export_rows(stored, "retrieval", "swift")
    queries = sorted(tool_calls(r)[0]["arguments"]["query"] for r in rows)
    assert queries == ["cats", "cats purr"]


def test_kto_labels_follow_the_decisions(stored) -> None:  # noqa: ANN001
    rows = export_rows(stored, "retrieval", "kto")
    labelled = sorted((r["messages"][-1]["content"], r["label"]) for r in rows)
    assert labelled == [
        ('[search(query="cats purr")]', True),  # the person's edit
        ('[search(query="cats")]', False),  # edited: the model's own call was wrong
        ('[search(query="cats")]', False),  # rejected
        ('[search(query="cats")]', True),  # approved as it was
    ]
    assert all(r["messages"][-2]["role"] == "user" for r in rows)


def test_dpo_pairs_come_from_edits(stored) -> None:  # noqa: ANN001
    [row] = export_rows(stored, "retrieval", "dpo")
    assert row["messages"][-1] == {"role": "assistant", "content": '[search(query="cats purr")]'}
    assert row["rejected_response"] == '[search(query="cats")]'
    assert export_rows(stored, "math", "dpo") == []


def test_unknown_format(stored) -> None:  # noqa: ANN001
    with pytest.raises(TraceError, match="unknown format"):
        export_rows(stored, "math", "csv")


@pytest.mark.parametrize(
    ("agent", "fmt", "need"),
    [("math", "swift", None), ("router", "swift", None), ("retrieval", "kto", "label"), ("retrieval", "dpo", "rejected_response")],
)
def test_exported_rows_are_rows_training_takes(stored, tmp_path: Path, agent: str, fmt: str, need: str | None) -> None:  # noqa: ANN001
    rows = export_rows(stored, agent, fmt)
    path = tmp_path / f"{agent}-{fmt}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert read_rows(path, need=need) == rows
