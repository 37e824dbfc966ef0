"""The agent node: allow-list and argument checks where tools run, tool-round limit, approvals, fallback."""

from __future__ import annotations

from dataclasses import replace

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.types import Command

from agentgraph import build_graph
from agentgraph.agents.math import MATH
from agentgraph.agents.retrieval import make_retrieval_agent
from agentgraph.agents.writing import WRITING
from agentgraph.errors import ServingError
from agentgraph.settings import GraphSettings
from agentgraph.threads import thread_config
from graph_fakes import Script, SpyTool, ai, call, handoff, unanswered_tool_calls

CONFIG = thread_config("t1")


def tool_replies(out: dict, subtask: str) -> list[ToolMessage]:
    return [m for m in out["transcripts"][subtask]["messages"] if isinstance(m, ToolMessage)]


def test_tool_not_on_the_allow_list_is_refused_and_never_runs(agents, settings, search):
    # math asks for retrieval's tool: it exists in the graph, but not on math's allow-list
    script = Script(
        router=[ai("", handoff("math", "2+2"))],
        math=[ai("", call("search", query="2+2"), call("calculator", expression="2+2")), ai("The answer is 4.")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert search.runs == []
    refused, ran = tool_replies(out, "math-1")
    assert refused.status == "error"
    assert refused.content == "tool 'search' is not allowed for the math agent; allowed tools: calculator, solve"
    assert ran.status == "success" and ran.content == "4"
    assert [c["status"] for c in out["results"]["math-1"]["tool_calls"]] == ["error", "success"]


def test_arguments_that_do_not_fit_the_schema_are_refused(settings):
    lookup = SpyTool("search")
    agents = [make_retrieval_agent((lookup.tool,)), MATH, WRITING]
    script = Script(
        router=[ai("", handoff("retrieval", "cats"))],
        retrieval=[ai("", call("search", q="cats")), ai("", call("search", query=["not", "a", "string"])), ai("No passages.")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert lookup.runs == []
    first, second = tool_replies(out, "retrieval-1")
    assert first.status == second.status == "error"
    assert first.content == "invalid arguments for search: query: Field required"
    assert second.content.startswith("invalid arguments for search: query: Input should be a valid string")


def test_tool_rounds_are_bounded(agents, settings):
    settings = settings.model_copy(update={"graph": GraphSettings(max_tool_rounds=2)})
    again = ai("", call("calculator", expression="1+1"))
    script = Script(router=[ai("", handoff("math", "loop"))], math=[again, again, again, again])
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert script.models_called().count("math") == 3  # two tool rounds, then the third call is refused
    replies = tool_replies(out, "math-1")
    assert [m.status for m in replies] == ["success", "success", "error"]
    assert replies[-1].content == "calculator was not run: the limit of 2 tool rounds was reached"
    assert out["plan"][0]["status"] == "failed"
    assert "math (math-1): stopped after 2 tool rounds without an answer" in out["answer"]
    assert unanswered_tool_calls(out["transcripts"]["math-1"]["messages"]) == []


@pytest.mark.parametrize(
    ("decision", "runs", "reply"),
    [
        ({"action": "approve"}, [{"query": "cats"}], "ok"),
        ({"action": "reject"}, [], "search was not run: rejected by a person"),
        ({"action": "approve", "args": {"query": "dogs"}}, [{"query": "dogs"}], "ok"),
    ],
    ids=["approve", "reject", "edit"],
)
def test_tools_needing_approval_interrupt_the_run(settings, saver, decision, runs, reply):
    lookup = SpyTool("search")
    retrieval = replace(make_retrieval_agent((lookup.tool,)), needs_approval=frozenset({"search"}))
    script = Script(
        router=[ai("", handoff("retrieval", "cats"), handoff("math", "2+2"))],
        retrieval=[ai("", call("search", query="cats")), ai("Cats purr. [source: cats.md]")],
        math=[ai("The answer is 4.")],
    )
    graph = build_graph([retrieval, MATH, WRITING], saver, settings=settings, model_factory=script.factory)
    first = graph.invoke({"messages": [HumanMessage("q")]}, CONFIG)

    [request] = first["__interrupt__"]
    assert request.value["tool"] == "search" and request.value["args"] == {"query": "cats"}
    assert request.value["agent"] == "retrieval"
    assert lookup.runs == []
    calls_before = len(script.calls)

    out = graph.invoke(Command(resume=decision), CONFIG)
    assert lookup.runs == runs
    [tool_reply] = tool_replies(out, "retrieval-1")
    assert tool_reply.content == reply
    assert len(script.calls) == calls_before + 1  # only the agent's next turn: nothing before the interrupt ran again
    recorded = out["results"]["retrieval-1"]["tool_calls"][0]
    assert recorded["args"] == decision.get("args", {"query": "cats"})
    assert out["results"]["math-1"]["answer"] == "The answer is 4."  # the parallel branch finished once
    assert script.models_called().count("math") == 1


def test_edited_arguments_are_validated_too(settings, saver):
    lookup = SpyTool("search")
    retrieval = replace(make_retrieval_agent((lookup.tool,)), needs_approval=frozenset({"search"}))
    script = Script(router=[ai("", handoff("retrieval", "cats"))], retrieval=[ai("", call("search", query="cats")), ai("None.")])
    graph = build_graph([retrieval, MATH, WRITING], saver, settings=settings, model_factory=script.factory)
    graph.invoke({"messages": [HumanMessage("q")]}, CONFIG)
    out = graph.invoke(Command(resume={"action": "approve", "args": {"qery": "dogs"}}), CONFIG)
    assert lookup.runs == []
    assert tool_replies(out, "retrieval-1")[0].content == "invalid edited arguments for search: query: Field required"


def test_falls_back_to_the_tools_adapter_when_the_agents_adapter_is_not_served(agents, settings):
    script = Script(
        missing=["math"],
        router=[ai("", handoff("math", "2+2"))],
        tools=[ai("", call("calculator", expression="2+2")), ai("The answer is 4.")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert out["answer"] == "The answer is 4."
    result = out["results"]["math-1"]
    assert result["model"] == "tools" and result["fell_back"] is True
    assert out["fallbacks"] == ["math"]
    assert script.models_called() == ["router", "math", "tools", "tools"]


def test_falls_back_to_the_base_model_when_the_adapter_is_not_served(agents, settings):
    script = Script(
        missing=["math", "router", "tools"],
        base=[ai("", handoff("math", "2+2")), ai("", call("calculator", expression="2+2")), ai("The answer is 4.")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    assert out["answer"] == "The answer is 4."
    result = out["results"]["math-1"]
    assert result["model"] == "base" and result["fell_back"] is True
    assert out["transcripts"]["math-1"]["model"] == "base"
    assert out["fallbacks"] == ["supervisor", "math"]
    # adapter -> tools -> base; after the first 404s the agent stays on the base model
    assert script.models_called() == ["router", "tools", "base", "math", "tools", "base", "base"]


def test_without_fallback_a_missing_adapter_is_a_clear_error(agents, settings):
    settings = settings.model_copy(update={"graph": GraphSettings(fallback_to_base=False)})
    script = Script(missing=["router"], base=[ai("", handoff("math", "2+2"))])
    with pytest.raises(ServingError, match="model 'router' is not served and graph.fallback_to_base is off"):
        build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    assert script.models_called() == ["router"]


def test_a_missing_base_model_is_a_clear_error(agents, settings):
    script = Script(missing=["router", "tools", "base"])
    with pytest.raises(ServingError, match="model 'base' is not served"):
        build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    assert script.models_called() == ["router", "tools", "base"]
