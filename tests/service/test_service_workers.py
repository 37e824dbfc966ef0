"""`agentgraph service --workers 2` over one PostgreSQL database under concurrent threads (bench/workers.py,
smaller), and the checkpoint check the bench relies on."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from agentgraph.db import make_engine
from tests.service.conftest import ADMIN, running_service

pytestmark = pytest.mark.postgres  # the service runs on PostgreSQL (a database of its own)


def test_two_workers_run_eight_threads_without_losing_a_checkpoint(bench, tmp_path):
    report = bench.run_bench(bench.BenchConfig(workers=2, threads=8, runs_per_thread=2, solo_runs=2, timeout_s=300, log_dir=tmp_path))

    assert report["details"]["workers_seen_at_start"] == 2  # two processes answered
    assert report["details"]["failed_runs"] == {}
    assert report["runs"] == 16
    assert report["lost_checkpoints"] == 0
    assert report["details"]["checkpoints_checked"] > 16 * report["details"]["steps_per_run"]


def test_the_check_counts_missing_and_unreadable_checkpoints(bench, model_server, make_settings, postgres_url):
    records = []
    with running_service(make_settings(model_server.url)) as base, httpx.Client(timeout=60, headers=ADMIN) as client:
        threads = [client.post(f"{base}/threads").json()["thread_id"] for _ in range(3)]
        for thread_id in threads:
            response = client.post(f"{base}/threads/{thread_id}/runs", json={"question": "What is 6 * 7?"})
            records.append(bench.RunRecord(thread_id, 0, response.status_code, 1.0, "", response.json()))
        per_run = len(client.get(f"{base}/threads/{threads[0]}/history").json()) - 1

    assert bench.check_threads(postgres_url, threads, records, per_run)["lost"] == 0

    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            # thread 0 loses one checkpoint from the middle of its chain
            conn.execute(
                sa.text(
                    "DELETE FROM ag_checkpoints WHERE thread_id = :t AND checkpoint_ns = '' AND checkpoint_id = "
                    "(SELECT checkpoint_id FROM ag_checkpoints WHERE thread_id = :t AND checkpoint_ns = '' "
                    "ORDER BY checkpoint_id LIMIT 1 OFFSET 3)"
                ),
                {"t": threads[0]},
            )
            # thread 1's stored values become garbage
            conn.execute(
                sa.text("UPDATE ag_checkpoint_blobs SET blob = 'not a value' WHERE thread_id = :t AND blob IS NOT NULL"), {"t": threads[1]}
            )
    finally:
        engine.dispose()

    checks = bench.check_threads(postgres_url, threads, records, per_run)
    assert checks["missing"] >= 1 and checks["broken_links"] >= 1
    assert checks["corrupt"] >= 1
    assert not any(threads[2] in problem for problem in checks["problems"])
