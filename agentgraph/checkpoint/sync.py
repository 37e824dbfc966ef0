"""`SQLAlchemySaver`: the LangGraph checkpoint saver on a sync SQLAlchemy engine."""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from agentgraph.checkpoint.base import (
    DEFAULT_SNAPSHOT_EVERY,
    BaseSQLAlchemySaver,
    Plan,
    PruneResult,
    Retention,
    RunOptions,
)
from agentgraph.db.engine import describe_error, make_engine, retry_busy, unreachable
from agentgraph.db.migrate import revisions_of, schema_problem, upgrade_connection
from agentgraph.errors import StorageError

__all__ = ["SQLAlchemySaver"]


class SQLAlchemySaver(BaseSQLAlchemySaver):
    """Checkpoint saver on SQLite or PostgreSQL through a sync SQLAlchemy `Engine`.

    Each call takes its own connection from the engine's pool, so threads run in parallel.
    Its async methods run the sync ones in a worker thread. Build the engine with
    `agentgraph.db.make_engine` (SQLite: WAL, busy timeout, immediate write transactions).
    """

    engine: Engine

    def __init__(
        self,
        engine: Engine,
        *,
        serde: SerializerProtocol | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        strict_types: bool | None = None,
    ) -> None:
        super().__init__(engine, serde=serde, snapshot_every=snapshot_every, strict_types=strict_types)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        setup: bool = False,
        serde: SerializerProtocol | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        strict_types: bool | None = None,
        **engine_options: Any,
    ) -> Iterator[SQLAlchemySaver]:
        """A saver on a new engine for `conn_string`, disposed of on exit.

        The database must be reachable and, unless `setup` is true (migrate now), at the current
        schema or empty (then `setup()` must be called before use).
        """
        engine = make_engine(conn_string, **engine_options)
        try:
            saver = cls(engine, serde=serde, snapshot_every=snapshot_every, strict_types=strict_types)
            if setup:
                saver.setup()
            else:
                saver._open()
            yield saver
        finally:
            engine.dispose()

    def _open(self) -> None:
        try:
            with self.engine.connect() as conn:
                found = revisions_of(conn)
        except DBAPIError as exc:
            raise unreachable(exc, self.engine.url) from exc
        if found:
            if problem := schema_problem(found, self.engine.url):
                raise StorageError(problem)
            self._schema_checked = True

    def setup(self) -> None:
        """Create or migrate the tables (Alembic upgrade to the latest revision)."""
        try:
            with self.engine.begin() as conn:
                upgrade_connection(conn)
        except DBAPIError as exc:
            raise describe_error(exc, self.engine.url, "migrate the schema") from exc
        self._schema_checked = True

    # --- running plans ---

    def _run(self, plan: Callable[[], Plan[Any]], **options: Any) -> Any:
        """Run a plan in one transaction on a pooled connection (see `RunOptions`)."""
        run = RunOptions(**options)

        def attempt() -> Any:
            try:
                conn = self.engine.connect()
            except DBAPIError as exc:
                raise unreachable(exc, self.engine.url) from exc
            with conn:
                return self._transaction(conn, plan, run)

        try:
            return self._finish(retry_busy(attempt))
        except DBAPIError as exc:
            raise describe_error(exc, self.engine.url, run.action) from exc

    # --- BaseCheckpointSaver ---

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by `config` (the latest of its thread without a checkpoint_id)."""
        return self._run(lambda: self._get_tuple_plan(config), action="read a checkpoint")

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints matching the thread/namespace of `config`, `filter` and `before`, newest first."""
        yield from self._run(lambda: self._list_plan(config, filter, before, limit), action="list checkpoints")

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Save a checkpoint; only channels in `new_versions` get new values stored."""
        return self._run(
            lambda: self._put_plan(config, checkpoint, metadata, new_versions),
            action="save a checkpoint",
            write=True,
            statementwise=True,
        )

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        """Save the pending writes of a task."""
        self._run(
            lambda: self._put_writes_plan(config, writes, task_id, task_path),
            action="save writes",
            write=True,
            statementwise=True,
        )

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread."""
        self._run(lambda: self._delete_thread_plan(thread_id), action="delete a thread", write=True)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) saved by these runs."""
        self._run(lambda: self._delete_for_runs_plan(run_ids), action="delete runs", write=True, snapshot=True)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, write and value of a thread to another thread ID."""
        self._run(lambda: self._copy_thread_plan(source_thread_id, target_thread_id), action="copy a thread", write=True)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the latest checkpoint per namespace (`keep_latest`) or nothing (`delete`)."""
        ids = self._check_prune_args(thread_ids, strategy)
        retention = Retention(keep_last=1) if strategy == "keep_latest" else Retention(drop_all=True)
        for thread_id in ids:
            self.retain(retention, thread_id=thread_id)

    def retain(
        self,
        retention: Retention,
        *,
        thread_id: str | None = None,
        export: Callable[[builtins.list[CheckpointTuple]], None] | None = None,  # `list` here is the method
    ) -> PruneResult:
        """Prune every thread (or one) to `retention`, handing what is removed to `export` first."""
        total = PruneResult()
        thread_ids = self._run(lambda: self._thread_ids_plan(thread_id), action="list threads")
        for tid in thread_ids:
            total.add(
                self._run(
                    functools.partial(self._prune_thread_plan, tid, retention, export),
                    action=f"prune thread {tid}",
                    write=True,
                    snapshot=True,
                )
            )
        return total

    # --- async API: the sync methods in a worker thread ---

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await asyncio.to_thread(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)
