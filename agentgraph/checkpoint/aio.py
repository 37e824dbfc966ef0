"""`AsyncSQLAlchemySaver`: the LangGraph checkpoint saver on an async SQLAlchemy engine."""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from agentgraph.checkpoint.base import (
    DEFAULT_SNAPSHOT_EVERY,
    BaseSQLAlchemySaver,
    Plan,
    PruneResult,
    Retention,
    RunOptions,
)
from agentgraph.checkpoint.batching import DEFAULT_MAX_BATCH, DEFAULT_MAX_INFLIGHT, GroupRunner
from agentgraph.db.engine import aretry_busy, describe_error, make_async_engine, unreachable
from agentgraph.db.migrate import revisions_of, schema_problem, upgrade_connection
from agentgraph.errors import StorageError

__all__ = ["AsyncSQLAlchemySaver"]

T = TypeVar("T")


class AsyncSQLAlchemySaver(BaseSQLAlchemySaver):
    """Checkpoint saver on SQLite (aiosqlite) or PostgreSQL (psycopg) through an `AsyncEngine`.

    Calls take connections from the engine's pool: concurrent threads of a graph run in parallel,
    with no lock around the saver. Saves and latest-state reads that arrive together are grouped:
    up to `max_inflight` batches of each kind run at once, each on one connection, the saves of a
    batch in one transaction (one commit for all). Its sync methods may be called from other
    threads than the event loop's. Build the engine with `agentgraph.db.make_async_engine`.
    """

    engine: AsyncEngine

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        serde: SerializerProtocol | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        strict_types: bool | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
    ) -> None:
        super().__init__(engine, serde=serde, snapshot_every=snapshot_every, strict_types=strict_types)
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self._runners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bool, GroupRunner[Any]]] = weakref.WeakKeyDictionary()

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        setup: bool = False,
        serde: SerializerProtocol | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        strict_types: bool | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
        **engine_options: Any,
    ) -> AsyncIterator[AsyncSQLAlchemySaver]:
        """A saver on a new async engine for `conn_string`, disposed of on exit.

        The database must be reachable and, unless `setup` is true (migrate now), at the current
        schema or empty (then `await setup()` must be called before use).
        """
        engine = make_async_engine(conn_string, **engine_options)
        try:
            saver = cls(
                engine,
                serde=serde,
                snapshot_every=snapshot_every,
                strict_types=strict_types,
                max_batch=max_batch,
                max_inflight=max_inflight,
            )
            if setup:
                await saver.setup()
            else:
                await saver._open()
            yield saver
        finally:
            await engine.dispose()

    async def _open(self) -> None:
        try:
            async with self.engine.connect() as conn:
                found = await conn.run_sync(revisions_of)
        except DBAPIError as exc:
            raise unreachable(exc, self.engine.url) from exc
        if found:
            if problem := schema_problem(found, self.engine.url):
                raise StorageError(problem)
            self._schema_checked = True

    async def setup(self) -> None:
        """Create or migrate the tables (Alembic upgrade to the latest revision)."""
        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(upgrade_connection)
        except DBAPIError as exc:
            raise describe_error(exc, self.engine.url, "migrate the schema") from exc
        self._schema_checked = True

    # --- running plans ---

    async def _arun(self, plan: Callable[[], Plan[Any]], **options: Any) -> Any:
        """Run a plan in one transaction on a pooled connection (see `RunOptions`).

        The plan's statements run in one greenlet (`run_sync`): the driver's I/O is awaited on
        the event loop, with one switch per call instead of one per statement.
        """
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        run = RunOptions(**options)

        async def attempt() -> Any:
            conn = self.engine.connect()
            try:
                await conn.start()
            except DBAPIError as exc:
                raise unreachable(exc, self.engine.url) from exc
            try:
                return await conn.run_sync(self._transaction, plan, run)
            finally:
                await conn.close()

        try:
            return self._finish(await aretry_busy(attempt))
        except DBAPIError as exc:
            raise describe_error(exc, self.engine.url, run.action) from exc

    async def _arun_many(self, plans: list[Callable[[], Plan[Any]]], run: RunOptions) -> list[Any]:
        """Run plans together (in lockstep, see `drive_together`) in one transaction on one pooled connection."""

        async def attempt() -> list[Any]:
            async with self.engine.connect() as conn:
                return await conn.run_sync(self._transaction_many, plans, run)

        return [self._finish(result) for result in await aretry_busy(attempt)]

    async def _agrouped(self, plan: Callable[[], Plan[Any]], **options: Any) -> Any:
        """Run a plan in the next batch of reads or writes; alone (`_arun`) if that batch fails."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        write = bool(options.get("write"))
        runners = self._runners.setdefault(asyncio.get_running_loop(), {})
        runner = runners.get(write)
        if runner is None:
            batch = RunOptions(action="save checkpoints" if write else "read checkpoints", write=write)
            runner = runners[write] = GroupRunner(
                lambda items: self._arun_many([each for each, _ in items], batch),
                lambda item: self._arun(item[0], **item[1]),
                max_batch=self.max_batch,
                max_inflight=self.max_inflight,
            )
        return await runner.submit((plan, options))

    def _sync(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        try:
            if asyncio.get_running_loop() is self.loop:
                raise asyncio.InvalidStateError(
                    "synchronous calls to AsyncSQLAlchemySaver are only allowed from another thread than its "
                    "event loop's; from async code use the a* methods (e.g. `await saver.aget_tuple(...)`)"
                )
        except RuntimeError:
            pass
        if self.loop is None:
            raise asyncio.InvalidStateError(
                "AsyncSQLAlchemySaver has no event loop yet: use it from async code first, or use SQLAlchemySaver"
            )
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result()

    # --- BaseCheckpointSaver, async ---

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by `config` (the latest of its thread without a checkpoint_id)."""
        return await self._agrouped(lambda: self._get_tuple_plan(config), action="read a checkpoint")

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints matching the thread/namespace of `config`, `filter` and `before`, newest first."""
        found = await self._arun(lambda: self._list_plan(config, filter, before, limit), action="list checkpoints")
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Save a checkpoint; only channels in `new_versions` get new values stored."""
        return await self._agrouped(
            lambda: self._put_plan(config, checkpoint, metadata, new_versions),
            action="save a checkpoint",
            write=True,
            statementwise=True,
        )

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        """Save the pending writes of a task."""
        await self._agrouped(
            lambda: self._put_writes_plan(config, writes, task_id, task_path),
            action="save writes",
            write=True,
            statementwise=True,
        )

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread."""
        await self._arun(lambda: self._delete_thread_plan(thread_id), action="delete a thread", write=True)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) saved by these runs."""
        await self._arun(lambda: self._delete_for_runs_plan(run_ids), action="delete runs", write=True, snapshot=True)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, write and value of a thread to another thread ID."""
        await self._arun(lambda: self._copy_thread_plan(source_thread_id, target_thread_id), action="copy a thread", write=True)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the latest checkpoint per namespace (`keep_latest`) or nothing (`delete`)."""
        ids = self._check_prune_args(thread_ids, strategy)
        retention = Retention(keep_last=1) if strategy == "keep_latest" else Retention(drop_all=True)
        for thread_id in ids:
            await self.aretain(retention, thread_id=thread_id)

    async def aretain(
        self,
        retention: Retention,
        *,
        thread_id: str | None = None,
        export: Callable[[list[CheckpointTuple]], None] | None = None,
    ) -> PruneResult:
        """Prune every thread (or one) to `retention`, handing what is removed to `export` first."""
        total = PruneResult()
        thread_ids = await self._arun(lambda: self._thread_ids_plan(thread_id), action="list threads")
        for tid in thread_ids:
            total.add(
                await self._arun(
                    functools.partial(self._prune_thread_plan, tid, retention, export),
                    action=f"prune thread {tid}",
                    write=True,
                    snapshot=True,
                )
            )
        return total

    # --- sync API: the async methods run on the saver's event loop ---

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._sync(lambda: self.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        async def collect() -> list[CheckpointTuple]:
            return [t async for t in self.alist(config, filter=filter, before=before, limit=limit)]

        yield from self._sync(collect)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._sync(lambda: self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        self._sync(lambda: self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._sync(lambda: self.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._sync(lambda: self.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._sync(lambda: self.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._sync(lambda: self.aprune(thread_ids, strategy=strategy))
