"""`agentgraph run | threads | history | fork | resume` on a scripted graph (`--graph graph_fakes:...`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import graph_fakes
from agentgraph.cli import app
from agentgraph.errors import AgentgraphError, ServingError
from agentgraph.settings import get_settings
from graph_fakes import Script, ai, call, handoff

GRAPH = ["--graph", "graph_fakes:build_scripted"]
WITH_APPROVAL = ["--graph", "graph_fakes:build_scripted_with_approval"]
AGENTGRAPH = Path(sys.executable).parent / "agentgraph"


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each test on its own checkpoint database, read through the settings like in production."""
    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    graph_fakes.SCRIPT = None


def script() -> Script:
    return Script(
        router=[ai("", handoff("retrieval", "Capital of France?"), handoff("math", "2+2"), handoff("writing", "A note."))],
        retrieval=[ai("", call("search", query="capital of France")), ai("Paris. [source: geo.txt]")],
        math=[ai("", call("calculator", expression="2+2")), ai("The answer is 4.")],
        writing=[ai("Note: Paris; 4.")],
    )


def cli(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.exception


def test_run_json_prints_one_object(tmp_path):
    graph_fakes.SCRIPT = script()
    code, out, exc = cli("run", "Capital of France and 2+2, as a note?", "--thread", "t1", "--json", *GRAPH)
    assert code == 0, exc
    summary = json.loads(out)
    assert {"thread_id", "answer", "agents", "citations", "tool_calls"} <= set(summary)
    assert summary["thread_id"] == "t1"
    assert summary["answer"] == "Note: Paris; 4.\n\nSources: geo.txt"
    assert summary["agents"] == ["retrieval", "math", "writing"]
    assert summary["citations"] == ["geo.txt"]
    assert [(c["agent"], c["name"], c["arguments"]) for c in summary["tool_calls"]] == [
        ("retrieval", "search", {"query": "capital of France"}),
        ("math", "calculator", {"expression": "2+2"}),
    ]


def test_run_live_view_shows_each_agent_and_the_answer():
    graph_fakes.SCRIPT = script()
    code, out, exc = cli("run", "Capital of France and 2+2?", "--thread", "t1", *GRAPH)
    assert code == 0, exc
    for shown in ("math (math-1): 2+2", '-> calculator(expression="2+2")', "<- calculator: 4", "Note: Paris; 4.", "thread: t1"):
        assert shown in out
    assert out.index("retrieval (retrieval-1)") < out.index("writing (writing-1)") < out.index("─ answer ─")


def test_run_live_view_streams_tokens():
    streamed = script()
    streamed.stream = True
    graph_fakes.SCRIPT = streamed
    code, out, exc = cli("run", "Capital of France and 2+2?", "--thread", "t1", *GRAPH)
    assert code == 0, exc
    assert streamed.streamed_turns == len(streamed.calls)  # every model turn came as tokens
    # the streamed turns were put back together: tool calls ran, text shows once per turn
    assert '-> calculator(expression="2+2")' in out and "<- calculator: 4" in out
    assert out.count("The answer is 4.") == 1
    assert "Note: Paris; 4." in out


def test_approval_through_resume_with_edited_arguments():
    graph_fakes.SCRIPT = script()
    code, out, exc = cli("run", "q", "--thread", "t1", "--json", *WITH_APPROVAL)
    assert code == 0, exc
    waiting = json.loads(out)
    assert waiting["answer"] == ""
    assert [(i["tool"], i["args"]) for i in waiting["interrupts"]] == [("search", {"query": "capital of France"})]

    code, out, exc = cli("resume", "t1", "--approve", "--edit", '{"query": "French capital"}', "--json", *WITH_APPROVAL)
    assert code == 0, exc
    done = json.loads(out)
    assert done["interrupts"] == [] and done["answer"].startswith("Note: Paris; 4.")
    assert done["tool_calls"][0]["arguments"] == {"query": "French capital"}

    code, _, exc = cli("resume", "t1", "--approve", *WITH_APPROVAL)
    assert code != 0 and "is not waiting for an approval" in str(exc)


def test_threads_history_fork_and_resuming_the_fork():
    graph_fakes.SCRIPT = script()
    assert cli("run", "q", "--thread", "t1", "--json", *GRAPH)[0] == 0
    code, out, exc = cli("history", "t1", "--json", *GRAPH)
    assert code == 0, exc
    checkpoints = json.loads(out)
    assert [c["written_by"] for c in checkpoints][-1] == ["finish"]
    before_writing = next(c["checkpoint_id"] for c in checkpoints if c["next"] == ["writing"])

    code, out, exc = cli("fork", "t1", "--checkpoint", before_writing)
    assert code == 0, exc
    new_thread = out.strip()
    graph_fakes.SCRIPT.replies["writing"] = [ai("Note: forked.")]
    code, out, exc = cli("run", "--thread", new_thread, "--json", *GRAPH)
    assert code == 0, exc
    assert json.loads(out)["answer"] == "Note: forked.\n\nSources: geo.txt"

    code, out, exc = cli("threads", *GRAPH)
    assert code == 0, exc
    assert "t1" in out and new_thread[:8] in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "   "], "the question is empty"),
        (["run"], "give a question, or --thread ID"),
        (["run", "--thread", "nope"], "unknown thread 'nope'"),
        (["history", "nope"], "unknown thread 'nope'"),
        (["fork", "nope", "--checkpoint", "c1"], "thread 'nope' has no checkpoint 'c1'"),
        (["resume", "nope"], "give exactly one of --approve and --reject"),
        (["resume", "nope", "--reject", "--edit", "{}"], "--edit goes with --approve"),
        (["run", "q", "--graph", "no_such_module:build"], "graph builder module 'no_such_module' not found"),
    ],
)
def test_errors_are_one_clear_message(args, message):
    graph_fakes.SCRIPT = script()
    code, _, exc = cli(*args, *(GRAPH if "--graph" not in args and args[0] != "fork" else []))
    assert code != 0
    assert isinstance(exc, AgentgraphError) and message in str(exc)


def test_finished_thread_has_nothing_to_resume():
    graph_fakes.SCRIPT = script()
    cli("run", "q", "--thread", "t1", "--json", *GRAPH)
    code, _, exc = cli("run", "--thread", "t1", *GRAPH)
    assert code != 0 and "has finished" in str(exc)


def test_server_down_is_a_serving_error(monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AGENTGRAPH_SERVER__URLS", f'["http://127.0.0.1:{port}/v1"]')
    monkeypatch.setenv("AGENTGRAPH_SERVER__MAX_RETRIES", "0")
    get_settings.cache_clear()
    code, _, exc = cli("run", "What is 2+2?", "--json")  # the default graph on the configured server
    assert code != 0
    assert isinstance(exc, ServingError) and "not reachable" in str(exc)


def test_console_script_prints_one_line_and_fails(tmp_path):
    env = {**os.environ, "AGENTGRAPH_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    done = subprocess.run([str(AGENTGRAPH), "run", ""], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: the question is empty"
