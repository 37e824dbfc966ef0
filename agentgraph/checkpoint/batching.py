"""Group commit: concurrent calls of one kind run together, as one batch on one connection.

A call that finds a free slot starts a batch at once (a lone caller waits for nothing); calls
that arrive while `max_inflight` batches run queue up and leave together in the next one. A batch
that fails as a whole is retried call by call, so each caller gets its own result or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_INFLIGHT", "GroupRunner"]

T = TypeVar("T")

DEFAULT_MAX_BATCH = 64
"""Most calls one batch takes."""

DEFAULT_MAX_INFLIGHT = 4
"""Most batches of one kind running at once (each on its own pooled connection)."""


class GroupRunner(Generic[T]):
    """Runs items submitted concurrently in batches: `run_batch(items)` returns one result per
    item; when it raises, each item of that batch goes through `run_one(item)` instead."""

    def __init__(
        self,
        run_batch: Callable[[list[T]], Awaitable[list[Any]]],
        run_one: Callable[[T], Awaitable[Any]],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
    ) -> None:
        if max_batch < 1 or max_inflight < 1:
            raise ValueError("max_batch and max_inflight must be at least 1")
        self._run_batch = run_batch
        self._run_one = run_one
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self._pending: list[tuple[T, asyncio.Future[Any]]] = []
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> Any:
        """Run `item` in the next batch and return its result (or raise its error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((item, future))
        if self._inflight < self.max_inflight:
            self._inflight += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[Any]]] = []
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                if len(batch) == 1:
                    await self._settle_one(*batch[0])
                    continue
                try:
                    results = await self._run_batch([item for item, _ in batch])
                except Exception:
                    await asyncio.gather(*(self._settle_one(item, future) for item, future in batch))
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            batch = []
        except BaseException:
            # Cancelled (the loop is closing): nobody is left to run what waits.
            for _, future in batch + self._pending:
                future.cancel()
            self._pending.clear()
            raise
        finally:
            self._inflight -= 1

    async def _settle_one(self, item: T, future: asyncio.Future[Any]) -> None:
        try:
            result = await self._run_one(item)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(result)
