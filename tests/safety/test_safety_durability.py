"""Workers killed with SIGKILL at random points of a run: another process finishes the thread, and no
side-effecting tool call takes effect twice.

Each trial starts a run in a forked worker, kills it after a random delay, then resumes the thread in
new processes (again killed at random now and then) until it has finished. Forked workers start in
milliseconds, so the trials run several at a time; one more trial resumes through the
`agentgraph run --thread` command (SQLite, the command's default database). `DURABILITY_TRIALS` sets the number of trials per backend.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph

import safety_durable_graph as trial_graph
from agentgraph.checkpoint import SQLAlchemySaver
from agentgraph.db import upgrade
from agentgraph.db.shared import shared_engine
from agentgraph.idempotency import ToolResults
from agentgraph.settings import Settings
from agentgraph.threads import ThreadError, current_state, thread_config, thread_status
from safety_support import audit_rows

TRIALS = int(os.environ.get("DURABILITY_TRIALS", "30"))
AT_ONCE = {"sqlite": 3, "postgresql": 6}
"""Workers running at once: SQLite has one writer at a time, PostgreSQL waits mostly on commits."""
HERE = Path(__file__).resolve().parent
GRAPH = f"{HERE / 'safety_durable_graph.py'}:build"
AGENTGRAPH = Path(sys.executable).parent / "agentgraph"


def finish_thread(url: str, tag: str, marks: Path) -> None:
    """Start the trial's run, or resume it where it stopped; a thread that never got a checkpoint starts over.

    Leaves marks for the parent: `.started` once this worker has written a checkpoint (kill delays count
    from there, whatever the start-up and lock waits took), `.resumed` when it continues an unfinished
    thread, `.took` with the seconds from its first checkpoint to the end of the run.
    """
    with SQLAlchemySaver.from_conn_string(url) as saver:
        graph = trial_graph.build(saver, settings=Settings(database_url=url))
        try:
            status = thread_status(current_state(graph, tag))
            payload = None
        except ThreadError:
            status, payload = "new", {"messages": [HumanMessage(trial_graph.question(tag))]}
        if status == "done":
            return
        if status == "unfinished":
            marks.with_suffix(".resumed").touch()
        first_checkpoint: list[float] = []
        put = saver.put

        def put_and_mark(*args: Any, **kwargs: Any) -> Any:
            written = put(*args, **kwargs)
            if not first_checkpoint:
                first_checkpoint.append(time.monotonic())
                marks.with_suffix(".started").touch()
            return written

        saver.put = put_and_mark  # type: ignore[method-assign]
        graph.invoke(payload, thread_config(tag))
        marks.with_suffix(".took").write_text(str(time.monotonic() - first_checkpoint[0]))


def fork(work: Callable[[], None], errors: Path) -> int:
    """Run `work` in a forked process; its traceback goes to `errors` if it fails."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        work()
    except BaseException:
        errors.write_text(traceback.format_exc())
        code = 1
    os._exit(code)


@dataclass
class Trial:
    tag: str
    kills: list[float]
    """Delays after which the successive workers are killed, counted from their first checkpoint."""
    finish: bool = True
    """Whether a last worker, not killed, runs after them."""
    workers: int = 0
    failures: list[str] = field(default_factory=list)

    def marks(self, folder: Path, worker: int) -> Path:
        """Where worker number `worker` of this trial leaves its marks (`finish_thread`)."""
        return folder / f"{self.tag}-{worker}.mark"

    def resumed(self, folder: Path) -> bool:
        """Whether one of its workers continued an unfinished thread."""
        return any(self.marks(folder, n).with_suffix(".resumed").exists() for n in range(self.workers))


@dataclass
class _Running:
    trial: Trial
    delay: float | None
    marks: Path
    kill_at: float | None = None


