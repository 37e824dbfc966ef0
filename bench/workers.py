"""Load test of `agentgraph service`: N worker processes, many concurrent threads, one PostgreSQL database.

The model is replaced by `bench/fake_openai.py`, a scripted OpenAI-compatible server on loopback that
answers at once (the router hands each question to math and writing, the agents answer with one line).
What is measured is therefore the framework's own cost per graph step: HTTP in and out of the service,
the run lock, LangGraph, the OpenAI client and the checkpoint writes to PostgreSQL, not a model.

Each simulated user creates a thread and asks it `--runs-per-thread` questions, one after the other;
all threads run at once. Afterwards every thread's checkpoints are read back from the database with a
fresh saver: the count each run must have written, the ids the runs reported, the parent chain, and
that every checkpoint (subgraphs' included) loads. A global timeout turns a deadlock into a failure.

    .venv/bin/python bench/workers.py                  # 2 workers, 32 threads, 4 questions each
    .venv/bin/python bench/workers.py --workers 4 --threads 64

Writes bench/results/workers.json (and prints the details). Needs PostgreSQL at --postgres-server
(a database is created for the run and dropped after it) or an existing --database-url.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FAKE_SERVER = HERE / "fake_openai.py"
RESULTS = HERE / "results" / "workers.json"


@dataclass
class BenchConfig:
    """One load test."""

    workers: int = 2
    threads: int = 32
    runs_per_thread: int = 4
    timeout_s: float = 600.0
    """Everything (start-up, load, checks) must finish within this, or the bench fails as deadlocked."""
    solo_runs: int = 10
    """Questions one lone user asks before the load (not in the figures: the uncontended step cost)."""
    database_url: str | None = None
    """An existing database; default: a throw-away one on `postgres_server`."""
    postgres_server: str = "postgresql://postgres@127.0.0.1:5432"
    log_dir: Path | None = None


@dataclass
class RunRecord:
    thread_id: str
    index: int
    status_code: int
    latency_ms: float
    worker: str
    body: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


# --- processes ------------------------------------------------------------------------------------------


def start_fake_server(log_dir: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """The scripted model server on a free loopback port, and its /v1 URL."""
    proc = subprocess.Popen(
        [sys.executable, str(FAKE_SERVER), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=open(log_dir / "fake_openai.log", "w"),
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"the fake model server did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


BENCH_KEY = "agk_" + secrets.token_urlsafe(32)
"""The admin API key the service under test is started with (service.bootstrap_admin_key)."""
AUTH = {"authorization": f"Bearer {BENCH_KEY}"}


def service_env(database_url: str, model_url: str, log_dir: Path) -> dict[str, str]:
    """The environment of a service under test: its database and model server, the bench's API key with no
    run limit, no local config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGRAPH_")}
    empty = log_dir / "agentgraph.toml"
    empty.write_text("")
    env.update(
        AGENTGRAPH_CONFIG=str(empty),
        AGENTGRAPH_DATABASE_URL=database_url,
        AGENTGRAPH_SERVER__URLS=json.dumps([model_url]),
        AGENTGRAPH_SERVICE__BOOTSTRAP_ADMIN_KEY=BENCH_KEY,
        AGENTGRAPH_SERVICE__RUNS_PER_MINUTE=str(10**9),
    )
    return env


