"""`langgraph dev` on the project's real `langgraph.json`: a thread run over its HTTP API, saved by our saver."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentgraph.checkpoint import SQLAlchemySaver
from tests.model_server import FakeModelServer

ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).parent / "langgraph"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, log: Path, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"langgraph dev exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"langgraph dev did not start in {timeout_s} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's files seen from a folder of the test's own (so `.langgraph_api` lands there)."""
    for name in ("langgraph.json", "graphs", "agentgraph"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def test_langgraph_dev_runs_a_thread_on_the_sqlalchemy_saver(project: Path, tmp_path: Path):
    from langgraph_sdk import get_sync_client

    database = f"sqlite:///{tmp_path / 'studio.db'}"
    port = free_port()
    log = tmp_path / "langgraph-dev.log"
    model = FakeModelServer("--handoffs", "math", "--tool-call", "math:calculator:expression")
    with model, log.open("w") as log_file:
        env = {
            **os.environ,
            "AGENTGRAPH_DATABASE_URL": database,
            "AGENTGRAPH_SERVER__URLS": f'["{model.url}"]',
            "AGENTGRAPH_SERVER__MAX_RETRIES": "0",
            "LANGSMITH_TRACING": "false",
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        }
        server = subprocess.Popen(
            [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--port", str(port), "--config", "langgraph.json"],
            cwd=project,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, server, log)
            client = get_sync_client(url=url)
            thread = client.threads.create()
            values = client.runs.wait(thread["thread_id"], "supervisor", input={"messages": [{"role": "user", "content": "6*7"}]})
            state = client.threads.get_state(thread["thread_id"])
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()

    # the scripted math model answers with the calculator's result in brackets
    assert values["answer"] == "math answer: 6*7 [42]", log.read_text()[-3000:]
    assert [s["agent"] for s in values["plan"]] == ["math"]
    assert values["results"]["math-1"]["tool_calls"][0]["name"] == "calculator"
    assert state["next"] == []
    # the thread was written by agentgraph's saver (checkpointer.path), in the configured database
    with SQLAlchemySaver.from_conn_string(database) as saver:
        saved = list(saver.list({"configurable": {"thread_id": thread["thread_id"]}}))
    assert saved, "no checkpoint in the agentgraph database"
    assert saved[0].checkpoint["channel_values"]["answer"] == "math answer: 6*7 [42]"
