"""The graph against model servers that are stopped, too slow, failing, killed mid-run or missing an adapter.

Every server here is a real HTTP server on loopback (`bench/fake_openai.py` in its own process); the
graph talks to it through the real client (`agentgraph.serving.client.chat_model`).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from agentgraph.errors import ServingError
from agentgraph.graphs.supervisor import build
from agentgraph.runtime import open_checkpointer
from agentgraph.serving.client import HEALTH
from agentgraph.settings import Settings
from agentgraph.threads import current_state, run_summary, thread_config, thread_status
from tests.model_server import FakeModelServer, dead_url

QUESTION = "What is 6 * 7?"


def ask(settings: Settings, thread_id: str = "t1", question: str | None = QUESTION) -> dict[str, Any]:
    """Run the default graph on the thread (a new question, or None to resume it); its run summary."""
    payload = {"messages": [HumanMessage(question)]} if question is not None else None
    with open_checkpointer(settings) as saver:
        values = build(saver, None, settings).invoke(payload, thread_config(thread_id))
    return run_summary(thread_id, values)


def status(settings: Settings, thread_id: str = "t1") -> tuple[str, tuple[str, ...]]:
    with open_checkpointer(settings) as saver:
        state = current_state(build(saver, None, settings), thread_id)
    return thread_status(state), state.next


def finished(summary: dict[str, Any]) -> bool:
    return summary["agents"] == ["math", "writing"] and summary["answer"].startswith("writing answer:") and not summary["errors"]


def test_a_stopped_first_server_fails_over_to_the_second(make_settings):
    stopped = FakeModelServer()
    stopped.kill()
    with FakeModelServer() as second:
        summary = ask(make_settings(stopped.url, second.url))
        assert finished(summary)
        assert second.models_asked() == ["router", "math", "writing"]
    assert HEALTH.down() == [stopped.url]  # tried after the others for a while


def test_a_server_slower_than_the_timeout_fails_over_and_is_then_tried_last(make_settings):
    with FakeModelServer("--delay", "30") as slow, FakeModelServer() as fast:
        summary = ask(make_settings(slow.url, fast.url, request_timeout_s=0.5))
        assert finished(summary)
        assert slow.models_asked() == ["router"]  # timed out once, then skipped
        assert fast.models_asked() == ["router", "math", "writing"]


def test_server_errors_are_retried_on_the_same_server(make_settings):
    with FakeModelServer("--fail-first", "2") as flaky:
        summary = ask(make_settings(flaky.url, max_retries=2))
        assert finished(summary)
        first = flaky.requests()[:3]
        assert [(r["model"], r["retry"], r["status"]) for r in first] == [
            ("router", 0, 500),
            ("router", 1, 500),
            ("router", 2, 200),
        ]


def test_a_server_that_keeps_failing_is_left_for_the_next(make_settings):
    with FakeModelServer("--fail-first", "1000") as broken, FakeModelServer() as healthy:
        summary = ask(make_settings(broken.url, healthy.url, max_retries=1))
        assert finished(summary)
        assert [(r["retry"], r["status"]) for r in broken.requests()] == [(0, 500), (1, 500)]
        assert healthy.models_asked() == ["router", "math", "writing"]


def test_a_server_killed_mid_run_leaves_the_thread_resumable(make_settings):
    server = FakeModelServer("--die-on", "writing")
    settings = make_settings(server.url)
    try:
        with pytest.raises(ServingError) as failure:
            ask(settings)
        assert server.url in str(failure.value) and "'writing'" in str(failure.value)
        assert not server.alive()
        assert status(settings) == ("unfinished", ("writing",))

        server.restart()  # back on the same port, without the fault
        summary = ask(settings, question=None)
        assert finished(summary)
        assert server.models_asked() == ["writing"]  # the router and math did not run again
        assert status(settings) == ("done", ())
    finally:
        server.kill()


def test_a_server_killed_mid_run_fails_over_to_the_second(make_settings):
    with FakeModelServer("--die-on", "writing") as dying, FakeModelServer() as second:
        summary = ask(make_settings(dying.url, second.url))
        assert finished(summary)
        assert not dying.alive()
        assert second.models_asked() == ["writing"]


def test_with_every_server_down_the_run_names_them_and_resumes_once_one_is_back(make_settings):
    first, second = dead_url(), dead_url()
    settings = make_settings(first, second)
    with pytest.raises(ServingError) as failure:
        ask(settings)
    message = str(failure.value)
    assert first in message and second in message and "not reachable" in message
    assert status(settings) == ("unfinished", ("supervisor",))

    port = int(second.rsplit(":", 1)[1].split("/")[0])
    with FakeModelServer(port=port) as back:
        summary = ask(settings, question=None)
        assert finished(summary)
        assert back.models_asked() == ["router", "math", "writing"]


def test_a_missing_adapter_falls_back_to_the_base_model(make_settings):
    with FakeModelServer("--models", "base,router,writing") as server:
        with open_checkpointer(settings := make_settings(server.url)) as saver:
            values = build(saver, None, settings).invoke({"messages": [HumanMessage(QUESTION)]}, thread_config("t1"))
        assert values["fallbacks"] == ["math"]
        assert values["results"]["math-1"]["model"] == "base"
        assert [(r["model"], r["status"]) for r in server.requests()][1:4] == [("math", 404), ("tools", 404), ("base", 200)]


def test_a_missing_adapter_falls_back_to_the_tools_adapter_first(make_settings):
    with FakeModelServer("--models", "base,router,writing,tools") as server:
        with open_checkpointer(settings := make_settings(server.url)) as saver:
            values = build(saver, None, settings).invoke({"messages": [HumanMessage(QUESTION)]}, thread_config("t1"))
        assert values["fallbacks"] == ["math"]
        assert values["results"]["math-1"]["model"] == "tools"
        assert [(r["model"], r["status"]) for r in server.requests()][1:3] == [("math", 404), ("tools", 200)]


def test_a_missing_adapter_without_fallback_is_a_clear_error(make_settings):
    with FakeModelServer("--models", "base,router,writing") as server:
        settings = make_settings(server.url, graph={"fallback_to_base": False})
        with pytest.raises(ServingError) as failure:
            ask(settings)
        assert "'math'" in str(failure.value) and "not served" in str(failure.value)
        assert "base" not in server.models_asked()


def test_configured_servers_are_checked_and_never_started_here(make_settings, tmp_path):
    from agentgraph.serving.runtime import ensure_server

    assert Settings().server.is_local and Settings(server={"urls": ["http://127.0.0.1:8765/v1"]}).server.is_local
    assert not Settings(server={"urls": ["http://gpu-host:8000/v1"]}).server.is_local

    registry = tmp_path / "registry.toml"
    registry.write_text('[adapters.math]\npath = "math"\nrank = 8\nbase_model_hash = "h"\n')
    stopped = FakeModelServer()
    stopped.kill()
    with FakeModelServer() as running:
        settings = make_settings(stopped.url, running.url).model_copy(update={"registry_path": registry})
        info = ensure_server(settings, show_progress=False)
        assert info.url == running.url and {"base", "math"} <= set(info.models) and info.pid is None
    with pytest.raises(ServingError, match=r"no server of server.urls answers .*unset server.urls"):
        ensure_server(settings, show_progress=False)
    with FakeModelServer("--models", "base,router") as partial:
        with pytest.raises(ServingError, match=rf"the server at {partial.url} does not serve math"):
            ensure_server(make_settings(partial.url).model_copy(update={"registry_path": registry}), show_progress=False)
