"""The `tools` builder: thousands of distinct invented schemas, calls whose arguments fit them and come
from the request, parallel turns, no call when no tool fits, deterministic bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgraph.finetune.datasets import build_dataset
from agentgraph.finetune.datasets.common import read_jsonl
from agentgraph.finetune.datasets.tools import item_keys
from agentgraph.finetune.swift_plugin import render_calls, system_text

PY_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    folder = tmp_path_factory.mktemp("tools")
    build_dataset("tools", folder, seed=0, n_train=1000, n_val=50, n_test=50)
    return read_jsonl(folder / "train.jsonl")


def _calls(row: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in row["messages"] if m["role"] == "tool_call"]


def test_rows_come_from_thousands_of_distinct_schemas(rows: list[dict]) -> None:
    schemas = {json.dumps(tool, sort_keys=True) for row in rows for tool in json.loads(row["tools"])}
    names = {json.loads(tool)["function"]["name"] for tool in schemas}
    assert len(schemas) > 2000 and len(names) > 300
    types = {p.get("type") for s in schemas for p in json.loads(s)["function"]["parameters"]["properties"].values()}
    assert {"string", "integer", "number", "boolean", "array", "object"} <= types
    assert any("enum" in p for s in schemas for p in json.loads(s)["function"]["parameters"]["properties"].values())


def test_every_call_fits_its_listed_schema_and_copies_the_request(rows: list[dict]) -> None:
    for row in rows:
        listed = {t["function"]["name"]: t["function"]["parameters"] for t in json.loads(row["tools"])}
        request = next(m["content"] for m in row["messages"] if m["role"] == "user")
        for call in _calls(row):
            params = listed[call["name"]]
            assert set(params["required"]) <= set(call["arguments"]) <= set(params["properties"])
            for name, value in call["arguments"].items():
                schema = params["properties"][name]
                assert isinstance(value, PY_TYPES[schema["type"]]), (call, name)
                if "enum" in schema:
                    assert value in schema["enum"]
                if isinstance(value, str):
                    assert value in request, (value, request)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    assert str(value) in request, (value, request)


def test_kinds_parallel_and_no_call(rows: list[dict]) -> None:
    counts = [len(_calls(row)) for row in rows]
    assert sum(c >= 2 for c in counts) > 150, "parallel turns"
    no_call = [row for row, c in zip(rows, counts, strict=True) if c == 0]
    assert len(no_call) > 80
    for row in no_call:
        assert row["messages"][-1]["role"] == "assistant" and len(row["messages"][-1]["content"]) < 60
    with_answer = [row for row in rows if row["messages"][-1]["role"] == "assistant" and _calls(row)]
    assert with_answer, "calls followed by the tool's result and an answer"
    for row in with_answer:
        result = row["messages"][-2]["content"]
        assert row["messages"][-2]["role"] == "tool_response" and result.lower() in row["messages"][-1]["content"].lower()


def test_rows_are_short(rows: list[dict]) -> None:
    """Gemma's 262k-token output layer dominates the CPU cost: the listing stays a few lines."""
    lengths = []
    for row in rows:
        tools = json.loads(row["tools"])
        text = system_text(tools, None) + "".join(m["content"] for m in row["messages"])
        lengths.append(len(text))
    assert sum(lengths) / len(lengths) < 700 and max(lengths) < 1600


def test_calls_render_as_one_pythonic_list(rows: list[dict]) -> None:
    from agentgraph.finetune.swift_plugin import parse_calls

    for row in rows[:200]:
        calls = [(c["name"], c["arguments"]) for c in _calls(row)]
        if calls:
            assert parse_calls(render_calls(calls)) == calls


def test_same_seed_same_bytes_and_disjoint_splits(tmp_path: Path) -> None:
    a = build_dataset("tools", tmp_path / "a", seed=3, n_train=60, n_val=20, n_test=20)
    b = build_dataset("tools", tmp_path / "b", seed=3, n_train=60, n_val=20, n_test=20)
    assert a.data_hash == b.data_hash
    keys = {split: set().union(*(item_keys(r) for r in read_jsonl(a.files[split]))) for split in ("train", "val", "test")}
    assert not keys["train"] & keys["test"] and not keys["val"] & keys["test"]
