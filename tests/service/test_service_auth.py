"""API keys of the HTTP service, on SQLite and PostgreSQL: 401 without a valid key, threads owned by the key
that made them (404 for others, admins see all), approvals need the approver role (403), runs per minute
per key (429), the audit names the key, and only the key's digest is stored."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from agentgraph.apikeys import ApiKeys
from agentgraph.audit import AuditLog
from agentgraph.cli import app
from agentgraph.db import make_engine, upgrade
from agentgraph.settings import Settings, get_settings
from tests.model_server import FakeModelServer
from tests.service.conftest import ADMIN, ADMIN_TOKEN, bearer, running_service
from tests.service.test_service_api import approval_graph, ask, create


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path) -> str:
    """A migrated database: a SQLite file of its own, or the session's PostgreSQL database."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    return url


@pytest.fixture
def keys(database: str) -> Iterator[ApiKeys]:
    engine = make_engine(database)
    yield ApiKeys(engine)
    engine.dispose()


@pytest.fixture
def new_key(keys: ApiKeys) -> Callable[..., tuple[str, str]]:
    """A new key of `role` with a unique name: (name, token)."""

    def make(role: str = "user", runs_per_minute: int | None = None) -> tuple[str, str]:
        info, token = keys.create(f"{role}-{uuid.uuid4().hex[:8]}", role, runs_per_minute)
        return info.name, token

    return make


def settings_for(database: str, *urls: str, **service: Any) -> Settings:
    return Settings(
        database_url=database,
        server={"urls": list(urls), "max_retries": 0, "request_timeout_s": 30.0},
        service={"bootstrap_admin_key": ADMIN_TOKEN, **service},
    )