def run_trials(url: str, trials: list[Trial], folder: Path) -> None:
    """Run the trials several at a time, each worker after the previous one of its trial has exited."""
    queue, running = list(trials), {}  # pid -> _Running
    at_once = AT_ONCE[url.split(":", 1)[0]]
    try:
        while queue or running:
            while queue and len(running) < at_once:
                trial = queue.pop(0)
                marks = trial.marks(folder, trial.workers)
                delay = trial.kills[trial.workers] if trial.workers < len(trial.kills) else None
                pid = fork(lambda trial=trial, marks=marks: finish_thread(url, trial.tag, marks), marks.with_suffix(".err"))
                trial.workers += 1
                running[pid] = _Running(trial, delay, marks)
            now = time.monotonic()
            for pid, worker in running.items():
                if worker.delay is not None and worker.kill_at is None and worker.marks.with_suffix(".started").exists():
                    worker.kill_at = now + worker.delay
                if worker.kill_at is not None and now >= worker.kill_at:
                    os.kill(pid, signal.SIGKILL)
                    worker.delay = worker.kill_at = None
            pid, status = os.waitpid(-1, os.WNOHANG)
            if not pid:
                time.sleep(0.002)
                continue
            worker = running.pop(pid)
            trial = worker.trial
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
                trial.failures.append(worker.marks.with_suffix(".err").read_text())
            elif trial.workers < len(trial.kills) or (trial.finish and trial.workers == len(trial.kills)):
                queue.append(trial)
    finally:
        for pid in running:  # only when the loop itself failed
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def check_trial(url: str, tag: str, ledger: trial_graph.Ledger, graph: CompiledStateGraph) -> None:
    """The thread finished with the right answer; each of its two side effects happened exactly once."""
    state = current_state(graph, tag)
    assert thread_status(state) == "done", tag
    assert state.values["answer"] == trial_graph.expected_answer(tag)
    lines = [(call_id, text) for call_id, text in ledger.lines() if text.startswith(f"{tag} ")]
    assert sorted(text for _, text in lines) == [f"{tag} A", f"{tag} B"], lines
    messages = state.values["transcripts"]["clerk-1"]["messages"]
    called = {c["id"]: c["args"]["text"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    assert {call_id: text for call_id, text in lines} == called  # the effects are those of the calls the thread kept
    replies = [m for m in messages if isinstance(m, ToolMessage)]
    assert [m.text for m in replies] == [f"recorded {tag} A", f"recorded {tag} B"]
    results = ToolResults(shared_engine(url))
    invoked = Counter(call_id for call_id, _ in ledger.invoked())
    for call_id in called:
        record = results.get(tag, call_id)
        assert record is not None and record["status"] == "done"
        assert invoked[call_id] <= record["attempts"]  # the tool only ever ran under a claim


@contextmanager
def trial_graph_on(url: str) -> Iterator[CompiledStateGraph]:
    """The trial graph on a saver of `url`, to read the threads the trials left."""
    with SQLAlchemySaver.from_conn_string(url) as saver:
        yield trial_graph.build(saver, settings=Settings(database_url=url))


def calibrate(url: str, folder: Path) -> float:
    """How long a run lasts after its first checkpoint in a forked worker here, now, with as many running
    at once as in the trials."""
    at_once = AT_ONCE[url.split(":", 1)[0]]
    runs = [Trial(f"calibration-{os.urandom(4).hex()}", [], finish=False) for _ in range(at_once)]
    run_trials(url, runs, folder)
    return max(float(run.marks(folder, 0).with_suffix(".took").read_text()) for run in runs)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request, tmp_path: Path) -> str:
    """A migrated database of each backend, and the ledger file of the trial graph."""
    url = f"sqlite:///{tmp_path / 'durable.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    if request.param == "sqlite":
        upgrade(url)
    trial_graph.LEDGER_PATH = tmp_path / "ledger.txt"
    yield url
    trial_graph.LEDGER_PATH = None


def test_killed_workers_are_finished_by_other_processes(backend, tmp_path):
    url, rng = backend, random.Random(os.environ.get("DURABILITY_SEED", "agentgraph"))
    run_id = os.urandom(4).hex()
    span = calibrate(url, tmp_path)
    trials = [
        Trial(f"t{run_id}-{i}", [rng.uniform(0, span)] + ([rng.uniform(0, span)] if rng.random() < 0.3 else [])) for i in range(TRIALS)
    ]
    run_trials(url, trials, tmp_path)

    assert [t.failures for t in trials if t.failures] == []
    resumed = [t for t in trials if t.resumed(tmp_path)]
    assert len(resumed) >= len(trials) // 3, len(resumed)  # most kills land inside a run, not before or after it
    ledger = trial_graph.ledger()
    with trial_graph_on(url) as graph:
        for trial in trials:
            check_trial(url, trial.tag, ledger, graph)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_run_killed_then_resumed_by_the_command_line(backend, tmp_path):
    tag = f"cli{os.urandom(4).hex()}"
    span = calibrate(url := backend, tmp_path)
    run_trials(url, [Trial(tag, [span / 2], finish=False)], tmp_path)  # killed mid-run
    env = {**os.environ, "AGENTGRAPH_DATABASE_URL": url, "SAFETY_LEDGER": str(trial_graph.LEDGER_PATH), "PYTHONPATH": str(HERE)}
    args = [str(AGENTGRAPH), "run", "--thread", tag, "--json", "--graph", GRAPH]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode and "unknown thread" in done.stderr:  # killed before its first checkpoint: ask again
        done = subprocess.run([*args[:2], trial_graph.question(tag), *args[2:]], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode and "has finished" in done.stderr:  # the first worker was quicker than its kill
        done = subprocess.CompletedProcess(args, 0, "", "")
    assert done.returncode == 0, done.stderr
    with trial_graph_on(url) as graph:
        check_trial(url, tag, trial_graph.ledger(), graph)


@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent-tool", "plain-tool"])
def test_a_worker_killed_between_the_effect_and_its_record(settings, tmp_path, monkeypatch, idempotent):
    """The worker dies right after the tool took effect, before its result is recorded: the call is in
    doubt. A tool that dedupes on the call id is run again; any other is not, and the reply says so."""
    from agentgraph import tool_policy

    url, tag = settings.database_url, "doubt"
    upgrade(url)
    monkeypatch.setattr(trial_graph, "LEDGER_PATH", tmp_path / "ledger.txt")
    monkeypatch.setattr(trial_graph, "IDEMPOTENT", idempotent)
    real_run = tool_policy.run_tool

    def run_then_die(tool, call):
        reply = real_run(tool, call)
        if call["args"].get("text") == f"{tag} A":
            os.kill(os.getpid(), signal.SIGKILL)
        return reply

    def first_worker() -> None:
        tool_policy.run_tool = run_then_die
        finish_thread(url, tag, tmp_path / "first.mark")

    pid = fork(first_worker, tmp_path / "first.err")
    assert os.waitpid(pid, 0)[1] == signal.SIGKILL
    pid = fork(lambda: finish_thread(url, tag, tmp_path / "second.mark"), tmp_path / "second.err")
    assert os.waitpid(pid, 0)[1] == 0, (tmp_path / "second.err").read_text() if (tmp_path / "second.err").exists() else ""

    ledger = trial_graph.ledger()
    assert sorted(text for _, text in ledger.lines()) == [f"{tag} A", f"{tag} B"]  # took effect once
    with trial_graph_on(url) as graph:
        state = current_state(graph, tag)
    assert thread_status(state) == "done"
    first_reply = next(m for m in state.values["transcripts"]["clerk-1"]["messages"] if isinstance(m, ToolMessage))
    if idempotent:
        assert first_reply.text == f"recorded {tag} A"
        assert [text for _, text in ledger.invoked()].count(f"{tag} A") == 2
    else:
        assert first_reply.status == "error" and "may already have run" in first_reply.text
        assert [text for _, text in ledger.invoked()].count(f"{tag} A") == 1


def test_a_worker_killed_after_the_record_replays_it(settings, tmp_path, monkeypatch):
    """The worker dies after the result was recorded, before the checkpoint: the resumed call is answered
    from the record, and the tool does not run again."""
    from agentgraph import idempotency

    url, tag = settings.database_url, "replay"
    upgrade(url)
    monkeypatch.setattr(trial_graph, "LEDGER_PATH", tmp_path / "ledger.txt")
    monkeypatch.setattr(trial_graph, "IDEMPOTENT", False)
    real_record = idempotency.ToolResults.record

    def record_then_die(self, thread_id, tool_call_id, content, status):
        real_record(self, thread_id, tool_call_id, content, status)
        os.kill(os.getpid(), signal.SIGKILL)

    def first_worker() -> None:
        idempotency.ToolResults.record = record_then_die
        finish_thread(url, tag, tmp_path / "first.mark")

    pid = fork(first_worker, tmp_path / "first.err")
    assert os.waitpid(pid, 0)[1] == signal.SIGKILL
    pid = fork(lambda: finish_thread(url, tag, tmp_path / "second.mark"), tmp_path / "second.err")
    assert os.waitpid(pid, 0)[1] == 0

    ledger = trial_graph.ledger()
    assert [text for _, text in ledger.invoked()] == [f"{tag} A", f"{tag} B"]  # A ran once, before the kill
    with trial_graph_on(url) as graph:
        check_trial(url, tag, ledger, graph)
    replayed = [r for r in audit_rows(settings, thread_id=tag) if r["replayed"]]
    assert [(r["tool"], r["outcome"]) for r in replayed] == [("record", "ok")]
