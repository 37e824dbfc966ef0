"""The hand-written requests of `agentgraph eval --unseen`: none is a generated one, each is scorable, and
the evaluation scores them with the test split's metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agentgraph.agents.writing import parse_request
from agentgraph.finetune.datasets import build_dataset
from agentgraph.finetune.datasets.common import normalise_key
from agentgraph.finetune.datasets.unseen import CORPUS, RETRIEVAL_ITEMS, ROUTER_ITEMS, UNSEEN_ROWS, WRITING_ITEMS
from agentgraph.finetune.evaluate import ROUTER_AGENTS, evaluate_agent, prompt_of, row_messages, writing_task
from agentgraph.settings import Settings

TRAINED_ROWS = {"router": 600, "math": 1000, "writing": 480, "retrieval": 300}


def _user_turns(path: Path) -> set[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {normalise_key(m["content"]) for row in rows for m in row["messages"] if m["role"] == "user"}


@pytest.mark.parametrize("agent", sorted(UNSEEN_ROWS))
def test_no_unseen_request_is_one_the_generators_make(agent: str, tmp_path: Path) -> None:
    build_dataset(agent, tmp_path, seed=0, n_train=TRAINED_ROWS[agent])
    generated = set().union(*(_user_turns(tmp_path / f"{split}.jsonl") for split in ("train", "val", "test")))
    unseen = [normalise_key(m["content"]) for row in UNSEEN_ROWS[agent]() for m in row["messages"] if m["role"] == "user"]
    assert unseen and len(set(unseen)) == len(unseen)
    assert not generated.intersection(unseen)
    shapes = {_shape(text) for text in generated}
    assert not [text for text in unseen if _shape(text) in shapes], "an unseen request is a generator's phrasing"


def _shape(text: str) -> str:
    """A request with its numbers masked: requests of one phrasing differ only in their numbers."""
    return re.sub(r"[-$]?\d[\d,.]*%?", "#", text)


def test_writing_requests_ask_for_the_form_and_length_they_are_scored_on() -> None:
    asked = [parse_request(writing_task(prompt_of(row_messages(row)))) for row in UNSEEN_ROWS["writing"]()]
    assert asked[:6] == [
        ("note", None, None),
        ("email", None, None),
        ("summary", None, 2),
        ("note", 25, None),
        ("email", None, 3),
        ("summary", None, 1),
    ]
    assert {form for form, _, _ in asked} == {"note", "email", "summary"}
    assert sum(words is not None for _, words, _ in asked) >= 5 and sum(n is not None for *_, n in asked) >= 8
    assert len(asked) == len(WRITING_ITEMS)


def test_retrieval_answers_are_in_their_documents_and_router_names_real_agents() -> None:
    for _, answer, source in RETRIEVAL_ITEMS:
        assert answer.rstrip(".").lower() in (CORPUS / source).read_text(encoding="utf-8").lower()
    assert {agent for _, handoffs in ROUTER_ITEMS for agent, _ in handoffs} == set(ROUTER_AGENTS)


def test_math_rows_carry_the_real_tools_results() -> None:
    rows = UNSEEN_ROWS["math"]()
    results = {row["messages"][1]["content"]: row["messages"][-2]["content"] for row in rows}
    assert results["My rent is $1,450 a month. What do I pay over a year?"] == "17400"
    assert results["x squared is 49. What can x be?"] == "x: -7; x: 7"
    assert results["A $250 jacket is marked 30% off. What does it cost now?"] == "175"


def _scripted_math(right: bool):  # noqa: ANN202
    """A model that calls the calculator with the reference value's expression (or one off), then reads the result."""

    def factory(name: str):  # noqa: ANN202
        def invoke(messages: list, tools: list) -> AIMessage:
            if isinstance(messages[-1], ToolMessage):
                return AIMessage(f"The answer is {messages[-1].content}.")
            question = next(m.content for m in messages if isinstance(m, HumanMessage))
            row = next(r for r in UNSEEN_ROWS["math"]() if r["messages"][1]["content"] == question)
            call = json.loads(row["messages"][2]["content"])
            args = dict(call["arguments"])
            if not right:
                key = next(iter(args))
                args[key] = f"({args[key]})+1" if call["name"] == "calculator" else args[key].replace("=", "+1=", 1)
            return AIMessage("", tool_calls=[{"name": call["name"], "args": args, "id": "c1", "type": "tool_call"}])

        return invoke

    return factory


def test_eval_unseen_scores_math_on_the_hand_written_rows(tmp_path: Path) -> None:
    settings = Settings(finetune={"data_dir": tmp_path})  # no test split there: the unseen rows are used
    good, details = evaluate_agent("math", settings, models=("adapter",), invoke_factory=_scripted_math(True), unseen=True)
    assert good == {"adapter": {"tool_call_exact": 1.0, "answer_correct": 1.0}}
    assert len(details["adapter"]) == len(UNSEEN_ROWS["math"]())
    bad, _ = evaluate_agent("math", settings, models=("adapter",), invoke_factory=_scripted_math(False), unseen=True, limit=5)
    assert bad == {"adapter": {"tool_call_exact": 0.0, "answer_correct": 0.0}}


def test_eval_unseen_searches_the_hand_written_corpus(tmp_path: Path) -> None:
    """Retrieval searches `unseen_corpus/`: a model that searches with the question and cites the top
    passage finds most documents; one that cites a made-up file is never right."""

    def factory(cite_top: bool):  # noqa: ANN202
        def make(name: str):  # noqa: ANN202
            def invoke(messages: list, tools: list) -> AIMessage:
                if isinstance(messages[-1], ToolMessage):
                    source = messages[-1].content.split("]", 1)[0].lstrip("[") if cite_top else "made-up.md"
                    return AIMessage(f"Here it is. [source: {source}]")
                question = messages[-1].content
                return AIMessage("", tool_calls=[{"name": "search", "args": {"query": question}, "id": "s1", "type": "tool_call"}])

            return invoke

        return make

    settings = Settings(finetune={"data_dir": tmp_path})
    good, _ = evaluate_agent("retrieval", settings, models=("adapter",), invoke_factory=factory(True), unseen=True)
    assert good["adapter"]["search_hit"] >= 0.75 and good["adapter"]["citation_correct"] >= 0.5
    bad, _ = evaluate_agent("retrieval", settings, models=("adapter",), invoke_factory=factory(False), unseen=True)
    assert bad["adapter"]["citation_correct"] == 0.0 and bad["adapter"]["search_hit"] == good["adapter"]["search_hit"]
