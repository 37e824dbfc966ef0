"""Malformed model output gets one correction, then a clear failure in the answer; the thread stays whole."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agentgraph import build_graph
from agentgraph.agents.math import MATH
from agentgraph.repair import CORRECTIONS
from agentgraph.runtime import open_checkpointer
from agentgraph.settings import Settings
from agentgraph.threads import current_state, history, thread_config, thread_status
from graph_fakes import Script, ai, call, handoff, unanswered_tool_calls

CONFIG = thread_config("t1")
GOOD = [ai("", call("calculator", expression="2+2")), ai("The answer is 4.")]


def invalid_json() -> AIMessage:
    bad = {"name": "calculator", "args": '{"expression": "2+', "id": None, "error": "Unterminated string", "type": "invalid_tool_call"}
    return AIMessage(content="", invalid_tool_calls=[bad])


CASES = {
    "unparsed call text": (ai('[calculator(expression="2+2"'), "the model wrote a tool call that could not be read"),
    "unparseable arguments": (invalid_json(), "malformed call to 'calculator': Unterminated string"),
    "unknown tool": (ai("", call("calcualtor", expression="2+2")), "tool 'calcualtor' is not allowed for the math agent"),
    "wrong argument types": (
        ai("", call("calculator", expression=["2", "+", "2"])),
        "invalid arguments for calculator: expression: Input should be a valid string",
    ),
    "empty reply": (ai(""), "the model gave an empty answer"),
    "endless repetition": (ai("The answer is four. " * 200), "the model's reply repeated itself: 'the answer is four.'"),
}


def run(settings: Settings, math: list) -> tuple[dict, Script]:
    script = Script(router=[ai("", handoff("math", "What is 2+2?"))], math=math)
    with open_checkpointer(settings) as saver:
        out = build_graph([MATH], saver, settings=settings, model_factory=script.factory).invoke(
            {"messages": [HumanMessage("What is 2+2?")]}, CONFIG
        )
    return out, script


def assert_thread_whole_and_resumable(settings: Settings, before: dict) -> None:
    """A new graph on a new connection loads the thread as it was, and it takes the next question."""
    script = Script(router=[ai("", handoff("math", "3+3"))], math=[ai("", call("calculator", expression="3+3")), ai("The answer is 6.")])
    with open_checkpointer(settings) as saver:
        graph = build_graph([MATH], saver, settings=settings, model_factory=script.factory)
        state = current_state(graph, "t1")
        assert thread_status(state) == "done"
        assert state.values == before
        assert history(graph, "t1")[-1].written_by == ["finish"]
        after = graph.invoke({"messages": [HumanMessage("What is 3+3?")]}, CONFIG)
    assert after["answer"] == "The answer is 6."
    assert [m.text for m in after["messages"] if isinstance(m, HumanMessage)] == ["What is 2+2?", "What is 3+3?"]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_one_correction_repairs_a_malformed_reply(settings, case):
    bad, _ = CASES[case]
    out, script = run(settings, [bad, *GOOD])
    assert out["answer"] == "The answer is 4."
    assert script.models_called() == ["router", "math", "math", "math"]
    messages = out["transcripts"]["math-1"]["messages"]
    assert unanswered_tool_calls(messages) == []
    told = [m.text for m in messages[2:] if isinstance(m, (HumanMessage, ToolMessage))][0]
    assert told in CORRECTIONS.values() or told.startswith(("malformed call", "tool 'calcualtor'", "invalid arguments"))
    assert_thread_whole_and_resumable(settings, out)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_reply_that_stays_malformed_fails_clearly(settings, case):
    bad, problem = CASES[case]
    out, script = run(settings, [bad, bad, *GOOD])
    assert script.models_called() == ["router", "math", "math"]  # one re-ask, no more
    assert out["answer"].startswith("I could not answer this question.\n\nNote: math (math-1): ")
    assert problem in out["answer"] and ("correction" in out["answer"])
    assert out["plan"][0]["status"] == "failed"
    assert out["results"]["math-1"]["error"] is not None
    assert unanswered_tool_calls(out["transcripts"]["math-1"]["messages"]) == []
    assert "The answer is four. The answer is four. The answer" not in out["answer"]  # no babble passed on
    assert_thread_whole_and_resumable(settings, out)


def test_no_re_ask_when_repairs_are_off(settings):
    settings = settings.model_copy(update={"policy": settings.policy.model_copy(update={"max_repairs": 0})})
    out, script = run(settings, [ai(""), *GOOD])
    assert script.models_called() == ["router", "math"]
    assert out["errors"] == ["math (math-1): the model gave an empty answer"]


@pytest.mark.parametrize(
    ("reply", "described"),
    [(ai(""), "an empty reply"), (ai("route route route. " * 100), "'route route route.")],
    ids=["empty", "repetition"],
)
def test_a_router_that_gives_no_handoff_fails_clearly(settings, reply, described):
    script = Script(router=[reply, reply])
    with open_checkpointer(settings) as saver:
        out = build_graph([MATH], saver, settings=settings, model_factory=script.factory).invoke(
            {"messages": [HumanMessage("What is 2+2?")]}, CONFIG
        )
    assert out["answer"].startswith(
        "I could not answer this question.\n\nNote: the router gave no valid handoff after 2 attempt(s); last reply: "
    )
    assert described in out["answer"]
    assert_thread_whole_and_resumable(settings, out)
