"""The supervisor: routing by handoff calls, parallel agents, writing last, limits and router failures."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, InvalidToolCall, ToolMessage

from agentgraph import build_graph
from agentgraph.settings import GraphSettings
from agentgraph.threads import history, thread_config
from graph_fakes import Script, ai, call, handoff, unanswered_tool_calls

CONFIG = thread_config("t1")


def assert_no_dangling(values: dict) -> None:
    assert unanswered_tool_calls(values["messages"]) == []
    for transcript in values.get("transcripts", {}).values():
        assert unanswered_tool_calls(transcript["messages"]) == []


def test_routes_one_subtask_to_one_agent(agents, settings):
    script = Script(
        router=[ai("", handoff("math", "What is 12*(3+4)?"))],
        math=[ai("", call("calculator", expression="12*(3+4)")), ai("The answer is 84.")],
    )
    graph = build_graph(agents, settings=settings, model_factory=script.factory)
    out = graph.invoke({"messages": [HumanMessage("What is 12*(3+4)?")]})

    assert out["answer"] == "The answer is 84."
    assert script.models_called() == ["router", "math", "math"]
    assert [(s["agent"], s["status"]) for s in out["plan"]] == [("math", "done")]
    result = out["results"]["math-1"]
    assert result["tool_calls"][0]["name"] == "calculator" and result["tool_calls"][0]["status"] == "success"
    # the calculator really ran, and its result went back to the model
    assert [m.content for m in out["transcripts"]["math-1"]["messages"] if isinstance(m, ToolMessage)] == ["84"]
    # the router was offered exactly the handoff tools
    assert script.calls[0][2] == ["transfer_to_retrieval", "transfer_to_math", "transfer_to_writing"]
    # the agent saw only its own prompt and task, not the supervisor's history
    first_math_input = script.calls[1][1]
    assert [type(m).__name__ for m in first_math_input] == ["SystemMessage", "HumanMessage"]
    assert first_math_input[1].content == "What is 12*(3+4)?"
    assert out["messages"][-1].name == "finish" and out["messages"][-1].content == out["answer"]
    assert_no_dangling(out)


def test_independent_agents_run_in_parallel_then_writing_gets_their_facts(agents, settings, saver, search):
    script = Script(
        router=[
            ai(
                "",
                handoff("writing", "Write a one-sentence note."),
                handoff("retrieval", "What is the capital of France?"),
                handoff("math", "What is 15% of 80?"),
            )
        ],
        retrieval=[ai("", call("search", query="capital of France")), ai("Paris is the capital of France. [source: geo.txt]")],
        math=[ai("", call("calculator", expression="15%*80")), ai("The answer is 12.")],
        writing=[ai("Note: Paris is the capital and 15% of 80 is 12.")],
    )
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    out = graph.invoke({"messages": [HumanMessage("Capital of France, 15% of 80, as a note.")]}, CONFIG)

    # retrieval and math ran in one step (parallel Sends); writing ran after them
    writers = [c.written_by for c in history(graph, "t1") if c.source == "loop"]
    assert ["math", "retrieval"] in [sorted(w) for w in writers]
    assert writers.index(["writing"]) > [sorted(w) for w in writers].index(["math", "retrieval"])
    assert [s["agent"] for s in out["plan"]] == ["retrieval", "math", "writing"]
    assert search.runs == [{"query": "capital of France"}]

    writing_input = next(msgs for name, msgs, _ in script.calls if name == "writing")
    assert writing_input[1].content == (
        "Write a one-sentence note.\nFacts:\n- Paris is the capital of France. [source: geo.txt]\n- 15% of 80 is 12."
    )
    assert out["answer"] == "Note: Paris is the capital and 15% of 80 is 12.\n\nSources: geo.txt"
    assert out["citations"] == ["geo.txt"]
    assert out["handoffs"] == 3
    assert_no_dangling(out)


def test_without_writing_the_answers_are_joined_with_their_citations(agents, settings):
    script = Script(
        router=[ai("", handoff("retrieval", "Capital of France?"), handoff("math", "2+2"))],
        retrieval=[ai("Paris is the capital. [source: geo.txt] It is large. [source: geo.txt]")],
        math=[ai("The answer is 4.")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    assert out["answer"] == "Paris is the capital. [source: geo.txt] It is large. [source: geo.txt]\n\nThe answer is 4."
    assert out["citations"] == ["geo.txt"]


def test_handoff_limit_stops_with_a_clear_message(agents, settings):
    settings = settings.model_copy(update={"graph": GraphSettings(max_handoffs=2)})
    script = Script(
        router=[ai("", *(handoff("math", f"{n}+{n}") for n in range(1, 6)))],
        math=[ai("The answer is 2."), ai("The answer is 4.")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert script.models_called().count("math") == 2
    assert out["handoffs"] == 2
    assert "stopped at the limit of 2 handoffs (graph.max_handoffs); not run: math: 3+3; math: 4+4; math: 5+5" in out["answer"]
    refused = [m for m in out["messages"] if isinstance(m, ToolMessage) and m.status == "error"]
    assert len(refused) == 3 and all("limit of 2 handoffs" in m.content for m in refused)
    assert_no_dangling(out)


def test_every_handoff_call_is_answered_including_refused_ones(agents, settings):
    bad_json = InvalidToolCall(name="transfer_to_math", args="{task: oops", id="bad1", error="not JSON", type="invalid_tool_call")
    router_turn = AIMessage(
        content="",
        tool_calls=[
            handoff("math", "1+1"),
            handoff("math", "1+1"),  # duplicate
            handoff("poet", "a poem"),  # unknown agent
            call("transfer_to_retrieval", query="no task"),  # wrong arguments
        ],
        invalid_tool_calls=[bad_json],
    )
    script = Script(router=[router_turn], math=[ai("The answer is 2.")])
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert out["answer"] == "The answer is 2."
    replies = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    assert len(replies) == 5
    reasons = sorted(m.content for m in replies.values() if m.status == "error")
    assert any(r.startswith("duplicate of an earlier handoff") for r in reasons)
    assert any("unknown agent or tool 'transfer_to_poet'" in r for r in reasons)
    assert any("needs a non-empty string argument 'task'" in r for r in reasons)
    assert replies["bad1"].status == "error" and "malformed" in replies["bad1"].content
    assert_no_dangling(out)


def test_router_without_a_valid_handoff_retries_then_fails_clearly(agents, settings):
    script = Script(router=[ai("I think math should do it."), ai("", handoff("astrology", "stars"))])
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert script.models_called() == ["router", "router"]  # one retry (graph.router_retries=1), no agent
    assert out["answer"].startswith("I could not answer this question.")
    assert "the router gave no valid handoff after 2 attempt(s); last reply: calls to transfer_to_astrology" in out["answer"]
    # the retry told the router what was wrong
    retry_input = script.calls[1][1]
    assert isinstance(retry_input[-1], HumanMessage) and "transfer_to_<agent>(task=...)" in retry_input[-1].content
    assert_no_dangling(out)


def test_router_retry_that_succeeds_runs_the_agent(agents, settings):
    script = Script(router=[ai("hmm"), ai("", handoff("math", "2+2"))], math=[ai("The answer is 4.")])
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    assert out["answer"] == "The answer is 4."
    assert out["errors"] == []


def test_a_second_question_starts_a_fresh_plan(agents, settings, saver):
    script = Script(
        router=[ai("", handoff("math", "2+2")), ai("", handoff("math", "3+3"))],
        math=[ai("The answer is 4."), ai("The answer is 6.")],
    )
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    graph.invoke({"messages": [HumanMessage("2+2?")]}, CONFIG)
    out = graph.invoke({"messages": [HumanMessage("3+3?")]}, CONFIG)

    assert out["answer"] == "The answer is 6."
    assert [s["task"] for s in out["plan"]] == ["3+3"] and list(out["results"]) == ["math-1"]
    # the router saw the earlier question and its answer as data, without the handoff traffic
    second_router_input = script.calls[2][1]
    assert [m.content for m in second_router_input[1:]] == [
        "Earlier in this conversation:\nUser: 2+2?\nAnswer: The answer is 4.\nRequest: 3+3?"
    ]
    assert_no_dangling(out)
