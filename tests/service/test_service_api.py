"""The HTTP service in this process (uvicorn in a thread) on PostgreSQL, with a scripted model server."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from langchain_core.tools import StructuredTool

from tests.model_server import FakeModelServer, dead_url
from tests.service.conftest import ADMIN, running_service

pytestmark = pytest.mark.postgres  # the service runs on PostgreSQL (a database of its own)


def create(client: httpx.Client, base: str, thread_id: str | None = None) -> str:
    response = client.post(f"{base}/threads", json={"thread_id": thread_id} if thread_id else None)
    assert response.status_code == 201, response.text
    return response.json()["thread_id"]


def ask(client: httpx.Client, base: str, thread_id: str, question: str | None = None, **body: object) -> httpx.Response:
    if question is not None:
        body["question"] = question
    return client.post(f"{base}/threads/{thread_id}/runs", json=body)


def wait_until(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_a_thread_is_created_asked_and_read_back(model_server, make_settings):
    with running_service(make_settings(model_server.url)) as base, httpx.Client(timeout=60, headers=ADMIN) as client:
        thread_id = create(client, base)
        fresh = client.get(f"{base}/threads/{thread_id}/state").json()
        assert fresh["status"] == "new" and fresh["messages"] == []

        run = ask(client, base, thread_id, "What is 6 * 7?")
        assert run.status_code == 200, run.text
        result = run.json()
        assert result["status"] == "done" and result["agents"] == ["math", "writing"]
        assert result["answer"].startswith("writing answer:") and "math answer: What is 6 * 7?" in result["answer"]
        assert result["tool_calls"] == [] and result["errors"] == [] and result["citations"] == []
        assert run.headers["x-agentgraph-worker"].isdigit()

        state = client.get(f"{base}/threads/{thread_id}/state").json()
        assert state["checkpoint_id"] == result["checkpoint_id"] and state["answer"] == result["answer"]
        assert state["messages"][0] == {"role": "human", "name": None, "content": "What is 6 * 7?", "tool_calls": []}
        assert state["messages"][-1]["content"] == result["answer"]

        history = client.get(f"{base}/threads/{thread_id}/history").json()
        assert history[0]["source"] == "input" and history[0]["parent_id"] is None
        assert history[-1]["checkpoint_id"] == result["checkpoint_id"]
        assert [c["parent_id"] for c in history[1:]] == [c["checkpoint_id"] for c in history[:-1]]

        again = ask(client, base, thread_id, "And 7 * 8?").json()
        assert again["status"] == "done" and "7 * 8" in again["answer"]
        assert len(client.get(f"{base}/threads/{thread_id}/history").json()) == 2 * len(history) - 1

        finished = ask(client, base, thread_id)
        assert finished.status_code == 409 and "finished" in finished.json()["detail"]
        taken = client.post(f"{base}/threads", json={"thread_id": thread_id})
        assert taken.status_code == 409 and "exists" in taken.json()["detail"]


def test_invalid_requests_get_clear_errors(model_server, make_settings):
    with (
        running_service(make_settings(model_server.url, policy={"max_question_chars": 40})) as base,
        httpx.Client(timeout=60, headers=ADMIN) as client,
    ):
        for response in (
            ask(client, base, "no-such-thread", "Hello?"),
            client.get(f"{base}/threads/no-such-thread/state"),
            client.get(f"{base}/threads/no-such-thread/history"),
        ):
            assert response.status_code == 404 and "unknown thread 'no-such-thread'" in response.json()["detail"]

        thread_id = create(client, base, "clear-errors")
        empty = ask(client, base, thread_id, "   ")
        assert empty.status_code == 422 and empty.json()["detail"] == "the question is empty"
        long = ask(client, base, thread_id, "x" * 41)
        assert long.status_code == 422 and "more than the limit of 40 (policy.max_question_chars)" in long.json()["detail"]
        assert ask(client, base, thread_id, "Hi?", colour="blue").status_code == 422
        both = ask(client, base, thread_id, "Hi?", resume={"action": "approve"})
        assert both.status_code == 422 and "not both" in both.json()["detail"]
        not_waiting = ask(client, base, thread_id, resume={"action": "approve"})
        assert not_waiting.status_code == 409 and "not waiting" in not_waiting.json()["detail"]
        nothing = ask(client, base, thread_id)
        assert nothing.status_code == 409 and "no run to resume" in nothing.json()["detail"]
        assert client.post(f"{base}/threads", json={"thread_id": "bad id!"}).status_code == 422
        assert model_server.requests() == []  # nothing reached the model


def test_a_second_run_of_a_busy_thread_is_refused_by_every_worker(model_server, make_settings):
    settings = make_settings(model_server.url)
    with running_service(settings) as first, running_service(settings) as second, httpx.Client(timeout=60, headers=ADMIN) as client:
        thread_id = create(client, first)
        model_server.control(hold=True)
        outcome: dict[str, httpx.Response] = {}
        runner = threading.Thread(target=lambda: outcome.setdefault("run", ask(client, first, thread_id, "Slow one?")))
        runner.start()
        try:
            wait_until(lambda: model_server.waiting() == 1)  # the run is inside its first model call
            for base in (second, first):
                busy = ask(client, base, thread_id, "Meanwhile?")
                assert busy.status_code == 409 and "in progress" in busy.json()["detail"]
            other = create(client, second)  # other threads are not blocked
            assert client.get(f"{second}/threads/{other}/state").status_code == 200
        finally:
            model_server.control(hold=False)
            runner.join(60)
        assert outcome["run"].status_code == 200 and outcome["run"].json()["status"] == "done"

        after = ask(client, second, thread_id, "Now?")  # the lock went with the run
        assert after.status_code == 200, after.text
        state = client.get(f"{second}/threads/{thread_id}/state").json()
        assert [m["content"] for m in state["messages"] if m["role"] == "human"] == ["Slow one?", "Now?"]


def test_a_model_server_that_is_down_gives_503_and_the_thread_resumes_later(make_settings):
    url = dead_url()
    with running_service(make_settings(url)) as base, httpx.Client(timeout=60, headers=ADMIN) as client:
        thread_id = create(client, base)
        down = ask(client, base, thread_id, "What is 6 * 7?")
        assert down.status_code == 503
        assert url in down.json()["detail"] and "not reachable" in down.json()["detail"]
        assert client.get(f"{base}/threads/{thread_id}/state").json()["status"] == "unfinished"

        with FakeModelServer(port=int(url.rsplit(":", 1)[1].split("/")[0])):
            resumed = ask(client, base, thread_id)
        assert resumed.status_code == 200 and resumed.json()["status"] == "done"
        assert resumed.json()["agents"] == ["math", "writing"]


def test_a_missing_adapter_without_fallback_is_a_503_naming_it(make_settings):
    with FakeModelServer("--models", "base,router,writing") as server:
        settings = make_settings(server.url)
        settings.graph.fallback_to_base = False
        with running_service(settings) as base, httpx.Client(timeout=60, headers=ADMIN) as client:
            thread_id = create(client, base)
            response = ask(client, base, thread_id, "What is 6 * 7?")
        assert response.status_code == 503 and "'math'" in response.json()["detail"]


def approval_graph(checkpointer=None, store=None, settings=None):
    """The default agents, with a retrieval search that needs a person's approval."""
    from dataclasses import replace

    from agentgraph import build_graph
    from agentgraph.agents.math import MATH
    from agentgraph.agents.retrieval import make_retrieval_agent
    from agentgraph.agents.writing import WRITING

    def search(query: str) -> str:
        return "[geo.txt] Paris is the capital of France."

    tool = StructuredTool.from_function(func=search, name="search", description="Search the documents.")
    retrieval = replace(make_retrieval_agent((tool,)), needs_approval=frozenset({"search"}))
    return build_graph([retrieval, MATH, WRITING], checkpointer, store, settings)


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_thread_waiting_for_an_approval_is_resumed_over_http(make_settings, action):
    script = ("--handoffs", "retrieval,writing", "--tool-call", "retrieval:search:query")
    with (
        FakeModelServer(*script) as server,
        running_service(make_settings(server.url), approval_graph) as base,
        httpx.Client(timeout=60, headers=ADMIN) as client,
    ):
        thread_id = create(client, base)
        waiting = ask(client, base, thread_id, "What is the capital of France?").json()
        assert waiting["status"] == "waiting" and waiting["answer"] == ""
        (request,) = waiting["interrupts"]
        assert request["tool"] == "search" and request["args"] == {"query": "What is the capital of France?"}

        busy = ask(client, base, thread_id)
        assert busy.status_code == 409 and "waiting for an approval" in busy.json()["detail"]

        done = ask(client, base, thread_id, resume={"action": action})
        assert done.status_code == 200, done.text
        result = done.json()
        assert result["status"] == "done" and result["interrupts"] == [] and result["agents"] == ["retrieval", "writing"]
        (call,) = result["tool_calls"]
        assert call["name"] == "search" and call["agent"] == "retrieval"
        if action == "approve":
            assert call["status"] == "success" and "Paris is the capital" in result["answer"]
        else:
            assert call["status"] == "error" and "Paris" not in result["answer"]


