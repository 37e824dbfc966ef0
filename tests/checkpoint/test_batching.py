"""Group commit: concurrent saves and reads of the async saver leave together, and a batch that
fails hands each caller its own result or error."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

from agentgraph.checkpoint import AsyncSQLAlchemySaver, UnserializableValueError
from agentgraph.checkpoint.batching import GroupRunner

from .graphs import config


class Recorder:
    """A batch runner that remembers the batches it ran and fails on items named "bad"."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.alone: list[str] = []

    async def run_batch(self, items: list[str]) -> list[str]:
        self.batches.append(items)
        await asyncio.sleep(0.01)
        if "bad" in items:
            raise RuntimeError("one item spoils the batch")
        return [item.upper() for item in items]

    async def run_one(self, item: str) -> str:
        self.alone.append(item)
        await asyncio.sleep(0)
        if item == "bad":
            raise ValueError("bad item")
        return item.upper()


async def test_concurrent_items_leave_in_few_batches_with_their_own_results() -> None:
    recorder = Recorder()
    runner = GroupRunner(recorder.run_batch, recorder.run_one, max_inflight=1)
    items = [f"item{i}" for i in range(20)]
    results = await asyncio.gather(*(runner.submit(item) for item in items))
    assert results == [item.upper() for item in items]
    assert len(recorder.batches) + len(recorder.alone) < len(items)
    assert sorted(sum(recorder.batches, []) + recorder.alone) == sorted(items)


async def test_max_batch_caps_a_batch() -> None:
    recorder = Recorder()
    runner = GroupRunner(recorder.run_batch, recorder.run_one, max_batch=4, max_inflight=1)
    await asyncio.gather(*(runner.submit(f"i{k}") for k in range(10)))
    assert max(len(batch) for batch in recorder.batches) == 4


async def test_a_lone_item_runs_at_once_by_itself() -> None:
    recorder = Recorder()
    runner = GroupRunner(recorder.run_batch, recorder.run_one)
    assert await runner.submit("only") == "ONLY"
    assert recorder.batches == [] and recorder.alone == ["only"]


async def test_a_failed_batch_is_retried_item_by_item() -> None:
    recorder = Recorder()
    runner = GroupRunner(recorder.run_batch, recorder.run_one, max_inflight=1)
    outcomes = await asyncio.gather(*(runner.submit(item) for item in ("a", "bad", "c")), return_exceptions=True)
    assert outcomes[0] == "A" and outcomes[2] == "C"
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "bad item"
    assert sorted(recorder.alone) == ["a", "bad", "c"]


def test_runner_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupRunner(Recorder().run_batch, Recorder().run_one, max_batch=0)


# --- the async saver on real databases -------------------------------------------------------


def _checkpoint(step: int, messages: list[str], extra: Any = None) -> tuple[dict, dict]:
    base = empty_checkpoint()
    checkpoint = create_checkpoint(base, None, step)
    checkpoint["channel_values"] = {"messages": messages, "extra": extra or {"step": step}}
    versions = {"messages": f"{step + 1:012}.0", "extra": f"{step + 1:012}.0"}
    checkpoint["channel_versions"] = versions
    return checkpoint, versions


def _count_batches(saver: AsyncSQLAlchemySaver) -> list[int]:
    """The sizes of the batches `saver` runs from now on (filled as they run)."""
    sizes: list[int] = []
    original = saver._arun_many

    async def counting(plans, run):  # type: ignore[no-untyped-def]
        sizes.append(len(plans))
        return await original(plans, run)

    saver._arun_many = counting  # type: ignore[method-assign]
    return sizes


async def test_concurrent_threads_are_saved_in_batches_and_read_back(db_url: str) -> None:
    async with AsyncSQLAlchemySaver.from_conn_string(db_url, max_inflight=2) as saver:
        batch_sizes = _count_batches(saver)

        async def conversation(thread: str) -> None:
            parent = config(thread)
            messages: list[str] = []
            for step in range(4):
                messages = [*messages, f"{thread} says {step}"]
                checkpoint, versions = _checkpoint(step, messages)
                parent = await saver.aput(parent, checkpoint, {"source": "loop", "step": step}, versions)
                await saver.aput_writes(parent, [("messages", [f"pending {step}"])], task_id=f"task-{step}")
                latest = await saver.aget_tuple(config(thread))
                assert latest is not None
                assert latest.checkpoint["channel_values"]["messages"] == messages
                assert latest.pending_writes == [(f"task-{step}", "messages", [f"pending {step}"])]

        await asyncio.gather(*(conversation(f"thread-{i}") for i in range(12)))
        assert batch_sizes and max(batch_sizes) > 1
        history = [t async for t in saver.alist(config("thread-3"))]
        assert [t.metadata["step"] for t in history] == [3, 2, 1, 0]


async def test_a_bad_save_in_a_batch_fails_alone(db_url: str) -> None:
    lock = threading.Lock()  # cannot be serialized
    async with AsyncSQLAlchemySaver.from_conn_string(db_url, max_inflight=1) as saver:
        saves = []
        for i in range(3):
            checkpoint, versions = _checkpoint(0, ["hello"], extra={"lock": lock} if i == 1 else None)
            saves.append(saver.aput(config(f"save-{i}"), checkpoint, {"source": "loop", "step": 0}, versions))
        batch_sizes = _count_batches(saver)
        outcomes = await asyncio.gather(*saves, return_exceptions=True)
        assert batch_sizes == [3]
        assert isinstance(outcomes[1], UnserializableValueError)
        assert "extra" in str(outcomes[1])
        for i in (0, 2):
            assert not isinstance(outcomes[i], BaseException)
            found = await saver.aget_tuple(config(f"save-{i}"))
            assert found is not None and found.checkpoint["channel_values"]["messages"] == ["hello"]
        assert await saver.aget_tuple(config("save-1")) is None


def test_latest_reads_of_a_batch_each_get_their_own_thread(db_url: str) -> None:
    """On PostgreSQL the reads run as one statement; a repeated thread and an unknown one too."""
    from agentgraph.checkpoint import SQLAlchemySaver
    from agentgraph.checkpoint.base import RunOptions

    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        for name, messages in (("alpha", ["a1", "a2"]), ("beta", ["b1"])):
            checkpoint, versions = _checkpoint(len(messages), messages)
            saver.put(config(name), checkpoint, {"source": "loop", "step": len(messages)}, versions)
        threads = ["alpha", "beta", "alpha", "nobody"]
        plans = [lambda name=name: saver._get_tuple_plan(config(name)) for name in threads]
        with saver.engine.connect() as conn:
            found = [saver._finish(r) for r in saver._transaction_many(conn, plans, RunOptions(action="read"))]
        assert [t.checkpoint["channel_values"]["messages"] if t else None for t in found] == [
            ["a1", "a2"],
            ["b1"],
            ["a1", "a2"],
            None,
        ]
        assert (saver._latest_reads is not None) == db_url.startswith("postgresql")