def start_service(workers: int, port: int, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    """`agentgraph service --workers N` in its own process group."""
    command = [
        sys.executable,
        "-c",
        "from agentgraph.cli import main; main()",
        "service",
        "--workers",
        str(workers),
        "--port",
        str(port),
        "--no-upgrade",
    ]
    log = open(log_dir / "service.log", "wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[Any], grace_s: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after `grace_s`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def wait_healthy(client: Any, base: str, proc: subprocess.Popen[Any], workers: int, deadline: float) -> set[str]:
    """Poll /healthz on fresh connections until every worker answered (or the deadline passes)."""
    import httpx

    seen: set[str] = set()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with code {proc.returncode} while starting")
        try:
            async with httpx.AsyncClient(timeout=5.0) as fresh:
                response = await fresh.get(f"{base}/healthz")
            if response.status_code == 200:
                seen.add(str(response.json()["pid"]))
                if len(seen) >= workers:
                    return seen
                continue
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.3)
    raise TimeoutError(f"only {len(seen)} of {workers} workers answered /healthz in time")


# --- load -------------------------------------------------------------------------------------------------


async def user(client: Any, base: str, runs: int, records: list[RunRecord], prefix: str) -> str:
    """One simulated user: a thread, then `runs` questions in turn."""
    created = await client.post(f"{base}/threads", json={"thread_id": f"{prefix}-{uuid.uuid4().hex[:12]}"})
    created.raise_for_status()
    thread_id = created.json()["thread_id"]
    for index in range(runs):
        question = f"Question {index + 1} of thread {thread_id}: what is {index + 2} * 7?"
        started = time.perf_counter()
        response = await client.post(f"{base}/threads/{thread_id}/runs", json={"question": question})
        latency = (time.perf_counter() - started) * 1000
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        records.append(RunRecord(thread_id, index, response.status_code, latency, response.headers.get("x-agentgraph-worker", "?"), body))
    return thread_id


async def load(base: str, threads: int, runs: int, prefix: str) -> tuple[list[str], list[RunRecord], float]:
    import httpx

    records: list[RunRecord] = []
    # A connection per request, as from many independent clients: each worker process accepts its
    # share of them (kept-alive connections would stay with whichever worker accepted them first).
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=0)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120.0, limits=limits, headers=AUTH) as client:
        thread_ids = await asyncio.gather(*(user(client, base, runs, records, prefix) for _ in range(threads)))
    return list(thread_ids), records, time.perf_counter() - started


# --- checks -----------------------------------------------------------------------------------------------


def root_checkpoints(saver: Any, thread_id: str) -> list[Any]:
    return list(saver.list({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}))


def check_threads(database_url: str, thread_ids: list[str], records: list[RunRecord], per_run: int) -> dict[str, Any]:
    """Read every thread back with a fresh saver; count missing and unreadable checkpoints."""
    from agentgraph.checkpoint import SQLAlchemySaver

    by_thread: dict[str, list[RunRecord]] = {}
    for record in records:
        by_thread.setdefault(record.thread_id, []).append(record)
    missing = corrupt = broken_links = 0
    checked = 0
    problems: list[str] = []
    with SQLAlchemySaver.from_conn_string(database_url) as saver:
        for thread_id in thread_ids:
            runs = sorted((r for r in by_thread.get(thread_id, []) if r.status_code == 200), key=lambda r: r.index)
            expected = 1 + per_run * len(runs)  # the empty checkpoint of POST /threads, then each run's
            try:
                found = root_checkpoints(saver, thread_id)
            except Exception as exc:  # an unreadable thread: all of its checkpoints count as lost
                corrupt += expected
                problems.append(f"{thread_id}: cannot list checkpoints: {exc}")
                continue
            ids = {item.config["configurable"]["checkpoint_id"] for item in found}
            if len(ids) < expected:
                missing += expected - len(ids)
                problems.append(f"{thread_id}: {len(ids)} checkpoints, expected {expected}")
            for run in runs:
                if run.body.get("checkpoint_id") not in ids:
                    missing += 1
                    problems.append(f"{thread_id}: run {run.index} reported checkpoint {run.body.get('checkpoint_id')} which is not stored")
            for item in found:
                parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
                if parent is not None and parent not in ids:
                    broken_links += 1
                    problems.append(f"{thread_id}: parent {parent} of {item.config['configurable']['checkpoint_id']} is missing")
            every = list(saver.list({"configurable": {"thread_id": thread_id}}))
            for item in every:
                checked += 1
                configurable = item.config["configurable"]
                try:
                    loaded = saver.get_tuple(
                        {
                            "configurable": {
                                "thread_id": thread_id,
                                "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                                "checkpoint_id": configurable["checkpoint_id"],
                            }
                        }
                    )
                    if loaded is None or loaded.checkpoint["id"] != configurable["checkpoint_id"]:
                        raise LookupError("not found by id")
                except Exception as exc:
                    corrupt += 1
                    problems.append(f"{thread_id}: checkpoint {configurable['checkpoint_id']} does not load: {exc}")
            if runs:
                latest = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
                if latest is None or latest.checkpoint["id"] != runs[-1].body.get("checkpoint_id"):
                    missing += 1
                    problems.append(f"{thread_id}: the latest checkpoint is not the last run's")
                elif latest.checkpoint["channel_values"].get("answer") != runs[-1].body.get("answer"):
                    corrupt += 1
                    problems.append(f"{thread_id}: the stored answer differs from the one the last run returned")
    return {
        "lost": missing + corrupt + broken_links,
        "missing": missing,
        "corrupt": corrupt,
        "broken_links": broken_links,
        "checked": checked,
        "problems": problems[:20],
    }


