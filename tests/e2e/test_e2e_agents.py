"""End to end: `agentgraph run --json` in its own process, on the real vLLM server with the trained adapters.

Each question must reach the right agents, on their own adapters (no fallback to the base model), and
come back with the right value.
"""

from __future__ import annotations

import pytest
from e2e_support import CORPUS, Cli, final_values, models_used, numbers

pytestmark = pytest.mark.server


def test_arithmetic_question_is_answered_by_the_math_agent(cli: Cli):
    summary = cli.run_json("run", "What is 512 * 19?", "--thread", "e2e-math")

    assert summary["thread_id"] == "e2e-math"
    assert summary["agents"] == ["math"], summary
    calls = [(c["agent"], c["name"], c["status"]) for c in summary["tool_calls"]]
    assert ("math", "calculator", "success") in calls, summary
    assert "9728" in numbers(summary["answer"]), summary["answer"]
    assert summary["errors"] == [], summary
    values = final_values(cli.settings, "e2e-math")
    assert models_used(values) == {"math": "math"}
    assert values["fallbacks"] == [], "a node ran on the base model instead of its adapter"


def test_question_about_ingested_documents_cites_the_right_file(cli: Cli):
    ingested = cli.run("ingest", str(CORPUS), "--collection", "default", "--quiet")
    assert ingested.returncode == 0, ingested.stderr

    summary = cli.run_json("run", "When was Sorrel Bridge opened?", "--thread", "e2e-docs")

    assert summary["agents"] == ["retrieval"], summary
    searches = [c for c in summary["tool_calls"] if c["name"] == "search"]
    assert searches and all(c["status"] == "success" for c in searches), summary
    assert "1974" in numbers(summary["answer"]), summary["answer"]
    assert summary["citations"] == ["sorrel-bridge.md"], summary
    values = final_values(cli.settings, "e2e-docs")
    assert models_used(values) == {"retrieval": "retrieval"}
    assert values["fallbacks"] == []


def test_computation_then_note_runs_math_then_writing(cli: Cli):
    question = "What is 17% of 2400? Then write a short note to the team with the result."

    summary = cli.run_json("run", question, "--thread", "e2e-note")

    assert summary["agents"] == ["math", "writing"], summary
    assert ("math", "calculator", "success") in [(c["agent"], c["name"], c["status"]) for c in summary["tool_calls"]]
    answer = summary["answer"]
    assert answer.startswith("Note:"), answer
    assert "408" in numbers(answer), answer
    assert summary["errors"] == [], summary
    values = final_values(cli.settings, "e2e-note")
    assert models_used(values) == {"math": "math", "writing": "writing"}
    assert values["fallbacks"] == []
