"""The service on SQLite: one worker, guarded in-process; `agentgraph service` refuses several workers."""

from __future__ import annotations

import threading

import httpx
from typer.testing import CliRunner

from agentgraph.cli import app
from agentgraph.errors import ConfigError
from agentgraph.settings import Settings
from tests.service.conftest import ADMIN, ADMIN_TOKEN, running_service
from tests.service.test_service_api import ask, create, wait_until


def test_one_sqlite_worker_refuses_a_second_run_of_a_busy_thread(model_server, tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'service.db'}",
        server={"urls": [model_server.url], "max_retries": 0},
        service={"bootstrap_admin_key": ADMIN_TOKEN},
    )
    from agentgraph.db import upgrade

    upgrade(settings.database_url)
    with running_service(settings) as base, httpx.Client(timeout=60, headers=ADMIN) as client:
        thread_id = create(client, base)
        model_server.control(hold=True)
        outcome: dict[str, httpx.Response] = {}
        runner = threading.Thread(target=lambda: outcome.setdefault("run", ask(client, base, thread_id, "First?")))
        runner.start()
        try:
            wait_until(lambda: model_server.waiting() == 1)
            busy = ask(client, base, thread_id, "Second?")
            assert busy.status_code == 409 and "in progress" in busy.json()["detail"]
        finally:
            model_server.control(hold=False)
            runner.join(60)
        assert outcome["run"].status_code == 200 and outcome["run"].json()["status"] == "done"
        assert ask(client, base, thread_id, "Second?").json()["status"] == "done"


def test_several_workers_on_sqlite_are_refused(tmp_path, monkeypatch):
    from agentgraph.settings import get_settings

    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["service", "--workers", "2", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, ConfigError)
    assert "PostgreSQL" in str(result.exception)
    assert not (tmp_path / "service.db").exists()  # refused before touching the database
