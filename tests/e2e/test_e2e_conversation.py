"""End to end: a conversation in one thread and a plan whose second step needs the first one's result,
through `agentgraph run --thread ID --json` on the real vLLM server and a SQLite file.

A follow-up is handed to its agent as a self-contained task (the earlier answer is read from the
thread), and a dependent step runs after the step it needs, with that step's answer as its fact.
"""

from __future__ import annotations

import pytest
from e2e_support import CORPUS, Cli, final_values, numbers

pytestmark = pytest.mark.server


def test_follow_up_computes_on_the_previous_answer(cli: Cli):
    first = cli.run_json("run", "What is 15% of 80?", "--thread", "e2e-talk")
    assert first["agents"] == ["math"], first
    assert "12" in numbers(first["answer"]), first["answer"]

    follow_up = cli.run_json("run", "Now double that.", "--thread", "e2e-talk")

    assert follow_up["agents"] == ["math"], follow_up
    calculations = [c for c in follow_up["tool_calls"] if c["name"] == "calculator" and c["status"] == "success"]
    assert calculations, follow_up
    expression = str(calculations[-1]["arguments"].get("expression", ""))
    assert "80" not in expression, f"the follow-up asked the first question again: {expression!r}"
    assert "24" in numbers(follow_up["answer"]), follow_up["answer"]
    assert follow_up["errors"] == [], follow_up


def test_step_that_needs_a_fact_runs_after_the_search_with_it(cli: Cli):
    ingested = cli.run("ingest", str(CORPUS), "--collection", "default", "--quiet")
    assert ingested.returncode == 0, ingested.stderr
    question = "How many lanes of traffic does Dunmore Bridge carry? Multiply that number by 3."

    summary = cli.run_json("run", question, "--thread", "e2e-staged")

    assert summary["agents"] == ["retrieval", "math"], summary
    plan = {step["agent"]: step for step in final_values(cli.settings, "e2e-staged")["plan"]}
    assert plan["math"].get("needs") == [plan["retrieval"]["id"]], plan
    calculations = [c for c in summary["tool_calls"] if c["agent"] == "math" and c["status"] == "success"]
    assert calculations and "4" in numbers(str(calculations[-1]["arguments"])), summary
    assert "12" in numbers(summary["answer"]), summary["answer"]
    assert "dunmore-bridge.md" in summary["citations"], summary
