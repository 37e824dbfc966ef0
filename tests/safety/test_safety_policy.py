"""The tool policy where tools execute: audit of every call, run limits, agent limits, rate limits, idempotency."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.types import Command

from agentgraph import build_graph
from agentgraph.agent import AgentLimits, AgentSpec
from agentgraph.agents.math import MATH
from agentgraph.db.shared import shared_engine
from agentgraph.idempotency import ToolResults
from agentgraph.runtime import open_checkpointer
from agentgraph.settings import PolicySettings, Settings
from agentgraph.threads import current_state, thread_config, thread_status
from agentgraph.tool_policy import CallContext, ToolRunner
from graph_fakes import Script, SpyTool, ai, call, handoff, unanswered_tool_calls
from safety_support import audit_rows
from safety_tools import Ledger, Outbox

CONFIG = thread_config("t1")


def with_policy(settings: Settings, **policy: object) -> Settings:
    return settings.model_copy(update={"policy": PolicySettings(**policy)})


def ask(graph, question: str = "q", config=CONFIG) -> dict:
    return graph.invoke({"messages": [HumanMessage(question)]}, config)


def clerk(*tools, **spec) -> AgentSpec:
    return AgentSpec("clerk", "Files things.", "You are the clerk.", tools=tools, **spec)


def test_every_call_is_audited_with_its_outcome(settings, saver):
    broken = StructuredTool.from_function(lambda query: 1 / 0, name="lookup", description="Look up.")
    outbox = Outbox()
    agent = clerk(broken, outbox.tool, needs_approval=frozenset({"send_email"}))
    script = Script(
        router=[ai("", handoff("clerk", "File it and mail a@b.example."))],
        clerk=[
            ai(
                "",
                call("lookup", query="x"),
                call("calculator", expression="1+1"),
                call("lookup", q="wrong name"),
                call("send_email", to="a@b.example", subject="s", body="b"),
            ),
            ai("Done."),
        ],
    )
    graph = build_graph([agent, MATH], saver, settings=settings, model_factory=script.factory)
    ask(graph)
    out = graph.invoke(Command(resume={"action": "reject"}), CONFIG)

    rows = audit_rows(settings, thread_id="t1")
    assert [(r["tool"], r["outcome"]) for r in rows] == [
        ("lookup", "error"),
        ("calculator", "refused"),
        ("lookup", "refused"),
        ("send_email", "rejected"),
    ]
    assert {r["run_id"] for r in rows} == {out["run_id"]} and out["run_id"]
    assert {(r["agent"], r["subtask"]) for r in rows} == {("clerk", "clerk-1")}
    assert rows[0]["arguments"] == {"query": "x"} and "ZeroDivisionError" in rows[0]["error"]
    assert rows[1]["error"] == "tool 'calculator' is not allowed for the clerk agent; allowed tools: lookup, send_email"
    assert rows[2]["error"].startswith("invalid arguments for lookup: query: Field required")
    assert rows[3]["error"] == "send_email was not run: rejected by a person"
    assert rows[0]["duration_ms"] >= 0 and rows[0]["started_at"] is not None
    assert outbox.sent == []
    assert [c["outcome"] for c in out["results"]["clerk-1"]["tool_calls"]] == ["error", "refused", "refused", "rejected"]


def test_an_audit_that_cannot_be_written_does_not_lose_the_run(settings, saver, caplog):
    script = Script(router=[ai("", handoff("math", "2+2"))], math=[ai("", call("calculator", expression="2+2")), ai("The answer is 4.")])
    with shared_engine(settings.database_url).begin() as conn:
        conn.execute(sa.text("DROP TABLE ag_tool_audit"))
    with caplog.at_level(logging.WARNING, logger="agentgraph.audit"):
        out = ask(build_graph([MATH], saver, settings=settings, model_factory=script.factory))
    assert out["answer"] == "The answer is 4."
    assert "tool audit row not written (math calculator ok)" in caplog.text


RUN_LIMITS = [
    ("max_model_calls", 3, "stopped at the run's limit of 3 model calls (policy.max_model_calls)"),
    ("max_steps", 4, "stopped at the run's limit of 4 steps (policy.max_steps)"),
    ("max_tokens", 250, "stopped at the run's limit of 250 tokens (policy.max_tokens)"),
]


@pytest.mark.parametrize(("limit", "value", "note"), RUN_LIMITS, ids=[r[0] for r in RUN_LIMITS])
def test_a_run_limit_ends_the_run_with_a_note_and_the_thread_goes_on(settings, limit, value, note):
    settings = with_policy(settings, **{limit: value})
    looping = AIMessage(
        content="",
        tool_calls=[call("calculator", expression="1+1")],
        usage_metadata={"input_tokens": 90, "output_tokens": 10, "total_tokens": 100},
    )
    routed = AIMessage(
        content="", tool_calls=[handoff("math", "count")], usage_metadata={"input_tokens": 40, "output_tokens": 10, "total_tokens": 50}
    )
    script = Script(router=[routed], math=[looping] * 5)
    with open_checkpointer(settings) as saver:
        graph = build_graph([MATH], saver, settings=settings, model_factory=script.factory)
        out = ask(graph)
        assert out["answer"] == f"I could not answer this question.\n\nNote: math (math-1): {note}"
        assert out["plan"][0]["status"] == "failed"
        used = out["usage"]
        assert sum(u["model_calls"] for u in used.values()) <= (value if limit == "max_model_calls" else 99)
        assert sum(u["steps"] for u in used.values()) <= (value if limit == "max_steps" else 99)
        assert unanswered_tool_calls(out["transcripts"]["math-1"]["messages"]) == []

    script = Script(router=[ai("", handoff("math", "2+2"))], math=[ai("", call("calculator", expression="2+2")), ai("The answer is 4.")])
    with open_checkpointer(settings) as saver:  # the state is whole: a new process reads it and goes on
        graph = build_graph([MATH], saver, settings=settings, model_factory=script.factory)
        assert thread_status(current_state(graph, "t1")) == "done"
        again = ask(graph, "2+2?")
    assert again["answer"] == "The answer is 4." and again["errors"] == []


def test_running_time_is_limited(settings, saver):
    def slow(query: str) -> str:
        time.sleep(0.3)
        return "done"

    settings = with_policy(settings, max_wall_s=0.2)
    agent = clerk(StructuredTool.from_function(slow, name="slow", description="Slow."))
    script = Script(router=[ai("", handoff("clerk", "go"))], clerk=[ai("", call("slow", query="a")), ai("Finished.")])
    out = ask(build_graph([agent], saver, settings=settings, model_factory=script.factory))
    assert "Note: clerk (clerk-1): stopped at the run's limit of 0.2 seconds of running time (policy.max_wall_s)" in out["answer"]
    assert script.models_called() == ["router", "clerk"]


def test_agents_running_at_once_share_the_run_limits(settings, saver):
    settings = with_policy(settings, max_model_calls=5)
    spin = ai("", call("calculator", expression="1+1"))
    other = replace(MATH, name="math2", description="More math.")
    script = Script(router=[ai("", handoff("math", "a"), handoff("math2", "b"))], math=[spin] * 5, math2=[spin] * 5)
    out = ask(build_graph([MATH, other], saver, settings=settings, model_factory=script.factory))
    assert len(script.calls) == 5  # router 1, then 2 each
    assert "math (math-1): stopped at its share (2) of the run's limit of 5 model calls (policy.max_model_calls)" in out["errors"]
    assert "math2 (math2-1): stopped at its share (2) of the run's limit of 5 model calls (policy.max_model_calls)" in out["errors"]


def test_an_agents_own_limits_apply_within_the_run(settings, saver):
    limited = replace(MATH, limits=AgentLimits(max_model_calls=2))
    spin = ai("", call("calculator", expression="1+1"))
    script = Script(router=[ai("", handoff("math", "a"))], math=[spin] * 4)
    out = ask(build_graph([limited], saver, settings=settings, model_factory=script.factory))
    assert out["errors"] == ["math (math-1): stopped at the math agent's limit of 2 model calls (AgentSpec.limits)"]
    assert script.models_called() == ["router", "math", "math"]


def test_tool_calls_per_minute_are_limited_per_thread(settings, saver):
    settings = with_policy(settings, tool_rate_limits={"calculator": 2})
    three = ai("", call("calculator", expression="1+1"), call("calculator", expression="2+2"), call("calculator", expression="3+3"))
    script = Script(
        router=[ai("", handoff("math", "a")), ai("", handoff("math", "b")), ai("", handoff("math", "c"))],
        math=[
            three,
            ai("Done."),
            ai("", call("calculator", expression="4+4")),
            ai("Done."),
            ai("", call("calculator", expression="5+5")),
            ai("Done."),
        ],
    )
    graph = build_graph([MATH], saver, settings=settings, model_factory=script.factory)
    first = ask(graph)
    assert [m.status for m in first["transcripts"]["math-1"]["messages"] if isinstance(m, ToolMessage)] == ["success", "success", "error"]
    note = "calculator was not run: its limit of 2 calls per minute in this thread was reached (policy.tool_rate_limits)"
    assert first["errors"] == [f"math (math-1): {note}"] and note in first["answer"]
    second = ask(graph, "again")  # same thread, within the minute
    assert second["errors"] == [f"math (math-1): {note}"]
    third = ask(graph, "elsewhere", thread_config("t2"))  # another thread has its own count
    assert third["errors"] == []
    outcomes = [r["outcome"] for r in audit_rows(settings, thread_id="t1")]
    assert outcomes == ["ok", "ok", "limit", "limit"]


def test_an_agents_own_rate_limit_overrides_the_policy(settings, saver):
    limited = replace(MATH, limits=AgentLimits(calls_per_minute={"calculator": 1}))
    script = Script(
        router=[ai("", handoff("math", "a"))],
        math=[ai("", call("calculator", expression="1+1"), call("calculator", expression="2+2")), ai("Done.")],
    )
    out = ask(build_graph([limited], saver, settings=settings, model_factory=script.factory))
    assert out["errors"] == [
        "math (math-1): calculator was not run: its limit of 1 calls per minute in this thread was reached (the agent's limits)"
    ]


def test_a_recorded_side_effect_is_replayed_not_run_again(settings, tmp_path):
    ledger = Ledger(tmp_path / "ledger.txt", idempotent=False)
    runner = ToolRunner(clerk(ledger.tool), settings.policy, settings.database_url)
    context = CallContext("r1", "t1", "clerk", "clerk-1")
    tool_call = {"name": "record", "args": {"text": "A"}, "id": "call_1"}

    first = runner.execute(ledger.tool, tool_call, context)
    again = runner.execute(ledger.tool, tool_call, context)
    assert first.content == again.content == "recorded A" and again.status == "success"
    assert ledger.invoked() == [("call_1", "A")]
    assert [(r["outcome"], r["replayed"]) for r in audit_rows(settings)] == [("ok", False), ("ok", True)]
    assert ToolResults(shared_engine(settings.database_url)).get("t1", "call_1")["attempts"] == 1


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
def test_a_call_cut_off_while_running_is_run_again_only_if_the_tool_allows_it(settings, tmp_path, idempotent):
    ledger = Ledger(tmp_path / "ledger.txt", idempotent=idempotent)
    runner = ToolRunner(clerk(ledger.tool), settings.policy, settings.database_url)
    results = ToolResults(shared_engine(settings.database_url))
    results.claim("t1", "call_1", "record", {"text": "A"})  # a worker claimed it, then died

    reply = runner.execute(
        ledger.tool, {"name": "record", "args": {"text": "A"}, "id": "call_1"}, CallContext("r1", "t1", "clerk", "clerk-1")
    )
    if idempotent:
        assert reply.status == "success" and ledger.invoked() == [("call_1", "A")]
    else:
        assert reply.status == "error" and "may already have run" in reply.text and ledger.invoked() == []
    record = results.get("t1", "call_1")
    assert record["status"] == "done" and record["attempts"] == 2


def test_a_side_effect_whose_record_cannot_be_written_is_not_run(settings, saver, tmp_path):
    ledger = Ledger(tmp_path / "ledger.txt", idempotent=False)
    with shared_engine(settings.database_url).begin() as conn:
        conn.execute(sa.text("DROP TABLE ag_tool_results"))
    script = Script(router=[ai("", handoff("clerk", "a"))], clerk=[ai("", call("record", text="A")), ai("Could not record.")])
    out = ask(build_graph([clerk(ledger.tool)], saver, settings=settings, model_factory=script.factory))
    assert ledger.invoked() == []
    [reply] = [m for m in out["transcripts"]["clerk-1"]["messages"] if isinstance(m, ToolMessage)]
    assert reply.text == "record was not run: its idempotency record could not be written (OperationalError)"
    assert audit_rows(settings)[0]["outcome"] == "error"


def test_arguments_are_validated_against_a_json_schema_too(settings, saver):
    spy = SpyTool("count")
    typed = StructuredTool(
        name="count",
        description="Count.",
        args_schema={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        func=lambda n: spy.runs.append({"n": n}) or "counted",
    )
    script = Script(
        router=[ai("", handoff("clerk", "a"))], clerk=[ai("", call("count", n="three")), ai("", call("count", n=3)), ai("Done.")]
    )
    out = ask(build_graph([clerk(typed)], saver, settings=settings, model_factory=script.factory))
    replies = [m for m in out["transcripts"]["clerk-1"]["messages"] if isinstance(m, ToolMessage)]
    assert replies[0].text == "invalid arguments for count: 'three' is not of type 'integer'"
    assert spy.runs == [{"n": 3}] and replies[1].text == "counted"


def test_the_policy_is_read_from_the_settings_file_and_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "agentgraph.toml"
    config.write_text('[policy]\nmax_model_calls = 7\nuntrusted_copies = "refuse"\n[policy.tool_rate_limits]\nsearch = 5\n')
    monkeypatch.setenv("AGENTGRAPH_CONFIG", str(config))
    monkeypatch.setenv("AGENTGRAPH_POLICY__MAX_WALL_S", "30")
    policy = Settings().policy
    assert (policy.max_model_calls, policy.untrusted_copies, policy.tool_rate_limits, policy.max_wall_s) == (
        7,
        "refuse",
        {"search": 5},
        30.0,
    )
    monkeypatch.setenv("AGENTGRAPH_POLICY__UNTRUSTED_COPIES", "ignore")
    with pytest.raises(ValueError, match="untrusted_copies"):
        Settings()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_audit_migration_goes_up_and_down(backend, tmp_path, request):
    from alembic import command

    from agentgraph.db import current, head_revisions, make_engine, upgrade
    from agentgraph.db.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else request.getfixturevalue("blank_postgres_url")
    upgrade(url)
    assert current(url) == head_revisions()
    command.downgrade(alembic_config(url), "0002")
    engine = make_engine(url)
    try:
        assert not {"ag_tool_audit", "ag_tool_results"} & set(sa.inspect(engine).get_table_names())
        upgrade(url)
        assert {"ag_tool_audit", "ag_tool_results"} <= set(sa.inspect(engine).get_table_names())
        with pytest.raises(sa.exc.IntegrityError):  # only the five outcomes
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO ag_tool_audit (agent, tool, tool_call_id, arguments, outcome, replayed, started_at, duration_ms) "
                        "VALUES ('a', 't', 'c', '{}', 'maybe', false, CURRENT_TIMESTAMP, 0)"
                    )
                )
    finally:
        engine.dispose()
