"""Plans whose steps depend on each other: stages, facts from the needed steps, missing facts, follow-ups."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from agentgraph import build_graph
from agentgraph.router import parse_handoffs
from agentgraph.threads import history, thread_config
from graph_fakes import Script, ai, call

CONFIG = thread_config("staged")


def needing(agent: str, task: str, *needs: str) -> dict:
    return call(f"transfer_to_{agent}", task=task, needs=list(needs))


def test_a_step_that_needs_another_runs_after_it_with_its_answer_as_facts(agents, settings, saver):
    script = Script(
        router=[
            ai(
                "",
                needing("retrieval", "How many member farms does the cooperative have?"),
                needing("math", "Multiply the number of member farms by 3.", "retrieval"),
            )
        ],
        retrieval=[ai("", call("search", query="member farms")), ai("The cooperative has 214 member farms. [source: coop.md]")],
        math=[ai("", call("calculator", expression="214*3")), ai("The answer is 642.")],
    )
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    out = graph.invoke({"messages": [HumanMessage("How many member farms does the cooperative have? Multiply that number by 3.")]}, CONFIG)

    assert script.models_called() == ["router", "retrieval", "retrieval", "math", "math"]  # math waited for retrieval
    assert [(s["id"], s["needs"], s["status"]) for s in out["plan"]] == [("retrieval-1", [], "done"), ("math-1", ["retrieval-1"], "done")]
    math_turn = script.calls[3][1][-1].content
    assert math_turn == "Facts: The cooperative has 214 member farms. [source: coop.md]\nTask: Multiply the number of member farms by 3."
    assert "642" in out["answer"]
    # the staged run is one run in the thread's history, whose checkpoints show both stages
    written = [w for info in history(graph, "staged") for w in info.written_by]
    assert written.index("retrieval") < written.index("math")


def test_independent_steps_still_run_together_and_writing_gets_every_result(agents, settings):
    script = Script(
        router=[
            ai("", needing("math", "What is 2+2?"), needing("math", "What is 3+3?"), needing("writing", "Write a note with both results."))
        ],
        math=[
            ai("", call("calculator", expression="2+2")),
            ai("", call("calculator", expression="3+3")),
            ai("The answer is 4."),
            ai("The answer is 6."),
        ],
        writing=[ai("Note: 4 and 6.")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    assert [s["needs"] for s in out["plan"]] == [[], [], ["math-1", "math-2"]]
    assert script.models_called()[1:3] == ["math", "math"]  # the two math steps were sent in the same stage
    assert script.calls[-1][1][-1].content.endswith("Facts:\n- 2+2 is 4.\n- 3+3 is 6.")  # statements that say what they are
    assert out["answer"] == "Note: 4 and 6."


def test_a_step_whose_needed_result_failed_is_not_run_and_the_answer_says_what_was_missing(agents, settings):
    script = Script(
        router=[ai("", needing("retrieval", "How tall is the tower?"), needing("math", "Double the height of the tower.", "retrieval"))],
        # the retrieval agent gives no answer at all (an empty reply, then again after the correction): failed
        retrieval=[ai(""), ai("")],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    assert "math" not in script.models_called()  # never run on nothing
    statuses = {s["id"]: s["status"] for s in out["plan"]}
    assert statuses == {"retrieval-1": "failed", "math-1": "failed"}
    assert "math (math-1) was not run: the result it needs from retrieval ('How tall is the tower?') is missing" in out["answer"]


def test_needs_name_only_agents_handed_work_earlier_in_the_same_reply():
    reply = ai(
        "",
        needing("math", "Double it.", "retrieval", "writing"),
        needing("retrieval", "Find it."),
        needing("writing", "Write it.", "transfer_to_math", "retrieval", "nobody"),
    )
    handoffs, rejected = parse_handoffs(reply, ["math", "retrieval", "writing"])
    assert rejected == []
    assert [h.needs for h in handoffs] == [(), (), ("math", "retrieval")]


def test_a_follow_up_is_read_after_the_earlier_turns_bounded_by_the_settings(agents, settings, saver):
    settings = settings.model_copy(
        update={"graph": settings.graph.model_copy(update={"router_history_turns": 2, "router_answer_chars": 20})}
    )
    questions = ["What is 15% of 80?", "Now double that.", "And 20%?"]
    script = Script(
        router=[
            ai("", needing("math", "What is 15% of 80?")),
            ai("", needing("math", "Double 12.")),
            ai("", needing("math", "What is 20% of 80?")),
        ],
        math=[ai("15% of 80 is 12, computed exactly with the calculator."), ai("Double 12 is 24."), ai("20% of 80 is 16.")],
    )
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    for question in questions:
        graph.invoke({"messages": [HumanMessage(question)]}, CONFIG)
    third_router_turn = [c for c in script.calls if c[0] == "router"][2][1][-1].content
    assert third_router_turn.startswith("Earlier in this conversation:\nUser: What is 15% of 80?\nAnswer: 15% of 80 is 12, com...")
    assert third_router_turn.endswith("User: Now double that.\nAnswer: Double 12 is 24.\nRequest: And 20%?")


def test_a_follow_up_that_needs_the_conversation_gets_the_previous_answer_as_its_fact(agents, settings, saver):
    script = Script(
        router=[
            ai("", needing("math", "What is 15% of 80?")),
            ai("", needing("writing", "Write that as an email to Sam.", "conversation")),
        ],
        math=[ai("", call("calculator", expression="15%*80")), ai("15% of 80 is 12.")],
        writing=[ai("Hi Sam,\n15% of 80 is 12.\nBest regards,\nAlex")],
    )
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    graph.invoke({"messages": [HumanMessage("What is 15% of 80?")]}, CONFIG)
    out = graph.invoke({"messages": [HumanMessage("Write that as an email to Sam.")]}, CONFIG)
    assert script.calls[-1][1][-1].content == "Write that as an email to Sam.\nFacts:\n- 15% of 80 is 12."
    assert out["plan"][0]["given"] == ["15% of 80 is 12."]
    assert "12" in out["answer"]


def test_a_follow_up_step_reads_the_previous_turn_as_a_fact(agents, settings, saver):
    script = Script(
        router=[ai("", needing("math", "A bike costs 260 with 35% off. How much do I save?")), ai("", needing("math", "And at 45% off?"))],
        math=[
            ai("", call("calculator", expression="35%*260")),
            ai("The answer is 91."),
            ai("", call("calculator", expression="45%*260")),
            ai("The answer is 117."),
        ],
    )
    graph = build_graph(agents, saver, settings=settings, model_factory=script.factory)
    graph.invoke({"messages": [HumanMessage("A bike costs 260 with 35% off. How much do I save?")]}, CONFIG)
    out = graph.invoke({"messages": [HumanMessage("And at 45% off?")]}, CONFIG)
    follow_up_turn = [c for c in script.calls if c[0] == "math"][2][1][-1].content
    assert follow_up_turn == (
        "Facts: Earlier in this conversation: A bike costs 260 with 35% off. How much do I save? The answer is 91.\nTask: And at 45% off?"
    )
    assert "117" in out["answer"]


def test_a_call_that_rewrites_the_tasks_expression_is_corrected_before_it_runs(agents, settings):
    script = Script(
        router=[ai("", needing("math", "(41 - 16) * (3 + 8) = ?"))],
        math=[
            ai("", call("calculator", expression="(41-16)*3+8")),
            ai("", call("calculator", expression="(41 - 16) * (3 + 8)")),
            ai("The answer is 275."),
        ],
    )
    out = build_graph(agents, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    calls = out["results"]["math-1"]["tool_calls"]
    assert [(c["args"]["expression"], c["status"]) for c in calls] == [("(41-16)*3+8", "error"), ("(41 - 16) * (3 + 8)", "success")]
    correction = [m for m in out["transcripts"]["math-1"]["messages"] if m.type == "tool"][0].content
    assert "calculator(expression='(41 - 16) * (3 + 8)')" in correction
    assert "275" in out["answer"] and out["errors"] == []
