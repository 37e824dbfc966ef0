"""End to end: a run killed with SIGKILL is finished by `agentgraph run --thread ID` from a new process."""

from __future__ import annotations

import signal
import time

import pytest
from e2e_support import Cli, final_values, numbers
from langchain_core.messages import HumanMessage

from agentgraph.checkpoint import SQLAlchemySaver
from agentgraph.runtime import open_checkpointer, open_store
from agentgraph.threads import thread_config, thread_status

pytestmark = pytest.mark.server

FIRST_CHECKPOINT_TIMEOUT_S = 300
QUESTION = "What is 23 * 47?"


def status(cli: Cli, thread_id: str) -> str:
    from agentgraph.graphs.supervisor import build

    with open_checkpointer(cli.settings) as saver:
        return thread_status(build(checkpointer=saver, settings=cli.settings).get_state(thread_config(thread_id)))


def test_killed_run_is_finished_by_a_new_process(cli: Cli):
    thread = "e2e-killed"
    with open_checkpointer(cli.settings), open_store(cli.settings):
        pass  # the schema exists before two processes use the file
    log = cli.cwd / "killed-run.log"
    with SQLAlchemySaver.from_conn_string(cli.settings.database_url) as saver:
        process = cli.start("run", QUESTION, "--thread", thread, "--json", log=log)
        try:
            deadline = time.monotonic() + FIRST_CHECKPOINT_TIMEOUT_S
            while saver.get_tuple(thread_config(thread)) is None:
                if process.poll() is not None:
                    pytest.fail(f"the run exited with {process.returncode} before its first checkpoint:\n{log.read_text()[-3000:]}")
                assert time.monotonic() < deadline, "no checkpoint of the thread appeared"
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        stored_before = len(list(saver.list(thread_config(thread))))
    assert status(cli, thread) == "unfinished", "the killed run had already finished"

    summary = cli.run_json("run", "--thread", thread)

    assert summary["thread_id"] == thread
    assert summary["agents"] == ["math"], summary
    assert "1081" in numbers(summary["answer"]), summary["answer"]
    values = final_values(cli.settings, thread)
    questions = [m.text for m in values["messages"] if isinstance(m, HumanMessage)]
    assert questions == [QUESTION], "the question was asked again instead of resumed"
    with open_checkpointer(cli.settings) as saver:
        assert len(list(saver.list(thread_config(thread)))) > stored_before
    assert status(cli, thread) == "done"