def advisory_lock_holders(url: str) -> list[int]:
    """Backends holding an advisory lock in the database at `url`."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    return [row[0] for row in rows]


def test_a_run_lock_lost_with_its_connection_is_taken_again(model_server, make_settings, postgres_url):
    import psycopg

    settings = make_settings(model_server.url, lock_check_s=0.2)
    with running_service(settings) as first, running_service(settings) as second, httpx.Client(timeout=60, headers=ADMIN) as client:
        thread_id = create(client, first)
        model_server.control(hold=True)
        outcome: dict[str, httpx.Response] = {}
        runner = threading.Thread(target=lambda: outcome.setdefault("run", ask(client, first, thread_id, "Slow one?")))
        runner.start()
        try:
            wait_until(lambda: model_server.waiting() == 1)
            (holder,) = advisory_lock_holders(postgres_url)
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (holder,))
            wait_until(lambda: len(advisory_lock_holders(postgres_url)) == 1 and advisory_lock_holders(postgres_url) != [holder])

            busy = ask(client, second, thread_id, "Meanwhile?")
            assert busy.status_code == 409
        finally:
            model_server.control(hold=False)
            runner.join(60)
        assert outcome["run"].status_code == 200 and outcome["run"].json()["status"] == "done"
        assert ask(client, second, thread_id, "Now?").status_code == 200
        assert advisory_lock_holders(postgres_url) == []
