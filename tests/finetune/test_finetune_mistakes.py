"""Preference pairs from the adapter's own mistakes, with a scripted model: which reply is blamed, and
what the pair holds."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage

from agentgraph.finetune.mistakes import fresh_rows, sample_mistakes
from agentgraph.settings import Settings
from tests.finetune.rows import MATH_ROW


def scripted(expression: str, answer: str):  # noqa: ANN201
    def invoke(messages: list, tools: list) -> AIMessage:
        if isinstance(messages[-1], HumanMessage):
            return AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": expression}, "id": "c1", "type": "tool_call"}])
        return AIMessage(answer)

    return invoke


def test_a_wrong_call_is_paired_with_the_corrected_reference_call() -> None:
    report = sample_mistakes("math", Settings(), [MATH_ROW], invoke=scripted("123+45", "The answer is 168."))
    assert (report.rows, report.mistakes, len(report.pairs)) == (1, 1, 1)
    pair = report.pairs[0]
    assert [m["role"] for m in pair["messages"]] == ["system", "user", "assistant"]  # the prompt the adapter saw
    assert pair["messages"][-1]["content"] == '[calculator(expression="123*45")]'  # not the refused first try
    assert pair["rejected_response"] == '[calculator(expression="123+45")]'
    assert json.loads(pair["tools"])[0]["function"]["name"] == "calculator"


def test_a_right_call_with_a_wrong_answer_blames_the_answer_in_the_adapters_own_context() -> None:
    report = sample_mistakes("math", Settings(), [MATH_ROW], invoke=scripted("45*123", "The answer is 5536."))
    pair = report.pairs[0]
    assert [m["role"] for m in pair["messages"]] == ["system", "user", "tool_call", "tool_response", "assistant"]
    assert json.loads(pair["messages"][2]["content"])["arguments"] == {"expression": "45*123"}  # its own call
    assert pair["messages"][3]["content"] == "5535"  # the real tool's result
    assert pair["messages"][-1]["content"] == "The answer is 5535." and pair["rejected_response"] == "The answer is 5536."


def test_right_replies_make_no_pair() -> None:
    report = sample_mistakes("math", Settings(), [MATH_ROW, MATH_ROW], invoke=scripted("123*45", "The answer is 5535."))
    assert (report.rows, report.mistakes, report.pairs) == (2, 0, [])


def test_fresh_rows_continue_the_train_split_past_the_trained_rows(tmp_path: Path) -> None:
    from agentgraph.finetune.datasets import build_dataset

    build_dataset("math", tmp_path / "trained", seed=3, n_train=12, n_val=4, n_test=4)
    trained = [json.loads(line) for line in (tmp_path / "trained" / "train.jsonl").read_text().splitlines()]
    fresh = fresh_rows("math", 3, 12, 5, tmp_path / "fresh", n_val=4, n_test=4)
    assert 0 < len(fresh) <= 5
    questions = {row["messages"][1]["content"] for row in trained}
    assert not any(row["messages"][1]["content"] in questions for row in fresh)
    again = [json.loads(line) for line in (tmp_path / "fresh" / "train.jsonl").read_text().splitlines()]
    assert again[:12] == trained  # the same draws: the first rows are the trained ones
