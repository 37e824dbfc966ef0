"""Checkpointed runs: state that round-trips, resuming an interrupted thread from a new graph, forks."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agentgraph import build_graph
from agentgraph.runtime import open_checkpointer
from agentgraph.threads import current_state, fork_thread, history, list_threads, thread_config, thread_status
from graph_fakes import Script, ai, call, handoff, unanswered_tool_calls

CONFIG = thread_config("t1")
QUESTION = {"messages": [HumanMessage("Capital of France and 2+2, as a note.")]}


def router_turn() -> AIMessage:
    return ai("", handoff("retrieval", "Capital of France?"), handoff("math", "2+2"), handoff("writing", "A note."))


def first_agents() -> dict:
    return {
        "retrieval": [ai("", call("search", query="capital of France")), ai("Paris. [source: geo.txt]")],
        "math": [ai("", call("calculator", expression="2+2")), ai("The answer is 4.")],
    }


def test_an_interrupted_thread_resumes_on_a_new_graph_instance(agents, settings, search):
    crashed = Script(router=[router_turn()], writing=[RuntimeError("process killed")], **first_agents())
    with open_checkpointer(settings) as saver:
        graph = build_graph(agents, saver, settings=settings, model_factory=crashed.factory)
        try:
            graph.invoke(QUESTION, CONFIG)
        except RuntimeError:
            pass
        else:
            raise AssertionError("the scripted crash did not happen")
        before = current_state(graph, "t1")
        assert thread_status(before) == "unfinished" and before.next == ("writing",)

    resumed = Script(writing=[ai("Note: Paris; 4.")])
    with open_checkpointer(settings) as saver:
        graph = build_graph(agents, saver, settings=settings, model_factory=resumed.factory)
        out = graph.invoke(None, CONFIG)

    assert resumed.models_called() == ["writing"]  # nothing that had finished ran again
    assert search.runs == [{"query": "capital of France"}]
    assert out["answer"] == "Note: Paris; 4.\n\nSources: geo.txt"
    assert unanswered_tool_calls(out["messages"]) == []


def test_state_round_trips_through_the_checkpoint(agents, settings):
    script = Script(router=[router_turn()], writing=[ai("Note: Paris; 4.")], **first_agents())
    with open_checkpointer(settings) as saver:
        out = build_graph(agents, saver, settings=settings, model_factory=script.factory).invoke(QUESTION, CONFIG)
    with open_checkpointer(settings) as saver:
        restored = current_state(build_graph(agents, saver, settings=settings, model_factory=script.factory), "t1").values

    assert restored == out
    assert type(restored["results"]["math-1"]) is dict and type(restored["plan"]) is list
    kinds = [type(m) for m in restored["transcripts"]["math-1"]["messages"]]
    assert kinds[-3:] == [AIMessage, ToolMessage, AIMessage]
    assert restored["transcripts"]["math-1"]["messages"][-1].name == "math"  # each model turn names its agent


def test_fork_starts_a_new_thread_at_a_checkpoint(agents, settings, saver):
    script = Script(router=[router_turn()], writing=[ai("Note: first."), ai("Note: second.")], **first_agents())
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    graph.invoke(QUESTION, CONFIG)
    before_writing = next(c for c in history(graph, "t1") if c.next == ["writing"])

    new_thread = fork_thread(saver, "t1", before_writing.checkpoint_id)
    assert current_state(graph, new_thread).next == ("writing",)
    forked = graph.invoke(None, thread_config(new_thread))

    assert forked["answer"] == "Note: second.\n\nSources: geo.txt"
    assert current_state(graph, "t1").values["answer"] == "Note: first.\n\nSources: geo.txt"
    assert script.models_called().count("math") == 2  # math did not run again in the fork
    assert {t.thread_id for t in list_threads(graph, saver)} == {"t1", new_thread}
    assert history(graph, new_thread)[0].source == "fork"


def test_history_names_the_nodes_that_wrote_each_checkpoint(agents, settings, saver):
    script = Script(router=[router_turn()], writing=[ai("Note.")], **first_agents())
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    graph.invoke(QUESTION, CONFIG)
    assert [sorted(c.written_by) for c in history(graph, "t1")] == [
        ["input"],
        ["__start__"],
        ["supervisor"],
        ["math", "retrieval"],
        ["join"],
        ["writing"],
        ["join"],
        ["finish"],
    ]
