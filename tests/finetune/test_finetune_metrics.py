"""The evaluation's scoring on hand-made replies: what counts as right, and what does not."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agentgraph.finetune.evaluate import (
    eval_math,
    eval_retrieval,
    eval_router,
    eval_writing,
    numbers_in,
    prompt_of,
    row_messages,
    score_citation,
    score_math_answer,
    score_math_call,
    score_router,
    score_writing,
)
from agentgraph.retrieval import Passage
from tests.finetune.rows import MATH_ROW


def call(name: str, **args: object) -> dict:
    return {"name": name, "args": args, "id": f"c_{name}", "type": "tool_call"}


def reply(*calls: dict, text: str = "") -> AIMessage:
    return AIMessage(text, tool_calls=list(calls))


# -- router ----------------------------------------------------------------------------------------------


def test_router_needs_exactly_the_expected_agents() -> None:
    both = reply(call("transfer_to_math", task="17% of 2400"), call("transfer_to_writing", task="a note"))
    assert score_router(both, ["math", "writing"])
    assert score_router(both, ["writing", "math"])  # order is not scored
    assert not score_router(both, ["math"])
    assert not score_router(reply(call("transfer_to_math", task="x")), ["math", "writing"])
    assert not score_router(reply(call("transfer_to_retrieval", task="x")), ["math"])
    assert not score_router(reply(call("transfer_to_math", task="")), ["math"])  # an empty task is no handoff
    assert not score_router(reply(call("transfer_to_cooking", task="x")), ["math"])
    assert not score_router(reply(text="math"), ["math"])


# -- math --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("got", "exact"),
    [
        (call("calculator", expression="12*(3+4)"), True),
        (call("calculator", expression="(3 + 4) * 12"), True),  # same value, other spelling
        (call("calculator", expression="12*3+4"), False),
        (call("calculator", expression="12 x (3+4)"), False),  # refused by the tool
        (call("solve", equations="x=84"), False),  # wrong tool
        (call("calculator"), False),
    ],
)
def test_math_call_is_exact_when_the_tool_gives_the_same_value(got: dict, exact: bool) -> None:
    assert score_math_call(reply(got), {"name": "calculator", "args": {"expression": "12*(3+4)"}}) is exact


def test_math_solve_compares_solution_sets() -> None:
    expected = {"name": "solve", "args": {"equations": "x**2-5*x+6=0"}}
    assert score_math_call(reply(call("solve", equations="x**2 - 5*x + 6 = 0")), expected)
    assert score_math_call(reply(call("solve", equations="(x-2)*(x-3)=0")), expected)
    assert not score_math_call(reply(call("solve", equations="x-2=0")), expected)
    assert not score_math_call(reply(), expected)


@pytest.mark.parametrize(
    ("text", "truth", "ok"),
    [
        ("The answer is 5535.", "5535", True),
        ("The answer is 5,535.", "5535", True),
        ("The answer is 5536.", "5535", False),
        ("The answer is 1.514930808.", "2080/1373 ≈ 1.514930808", True),
        ("The answer is 2080/1373.", "2080/1373 ≈ 1.514930808", True),
        ("The answer is 1.5.", "2080/1373 ≈ 1.514930808", False),
        ("The answer is -12.5.", "-12.5", True),
        ("The answer is x: 4.", "x: 4", True),
        ("The answer is x: 3, y: 7.", "x: 3, y: 7", True),
        ("The answer is x: 3.", "x: 3, y: 7", False),
        ("I don't know.", "5535", False),
    ],
)
def test_math_answer_is_the_true_number(text: str, truth: str, ok: bool) -> None:
    assert score_math_answer(text, truth) is ok


def test_numbers_in_text() -> None:
    assert numbers_in("from 1,234.5 to -7 and 3/4") == [Fraction("1234.5"), Fraction(-7), Fraction(3, 4)]


def test_rows_become_conversations_with_paired_calls() -> None:
    messages = row_messages(MATH_ROW)
    kinds = [type(m).__name__ for m in messages]
    assert kinds == ["SystemMessage", "HumanMessage", "AIMessage", "ToolMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert messages[3].tool_call_id == messages[2].tool_calls[0]["id"] != messages[4].tool_calls[0]["id"]
    assert [type(m).__name__ for m in prompt_of(messages)] == ["SystemMessage", "HumanMessage"]


def test_math_case_feeds_the_real_tool_result_back() -> None:
    seen: list[list] = []

    def model(messages: list, tools: list) -> AIMessage:
        seen.append(messages)
        if isinstance(messages[-1], HumanMessage):
            return reply(call("calculator", expression="45*123"))
        return AIMessage(f"The answer is {messages[-1].content}.")

    result = eval_math(MATH_ROW, model)
    assert result.scores == {"tool_call_exact": True, "answer_correct": True}
    assert isinstance(seen[1][-1], ToolMessage) and seen[1][-1].content == "5535"

    wrong = eval_math(
        MATH_ROW,
        lambda m, t: reply(call("calculator", expression="123+45")) if len(m) == 2 else AIMessage(f"The answer is {m[-1].content}."),
    )
    assert wrong.scores == {"tool_call_exact": False, "answer_correct": False}
    no_tool = eval_math(MATH_ROW, lambda m, t: AIMessage("The answer is 5535."))
    assert no_tool.scores == {"tool_call_exact": False, "answer_correct": True}


# -- retrieval ---------------------------------------------------------------------------------------------


def test_citation_must_be_the_right_source_alone() -> None:
    assert score_citation("SS Fobur is commanded by Tom. [source: ss-fobur.md]", "ss-fobur.md")
    assert not score_citation("SS Fobur is commanded by Tom. [source: ss-miae.md]", "ss-fobur.md")
    assert not score_citation("Tom. [source: ss-fobur.md] [source: ss-miae.md]", "ss-fobur.md")
    assert not score_citation("SS Fobur is commanded by Tom.", "ss-fobur.md")


RETRIEVAL_ROW = {
    "tools": json.dumps(
        [{"type": "function", "function": {"name": "search", "parameters": {"properties": {"query": {"type": "string"}}}}}]
    ),
    "messages": [
        {"role": "system", "content": "You are the retrieval agent."},
        {"role": "user", "content": "Who commands SS Fobur?"},
        {"role": "tool_call", "content": json.dumps({"name": "search", "arguments": {"query": "SS Fobur captain"}})},
        {"role": "tool_response", "content": "[ss-fobur.md] SS Fobur is commanded by Captain Tom Pemei."},
        {"role": "assistant", "content": "SS Fobur is commanded by Captain Tom Pemei. [source: ss-fobur.md]"},
    ],
}


def test_retrieval_case_searches_the_corpus_with_the_models_query() -> None:
    queries: list[str] = []

    def search(query: str) -> list[Passage]:
        queries.append(query)
        return [Passage("ss-fobur.md", "SS Fobur is commanded by Captain Tom Pemei.")] if "Fobur" in query else [Passage("other.md", "x")]

    def model(messages: list, tools: list) -> AIMessage:
        if isinstance(messages[-1], HumanMessage):
            return reply(call("search", query="Fobur captain"))
        source = messages[-1].content.split("]")[0].lstrip("[")
        return AIMessage(f"Captain Tom Pemei. [source: {source}]")

    assert eval_retrieval(RETRIEVAL_ROW, model, search).scores == {"search_hit": True, "citation_correct": True}
    assert queries == ["Fobur captain"]
    missed = eval_retrieval(RETRIEVAL_ROW, lambda m, t: reply(call("search", query="ships")) if len(m) == 2 else model(m, t), search)
    assert missed.scores == {"search_hit": False, "citation_correct": False}
    assert eval_retrieval(RETRIEVAL_ROW, lambda m, t: AIMessage("Tom."), search).scores == {"search_hit": False, "citation_correct": False}


# -- writing and router cases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "task", "ok"),
    [
        ("Hello Ines,\n\nUma joins on October 28. Amara mentors.\n\nBest regards,\nSam", "Email Ines in 2 sentences.", True),
        ("Hello Ines,\n\nUma joins on October 28.\n\nBest regards,\nSam", "Email Ines in 2 sentences.", False),
        ("Uma joins on October 28. Amara mentors.", "Email Ines in 2 sentences.", False),
        ("Note: Uma joins on October 28.", "Write a note in at most 10 words.", True),
        ("Note: Uma joins the sales team on October 28 and Amara will mentor her all week.", "Write a note in at most 10 words.", False),
        ("Summary: Uma starts soon.", "Summarise this.", True),
    ],
)
def test_writing_format(text: str, task: str, ok: bool) -> None:
    assert score_writing(text, task) is ok


def test_writing_case_reads_the_request_line_only() -> None:
    row = {
        "messages": [
            {"role": "system", "content": "You are the writing agent."},
            {"role": "user", "content": "Write a note in 1 sentence.\nFacts:\n- Email Sam. Two sentences here."},
            {"role": "assistant", "content": "Note: done."},
        ]
    }
    assert eval_writing(row, lambda m, t: AIMessage("Note: Sam gets the email today.")).scores == {"format_ok": True}
    assert eval_writing(row, lambda m, t: AIMessage("Hi Sam,\nDone.\nBest,\nMe")).scores == {"format_ok": False}


def test_router_case_expects_every_handoff_of_the_reference() -> None:
    row = {
        "messages": [
            {"role": "system", "content": "You are the router."},
            {"role": "user", "content": "What is 3% of 200? Then email Sam."},
            {"role": "tool_call", "content": json.dumps({"name": "transfer_to_math", "arguments": {"task": "3% of 200"}})},
            {"role": "tool_call", "content": json.dumps({"name": "transfer_to_writing", "arguments": {"task": "Email Sam"}})},
        ]
    }
    assert len(row_messages(row)) == 3  # the two calls are one model turn
    good = reply(call("transfer_to_writing", task="Email Sam the result"), call("transfer_to_math", task="3% of 200"))
    assert eval_router(row, lambda m, t: good).scores == {"agent_accuracy": True}
    assert eval_router(row, lambda m, t: reply(call("transfer_to_math", task="3% of 200"))).scores == {"agent_accuracy": False}


def test_prompt_is_what_the_agent_sees() -> None:
    assert prompt_of([SystemMessage("s"), HumanMessage("q"), AIMessage("a")]) == [SystemMessage("s"), HumanMessage("q")]


def test_a_failed_request_scores_zero_and_the_rest_still_count(tmp_path) -> None:  # noqa: ANN001
    from agentgraph.finetune.evaluate import evaluate_agent
    from agentgraph.settings import Settings

    data = tmp_path / "math"
    data.mkdir()
    rows = [MATH_ROW, {**MATH_ROW, "messages": [*MATH_ROW["messages"][:1], {"role": "user", "content": "boom"}, *MATH_ROW["messages"][2:]]}]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def factory(name: str):  # noqa: ANN202
        def invoke(messages: list, tools: list) -> AIMessage:
            if messages[1].content == "boom":
                raise TimeoutError("no reply")
            if isinstance(messages[-1], HumanMessage):
                return reply(call("calculator", expression="123*45"))
            return AIMessage(f"The answer is {messages[-1].content}.")

        return invoke

    settings = Settings(finetune={"data_dir": tmp_path})
    summary, details = evaluate_agent("math", settings, models=("adapter",), invoke_factory=factory)
    assert summary == {"adapter": {"tool_call_exact": 0.5, "answer_correct": 0.5}}
    assert "TimeoutError" in details["adapter"][1].detail["error"]