# --- the bench --------------------------------------------------------------------------------------------


def run_bench(config: BenchConfig) -> dict[str, Any]:
    """Run the load test; the result figures plus details."""
    import psycopg

    from agentgraph.db import upgrade

    log_dir = config.log_dir or Path(tempfile.mkdtemp(prefix="agentgraph-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + config.timeout_s
    created_db = None
    database_url = config.database_url
    if database_url is None:
        created_db = f"agentgraph_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"{config.postgres_server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{created_db}"')
        database_url = f"{config.postgres_server}/{created_db}"
    fake = service = None
    try:
        upgrade(database_url)
        fake, model_url = start_fake_server(log_dir)
        port = free_port()
        service = start_service(config.workers, port, service_env(database_url, model_url, log_dir), log_dir)
        base = f"http://127.0.0.1:{port}"
        try:
            result = asyncio.run(asyncio.wait_for(_drive(config, base, service, deadline), max(1.0, deadline - time.monotonic())))
        except TimeoutError:
            raise RuntimeError(f"the bench did not finish within {config.timeout_s:.0f} s (deadlock or stall); logs in {log_dir}") from None
        stop(service)
        service_code = service.returncode
        checks = check_threads(
            database_url,
            result["solo_thread_ids"] + result["thread_ids"],
            result["solo_records"] + result["records"],
            result["per_run"],
        )
    finally:
        for proc in (service, fake):
            if proc is not None:
                stop(proc)
        if created_db is not None:
            with psycopg.connect(f"{config.postgres_server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)')

    solo = [r.latency_ms / result["per_run"] for r in result["solo_records"] if r.status_code == 200]
    records: list[RunRecord] = result["records"]
    finished = [r for r in records if r.status_code == 200 and r.body.get("status") == "done"]
    per_step = [r.latency_ms / result["per_run"] for r in finished]
    return {
        "workers": config.workers,
        "threads": config.threads,
        "runs": len(finished),
        "lost_checkpoints": checks["lost"],
        "p50_ms_per_step": round(percentile(per_step, 50), 2),
        "p99_ms_per_step": round(percentile(per_step, 99), 2),
        "details": {
            "runs_expected": config.threads * config.runs_per_thread,
            "failed_runs": dict(Counter(r.status_code for r in records if r not in finished)),
            "steps_per_run": result["per_run"],
            "runs_per_worker": dict(Counter(r.worker for r in finished)),
            "workers_seen_at_start": len(result["workers_seen"]),
            "wall_s": round(result["wall_s"], 2),
            "runs_per_s": round(len(finished) / result["wall_s"], 2) if result["wall_s"] else None,
            "solo_p50_ms_per_step": round(percentile(solo, 50), 2),
            "worker_cpu_ms_per_step": round(result["worker_cpu_s"] * 1000 / (len(finished) * result["per_run"]), 2) if finished else None,
            "p50_ms_per_run": round(percentile([r.latency_ms for r in finished], 50), 1),
            "p99_ms_per_run": round(percentile([r.latency_ms for r in finished], 99), 1),
            "checkpoints_checked": checks["checked"],
            "missing": checks["missing"],
            "corrupt": checks["corrupt"],
            "broken_links": checks["broken_links"],
            "problems": checks["problems"],
            "service_exit_code": service_code,
            "logs": str(log_dir),
        },
    }


async def _drive(config: BenchConfig, base: str, service: subprocess.Popen[Any], deadline: float) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(timeout=60.0, headers=AUTH) as client:
        workers_seen = await wait_healthy(client, base, service, config.workers, deadline)
        # Warm-up (not measured): every worker imports and connects on its first runs; a lone run also
        # tells how many checkpoints one question writes.
        warm_threads, warm_records, _ = await load(base, 2 * config.workers, 1, "warmup")
        if any(r.status_code != 200 for r in warm_records):
            bad = next(r for r in warm_records if r.status_code != 200)
            raise RuntimeError(f"a warm-up run failed with HTTP {bad.status_code}: {bad.body}")
        history = (await client.get(f"{base}/threads/{warm_threads[0]}/history")).json()
        per_run = len(history) - 1
    # One user alone first: the cost of a step without contention, for comparison.
    solo_threads, solo_records, _ = await load(base, 1, config.solo_runs, "solo")
    cpu_before = cpu_seconds(workers_seen)
    thread_ids, records, wall_s = await load(base, config.threads, config.runs_per_thread, "bench")
    cpu_used = cpu_seconds(workers_seen) - cpu_before
    return {
        "thread_ids": thread_ids,
        "records": records,
        "solo_thread_ids": solo_threads,
        "solo_records": solo_records,
        "wall_s": wall_s,
        "per_run": per_run,
        "workers_seen": workers_seen,
        "worker_cpu_s": cpu_used,
    }


def cpu_seconds(pids: set[str]) -> float:
    """CPU time (user + system) the processes used so far; NaN where /proc cannot tell."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def write_results(report: dict[str, Any], path: Path = RESULTS) -> None:
    """The figures, exactly as the results file keeps them."""
    keys = ("workers", "threads", "runs", "lost_checkpoints", "p50_ms_per_step", "p99_ms_per_step")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: report[key] for key in keys}, indent=2) + "\n")


MARKDOWN = RESULTS.with_suffix(".md")


def write_markdown(report: dict[str, Any], load: tuple[float, float], path: Path = MARKDOWN) -> None:
    """A short account of the run next to the figures."""
    d = report["details"]
    per_worker = ", ".join(str(n) for n in sorted(d["runs_per_worker"].values(), reverse=True))
    path.write_text(
        f"""# Service workers under load

Produced by `bench/workers.py` (figures in `workers.json`): `agentgraph service --workers {report["workers"]}`
over one PostgreSQL database, {report["threads"]} simulated users at once, each creating a thread and asking
it {d["runs_expected"] // report["threads"]} questions in turn, on loopback. The model is `bench/fake_openai.py`, a scripted
OpenAI-compatible server that answers at once (router: hand to math and writing; agents: one line), so
the figures are the framework's own cost per graph step: HTTP in and out of the service, the per-thread
run lock, LangGraph, the OpenAI client and the checkpoint writes, not a model's. A question takes
{d["steps_per_run"]} steps (checkpoints of the root graph); ms per step is a run's latency divided by that.

| measure | value |
| --- | --- |
| runs finished / expected | {report["runs"]} / {d["runs_expected"]} (runs per worker: {per_worker}) |
| lost checkpoints (missing, unreadable or unlinked) | {report["lost_checkpoints"]} of {d["checkpoints_checked"]} checked |
| ms per step, p50 / p99, {report["threads"]} users at once | {report["p50_ms_per_step"]} / {report["p99_ms_per_step"]} |
| ms per step, p50, one user alone | {d["solo_p50_ms_per_step"]} |
| worker CPU ms per step | {d["worker_cpu_ms_per_step"]} |
| throughput | {d["runs_per_s"]} runs/s ({round(d["runs_per_s"] * d["steps_per_run"], 1)} steps/s) over {d["wall_s"]} s |

After the load the service is stopped and every thread is read back with a fresh saver: each run's
checkpoints must all be there (one for the new thread, then {d["steps_per_run"]} per question), the checkpoint id each run returned must be stored,
every parent link must resolve, every checkpoint (subgraphs' included) must load, and the latest
stored answer must be the one the last run returned. A global timeout turns a deadlock into a failure.

Reading the figures: with {report["threads"]} runs in flight on 2 CPU cores shared by the workers, PostgreSQL,
the fake model server, the load generator and other work (load average {load[0]:.1f} at the start,
{load[1]:.1f} at the end), the per-step latency under load is mostly waiting for a core; the lone user's
figure and the workers' CPU time per step are the framework's cost. Figures move from run to run.
"""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load test of agentgraph service over one PostgreSQL database.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--runs-per-thread", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0, help="global timeout in seconds")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    config = BenchConfig(
        workers=args.workers,
        threads=args.threads,
        runs_per_thread=args.runs_per_thread,
        timeout_s=args.timeout,
        database_url=args.database_url,
        postgres_server=args.postgres_server,
    )
    load_before = os.getloadavg()[0]
    report = run_bench(config)
    print(json.dumps(report, indent=2))
    write_results(report, args.out)
    if args.out == RESULTS:
        write_markdown(report, (load_before, os.getloadavg()[0]))
    ok = report["lost_checkpoints"] == 0 and report["runs"] == report["details"]["runs_expected"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