def test_no_key_or_a_wrong_key_gets_401_and_health_needs_none(database, model_server, new_key, caplog):
    _, token = new_key("user")
    wrong = "agk_" + "x" * 43
    caplog.set_level(logging.DEBUG)
    with running_service(settings_for(database, model_server.url)) as base, httpx.Client(timeout=60) as client:
        thread_id = client.post(f"{base}/threads", headers=bearer(token)).json()["thread_id"]
        requests = [
            ("POST", "/threads", None),
            ("POST", f"/threads/{thread_id}/runs", {"question": "What is 6 * 7?"}),
            ("GET", f"/threads/{thread_id}/state", None),
            ("GET", f"/threads/{thread_id}/history", None),
        ]
        for method, path, body in requests:
            for headers in ({}, bearer(wrong), {"authorization": f"Basic {token}"}, {"authorization": "Bearer"}):
                response = client.request(method, base + path, json=body, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
        assert "API key" in client.get(f"{base}/threads/{thread_id}/state").json()["detail"]
        assert client.get(f"{base}/healthz").status_code == 200
        assert client.get(f"{base}/threads/{thread_id}/state", headers=bearer(token)).json()["status"] == "new"
    assert model_server.requests() == []  # nothing ran
    assert token not in caplog.text and wrong not in caplog.text and ADMIN_TOKEN not in caplog.text


def test_a_thread_of_another_key_is_404_and_an_admin_sees_every_thread(database, model_server, new_key):
    (_, alice), (_, bob) = new_key("user"), new_key("approver")
    with running_service(settings_for(database, model_server.url)) as base, httpx.Client(timeout=60) as client:
        mine = client.post(f"{base}/threads", headers=bearer(alice)).json()["thread_id"]
        done = client.post(f"{base}/threads/{mine}/runs", json={"question": "What is 6 * 7?"}, headers=bearer(alice))
        assert done.status_code == 200 and done.json()["status"] == "done"

        unknown = client.get(f"{base}/threads/no-such-thread/state", headers=bearer(bob))
        assert unknown.status_code == 404
        for response in (
            client.get(f"{base}/threads/{mine}/state", headers=bearer(bob)),
            client.get(f"{base}/threads/{mine}/history", headers=bearer(bob)),
            client.post(f"{base}/threads/{mine}/runs", json={"question": "And 7 * 8?"}, headers=bearer(bob)),
        ):
            assert response.status_code == 404
            assert response.json()["detail"] == unknown.json()["detail"].replace("no-such-thread", mine)

        seen = client.get(f"{base}/threads/{mine}/state", headers=ADMIN)
        assert seen.status_code == 200 and seen.json()["answer"] == done.json()["answer"]
        assert len(client.get(f"{base}/threads/{mine}/history", headers=ADMIN).json()) > 1
        again = client.post(f"{base}/threads/{mine}/runs", json={"question": "And 7 * 8?"}, headers=ADMIN)
        assert again.status_code == 200 and "7 * 8" in again.json()["answer"]
        # the admin's run did not take the thread: its owner still reads it, the other key still cannot
        assert client.get(f"{base}/threads/{mine}/state", headers=bearer(alice)).status_code == 200
        assert client.get(f"{base}/threads/{mine}/state", headers=bearer(bob)).status_code == 404


def test_answering_an_approval_needs_the_approver_role_and_the_audit_names_the_key(database, new_key):
    user_name, user = new_key("user")
    approver_name, approver = new_key("approver")
    script = ("--handoffs", "retrieval,writing", "--tool-call", "retrieval:search:query")
    with FakeModelServer(*script) as server, running_service(settings_for(database, server.url), approval_graph) as base:
        with httpx.Client(timeout=60) as client:
            threads = {}
            for token in (user, approver):
                thread_id = client.post(f"{base}/threads", headers=bearer(token)).json()["thread_id"]
                waiting = client.post(
                    f"{base}/threads/{thread_id}/runs", json={"question": "What is the capital of France?"}, headers=bearer(token)
                )
                assert waiting.json()["status"] == "waiting"
                threads[token] = thread_id

            refused = client.post(f"{base}/threads/{threads[user]}/runs", json={"resume": {"action": "approve"}}, headers=bearer(user))
            assert refused.status_code == 403
            assert "approver or admin role" in refused.json()["detail"] and user_name in refused.json()["detail"]
            assert client.get(f"{base}/threads/{threads[user]}/state", headers=bearer(user)).json()["status"] == "waiting"
            # an approver answers the approvals of its own threads, not of other keys' threads
            other = client.post(f"{base}/threads/{threads[user]}/runs", json={"resume": {"action": "approve"}}, headers=bearer(approver))
            assert other.status_code == 404

            own = client.post(f"{base}/threads/{threads[approver]}/runs", json={"resume": {"action": "approve"}}, headers=bearer(approver))
            assert own.status_code == 200 and own.json()["status"] == "done"
            by_admin = client.post(f"{base}/threads/{threads[user]}/runs", json={"resume": {"action": "reject"}}, headers=ADMIN)
            assert by_admin.status_code == 200 and by_admin.json()["status"] == "done"

    engine = make_engine(database)
    try:
        audit = AuditLog(engine)
        approved = [(row["tool"], row["outcome"], row["principal"]) for row in audit.rows(thread_id=threads[approver])]
        rejected = [(row["tool"], row["outcome"], row["principal"]) for row in audit.rows(thread_id=threads[user])]
    finally:
        engine.dispose()
    assert approved == [("search", "ok", approver_name)]
    assert rejected == [("search", "rejected", "bootstrap-admin")]


def test_a_revoked_key_gets_401(database, model_server, new_key, monkeypatch):
    name, token = new_key("user")
    with running_service(settings_for(database, model_server.url)) as base, httpx.Client(timeout=60, headers=bearer(token)) as client:
        thread_id = client.post(f"{base}/threads").json()["thread_id"]
        assert client.get(f"{base}/threads/{thread_id}/state").status_code == 200

        monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", database)
        get_settings.cache_clear()
        try:
            revoked = CliRunner().invoke(app, ["keys", "revoke", name])
            listed = CliRunner().invoke(app, ["keys", "list"])
        finally:
            get_settings.cache_clear()
        assert revoked.exit_code == 0 and f"API key {name!r}" in revoked.output and "revoked" in revoked.output
        (line,) = [line for line in listed.stdout.splitlines() if f" {name} " in line]
        assert " user " in line and line.split()[-1] != "-"  # listed with its revocation time

        for response in (client.get(f"{base}/threads/{thread_id}/state"), client.post(f"{base}/threads")):
            assert response.status_code == 401 and "unknown or revoked" in response.json()["detail"]
        assert client.get(f"{base}/threads/{thread_id}/state", headers=ADMIN).status_code == 200


def wait_for_a_fresh_minute(margin_s: float = 5.0) -> None:
    """Sleep past the next minute boundary if it is near (the run counts are per calendar minute)."""
    if time.time() % 60 > 60 - margin_s:
        time.sleep(60 - time.time() % 60 + 0.1)


def test_runs_past_a_keys_limit_get_429(database, model_server, new_key):
    _, limited = new_key("user", runs_per_minute=2)
    _, other = new_key("user")
    with running_service(settings_for(database, model_server.url, runs_per_minute=3)) as base, httpx.Client(timeout=60) as client:
        for token in (limited, other):
            thread_id = client.post(f"{base}/threads", headers=bearer(token)).json()["thread_id"]
            wait_for_a_fresh_minute()
            # every run request counts, even one refused afterwards (an empty question: 422)
            codes = [
                client.post(f"{base}/threads/{thread_id}/runs", json={"question": " "}, headers=bearer(token)).status_code for _ in range(4)
            ]
            expected_runs = 2 if token == limited else 3  # the key's own limit, else service.runs_per_minute
            assert codes == [422] * expected_runs + [429] * (4 - expected_runs)
        refused = client.post(f"{base}/threads/{thread_id}/runs", json={"question": "What is 6 * 7?"}, headers=bearer(other))
        assert refused.status_code == 429 and "service.runs_per_minute" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # reading is not limited, and a third key has its own count
        assert client.get(f"{base}/threads/{thread_id}/state", headers=bearer(other)).status_code == 200
        _, third = new_key("user")
        client.headers.update(bearer(third))
        assert ask(client, base, create(client, base), "What is 6 * 7?").json()["status"] == "done"


def test_keys_are_stored_as_digests_and_the_bootstrap_key_once(database, model_server, new_key):
    name, token = new_key("approver")
    with running_service(settings_for(database, model_server.url)), running_service(settings_for(database, model_server.url)):
        pass  # two services started on one database store the bootstrap key once
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.text("SELECT * FROM ag_api_keys")).mappings()]
    finally:
        engine.dispose()
    stored = next(r for r in rows if r["name"] == name)
    assert stored["digest"] == hashlib.sha256(token.encode()).hexdigest() and stored["role"] == "approver"
    assert stored["prefix"] == token[:8] and len(token) >= 40
    assert not any(secret in str(value) for r in rows for value in r.values() for secret in (token, ADMIN_TOKEN))
    assert [r["role"] for r in rows if r["name"].startswith("bootstrap-admin")] == ["admin"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the server thread exits
def test_a_short_bootstrap_key_is_refused_without_showing_it(tmp_path, model_server, capfd):
    url = f"sqlite:///{tmp_path / 'short.db'}"
    upgrade(url)
    settings = Settings(database_url=url, server={"urls": [model_server.url]}, service={"bootstrap_admin_key": "short-secret"})
    with pytest.raises(RuntimeError, match="did not start"):
        with running_service(settings):
            pass
    logged = capfd.readouterr().err
    assert "service.bootstrap_admin_key: an API key given from outside needs at least 32 random characters" in logged
    assert "short-secret" not in logged


def test_the_keys_commands_name_what_is_wrong(database, monkeypatch):
    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", database)
    get_settings.cache_clear()
    name = f"ci-{uuid.uuid4().hex[:8]}"
    try:
        created = CliRunner().invoke(app, ["keys", "create", "--name", name, "--role", "admin"])
        again = CliRunner().invoke(app, ["keys", "create", "--name", name])
        bad_role = CliRunner().invoke(app, ["keys", "create", "--name", name + "x", "--role", "root"])
        missing = CliRunner().invoke(app, ["keys", "revoke", "nobody-" + name])
    finally:
        get_settings.cache_clear()
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("agk_") and len(token) == 47
    assert "exists already" in str(again.exception)
    assert "unknown role 'root'" in str(bad_role.exception)
    assert "no API key is named" in str(missing.exception)
