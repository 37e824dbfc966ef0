"""What the sync and async savers share: every operation written once, as a plan of statements.

A plan is a generator that yields `Op`s (a statement and its parameters) and receives each one's
rows (or row count). `SQLAlchemySaver` runs plans on a `Connection`, `AsyncSQLAlchemySaver` on an
`AsyncConnection`, each plan in one transaction taken from the engine's pool.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy import Row
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from agentgraph.checkpoint.appendlog import AppendLog, Key, StoredList, extends
from agentgraph.checkpoint.queries import Queries, chunks, whole_row_fields
from agentgraph.checkpoint.serde import StateSerializer, UnserializableValueError, describe_unserializable
from agentgraph.db.engine import WRITE_OPTION
from agentgraph.db.migrate import check_connection
from agentgraph.errors import StorageError

__all__ = [
    "BaseSQLAlchemySaver",
    "Committed",
    "DEFAULT_SNAPSHOT_EVERY",
    "drive",
    "drive_together",
    "EXECUTEMANY",
    "INLINE_STR_LIMIT",
    "LatestReads",
    "Merge",
    "Op",
    "Plan",
    "PRUNE_STRATEGIES",
    "PruneResult",
    "Retention",
    "RunOptions",
]

T = TypeVar("T")

DEFAULT_SNAPSHOT_EVERY = 32
"""A list channel stored as appended items gets a full copy every this many versions."""

INLINE_STR_LIMIT = 256
"""Strings up to this length are kept inside the checkpoint row instead of a blob row."""

PRUNE_STRATEGIES = ("keep_latest", "delete")

_MISSING = object()


class Merge:
    """How the same statement of several plans of a batch runs as one: the default sends every
    plan's rows in one executemany (each plan is then sent None instead of a row count)."""

    def run(self, conn: Connection, ops: Sequence[Op]) -> list[Any]:
        conn.execute(ops[0].stmt, [row for op in ops for row in op.params])
        return [None] * len(ops)


class LatestReads(Merge):
    """Latest-checkpoint reads of several threads as one statement (PostgreSQL), each plan sent
    the rows of its own thread."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt

    def run(self, conn: Connection, ops: Sequence[Op]) -> list[Any]:
        if len(ops) == 1:  # the one-thread statement, as outside a batch
            return [conn.execute(ops[0].stmt, ops[0].params).fetchall()]
        keys = list(dict.fromkeys((op.params["thread_id"], op.params["checkpoint_ns"]) for op in ops))
        params = {"thread_ids": [k[0] for k in keys], "checkpoint_nss": [k[1] for k in keys]}
        rows_of: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for row in conn.execute(self.stmt, params):
            rows_of[(row.thread_id, row.checkpoint_ns)].append(row)
        return [rows_of.get((op.params["thread_id"], op.params["checkpoint_ns"]), []) for op in ops]


EXECUTEMANY = Merge()


@dataclass(frozen=True, slots=True)
class Op:
    """One statement of a plan; `fetch` asks for its rows, otherwise its row count is sent back.

    `merge`: in a batch, the ops of other plans with the same statement and merge run with this
    one as a single statement (see `Merge`).
    """

    stmt: Executable
    params: Any = None
    fetch: bool = False
    merge: Merge | None = None


@dataclass(slots=True)
class Committed(Generic[T]):
    """A plan's result, with what to do once its transaction has committed."""

    value: T
    on_commit: Callable[[], None]


Plan = Generator[Op, Any, T]


@dataclass
class PruneResult:
    """What a retention run removed."""

    threads: int = 0
    checkpoints: int = 0
    writes: int = 0
    blobs: int = 0
    exported: int = 0

    def add(self, other: PruneResult) -> None:
        self.threads += other.threads
        self.checkpoints += other.checkpoints
        self.writes += other.writes
        self.blobs += other.blobs
        self.exported += other.exported


@dataclass(frozen=True)
class Retention:
    """Which checkpoints a prune keeps in each (thread, namespace).

    `keep_last`: the N newest. `older_than`: those created at or after this time, and always
    the newest. `drop_all`: none. Ancestors a kept checkpoint's `DeltaChannel` values are rebuilt
    from are kept too.
    """

    keep_last: int | None = None
    older_than: datetime | None = None
    drop_all: bool = False

    def __post_init__(self) -> None:
        chosen = sum((self.keep_last is not None, self.older_than is not None, self.drop_all))
        if chosen != 1:
            raise ValueError("choose exactly one of keep_last, older_than, drop_all")
        if self.keep_last is not None and self.keep_last < 1:
            raise ValueError("keep_last must be at least 1")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_ts(ts: Any) -> datetime:
    try:
        return _utc(datetime.fromisoformat(str(ts)))
    except ValueError:
        return datetime.now(UTC)


def _is_inline(value: Any) -> bool:
    if value is None or isinstance(value, (bool, float)):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    return isinstance(value, str) and len(value) <= INLINE_STR_LIMIT


def _put_params(checkpoint_row: dict[str, Any], full_rows: list[dict[str, Any]], delta_rows: list[dict[str, Any]]) -> dict[str, Any]:
    params = dict(checkpoint_row)
    for prefix, rows in (("f", full_rows), ("d", delta_rows)):
        for i, row in enumerate(rows):
            params.update({f"{prefix}{i}_{name}": value for name, value in row.items()})
    return params


def drive(conn: Connection, plan: Plan[T]) -> T:
    """Run a plan's statements on `conn`, sending each one's rows (or row count) back to it."""
    return drive_together(conn, [plan])[0]


def drive_together(conn: Connection, plans: Sequence[Plan[Any]]) -> list[Any]:
    """Run several plans in lockstep on `conn`: each round runs every plan's next statement, those
    with the same statement and `Merge` as one. Returns each plan's result."""
    results: list[Any] = [None] * len(plans)
    waiting: dict[int, Op] = {}

    def advance(i: int, sent: Any) -> None:
        try:
            waiting[i] = plans[i].send(sent)
        except StopIteration as stop:
            results[i] = stop.value

    for i in range(len(plans)):
        advance(i, None)
    while waiting:
        ops, waiting = waiting, {}
        merged: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, op in ops.items():
            if op.merge is not None:
                merged[(id(op.stmt), id(op.merge))].append(i)
                continue
            result = conn.execute(op.stmt, op.params)
            advance(i, result.fetchall() if op.fetch else result.rowcount)
        for members in merged.values():
            merge = ops[members[0]].merge
            assert merge is not None
            for i, sent in zip(members, merge.run(conn, [ops[i] for i in members]), strict=True):
                advance(i, sent)
    return results


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How a plan's transaction is run.

    `write`: it writes (SQLite: `BEGIN IMMEDIATE`). `snapshot`: it must see one snapshot
    (PostgreSQL: REPEATABLE READ). `statementwise`: each of its statements is atomic on its own
    (PostgreSQL: autocommit, no BEGIN/COMMIT round trips). Reads run in autocommit on PostgreSQL.
    """

    action: str
    write: bool = False
    snapshot: bool = False
    statementwise: bool = False


class _CheckpointRow(NamedTuple):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    type: str
    checkpoint: bytes
    blob_versions: dict[str, str]
    metadata: dict[str, Any]


class _WriteRow(NamedTuple):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str
    blob: bytes


class _BlobRow(NamedTuple):
    thread_id: str
    checkpoint_ns: str
    channel: str
    version: str
    type: str
    blob: bytes | None
    base_version: str | None
    depth: int
    snapshot_version: str


@dataclass
class _NewValues:
    """The blob rows of a checkpoint's new values, and the lists to remember once it is committed."""

    full: list[dict[str, Any]] = field(default_factory=list)
    deltas: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    """Rows holding the items appended to a stored list, each with the whole list."""
    remembered: list[tuple[Key, StoredList]] = field(default_factory=list)


def _split_channels(checkpoint: Checkpoint, new_versions: ChannelVersions) -> tuple[dict[str, Any], dict[str, str]]:
    """The channel values kept inside the checkpoint row, and the versions of those stored as blob rows."""
    versions = checkpoint["channel_versions"]
    inline: dict[str, Any] = {}
    blob_versions: dict[str, str] = {}
    for channel, value in checkpoint["channel_values"].items():
        if _is_inline(value):
            inline[channel] = value
        elif (version := versions.get(channel, new_versions.get(channel))) is not None:
            blob_versions[channel] = str(version)
    return inline, blob_versions


class _StoredValues:
    """Channel values rebuilt from blob rows (`_BlobRow`s or result rows of `BLOB_COLUMNS`), following
    append-only deltas back to a full value."""

    def __init__(self, rows: Iterable[Any], serde: SerializerProtocol) -> None:
        self.serde = serde
        self.rows = {(r.thread_id, r.checkpoint_ns, r.channel, r.version): r for r in rows}
        self._lists: dict[tuple[str, str, str, str], list[Any]] = {}

    def get(self, key: tuple[str, str, str, str]) -> Any:
        row = self.rows.get(key)
        if row is None or row.type == "empty":
            return _MISSING
        if row.base_version is None and key not in self._lists:
            value = self.serde.loads_typed((row.type, row.blob))
            if type(value) is not list:
                return value
            self._lists[key] = value
        return list(self._list(key))

    def chain_position(self, key: tuple[str, str, str, str]) -> tuple[int, str]:
        """The depth of a stored value and the version its chain starts from."""
        row = self.rows[key]
        return row.depth, row.snapshot_version

    def _list(self, key: tuple[str, str, str, str]) -> list[Any]:
        chain: list[Row[Any]] = []
        current = key
        while current not in self._lists:
            row = self.rows.get(current)
            if row is None:
                raise StorageError(
                    f"stored value of channel {key[2]!r} (thread {key[0]!r}, version {key[3]}) extends version "
                    f"{current[3]}, which is missing from the database"
                )
            if row.base_version is None:
                full = self.serde.loads_typed((row.type, row.blob))
                if type(full) is not list:
                    raise StorageError(f"stored value of channel {key[2]!r} version {current[3]} is not a list")
                self._lists[current] = full
                break
            chain.append(row)
            current = (current[0], current[1], current[2], row.base_version)
        value = self._lists[current]
        for row in reversed(chain):
            value = value + self.serde.loads_typed((row.type, row.blob))
            self._lists[(row.thread_id, row.checkpoint_ns, row.channel, row.version)] = value
        return value


@dataclass
class _Outline:
    """One checkpoint as pruning sees it."""

    ns: str
    id: str
    parent: str | None
    created_at: datetime
    blob_versions: dict[str, str]
    delta_channels: set[str] = field(default_factory=set)


class BaseSQLAlchemySaver(BaseCheckpointSaver[str]):
    """Shared state and plans of `SQLAlchemySaver` and `AsyncSQLAlchemySaver`."""

    def __init__(
        self,
        engine: Any,
        *,
        serde: SerializerProtocol | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        remembered_lists: int = 1024,
        strict_types: bool | None = None,
    ) -> None:
        if serde is not None and strict_types is not None:
            raise ValueError("strict_types applies to the default serializer: give serde or strict_types, not both")
        super().__init__(serde=serde or StateSerializer(strict=strict_types))
        if snapshot_every < 1:
            raise ValueError("snapshot_every must be at least 1")
        self.engine = engine
        self.snapshot_every = snapshot_every
        self.queries = Queries(engine.dialect.name)
        many = self.queries.select_whole_latest_many
        self._latest_reads = LatestReads(many) if many is not None else None
        self._sqlite = engine.dialect.name == "sqlite"
        self._lists = AppendLog(remembered_lists)
        self._schema_checked = False

    # --- running plans ---

    def _transaction(self, conn: Connection, plan: Callable[[], Plan[Any]], options: RunOptions) -> Any:
        """Run a plan in one transaction on `conn` (a sync connection, or the one behind an
        `AsyncConnection` in `run_sync`)."""
        return self._transaction_many(conn, [plan], options)[0]

    def _transaction_many(self, conn: Connection, plans: Sequence[Callable[[], Plan[Any]]], options: RunOptions) -> list[Any]:
        """Run several plans together (`drive_together`) in one transaction on `conn`: one result each."""
        if not self._schema_checked:
            check_connection(conn)
            conn.commit()
            self._schema_checked = True
        if self._sqlite:
            if options.write:
                conn.execution_options(**{WRITE_OPTION: True})
        elif options.snapshot:
            conn.execution_options(isolation_level="REPEATABLE READ")
        elif not options.write or options.statementwise:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        with conn.begin():
            return drive_together(conn, [plan() for plan in plans])

    @staticmethod
    def _finish(result: Any) -> Any:
        if isinstance(result, Committed):
            result.on_commit()
            return result.value
        return result

    # --- versions ---

    def get_next_version(self, current: str | int | float | None, channel: None = None) -> str:
        """Zero-padded counter plus a random tail, so versions sort and forks do not collide."""
        if current is None:
            number = 0
        elif isinstance(current, (int, float)):
            number = int(current)
        else:
            number = int(str(current).split(".")[0])
        return f"{number + 1:012}.{random.getrandbits(40):010x}"

    # --- serialization ---

    def _dump(self, channel: str, value: Any, whole: Any = None) -> tuple[str, bytes]:
        """`value` serialized for `channel`; `whole` is the channel's value when `value` is a part of it
        (named in errors and warnings)."""
        whole = value if whole is None else whole
        try:
            if isinstance(self.serde, StateSerializer):
                return self.serde.dumps_channel(channel, value, whole)
            return self.serde.dumps_typed(value)
        except UnserializableValueError:
            raise
        except StorageError as exc:
            raise describe_unserializable(self.serde, channel, whole, exc) from None
        except Exception as exc:
            raise describe_unserializable(self.serde, channel, whole, exc) from exc

    def _tuple_from_row(self, row: Row[Any], values: _StoredValues, writes: list[PendingWrite]) -> CheckpointTuple:
        checkpoint = self.serde.loads_typed((row.type, row.checkpoint))
        channel_values = checkpoint.setdefault("channel_values", {})
        for channel, version in row.blob_versions.items():
            value = values.get((row.thread_id, row.checkpoint_ns, channel, version))
            if value is not _MISSING:
                channel_values[channel] = value
        return CheckpointTuple(
            config={
                "configurable": {
                    "thread_id": row.thread_id,
                    "checkpoint_ns": row.checkpoint_ns,
                    "checkpoint_id": row.checkpoint_id,
                }
            },
            checkpoint=checkpoint,
            metadata=row.metadata,
            parent_config=(
                {
                    "configurable": {
                        "thread_id": row.thread_id,
                        "checkpoint_ns": row.checkpoint_ns,
                        "checkpoint_id": row.parent_checkpoint_id,
                    }
                }
                if row.parent_checkpoint_id
                else None
            ),
            pending_writes=writes,
        )

    # --- plans: writing ---

    def _put_plan(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Plan[Committed[RunnableConfig]]:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "") or ""
        inline, blob_versions = _split_channels(checkpoint, new_versions)
        new = self._new_value_rows(thread_id, ns, checkpoint["channel_values"], blob_versions, new_versions)
        checkpoint_row = self._checkpoint_row(config, checkpoint, metadata, inline, blob_versions)
        yield from self._write_checkpoint(checkpoint_row, new)
        next_config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}
        return Committed(next_config, lambda: self._lists.remember(new.remembered))

    def _new_value_rows(
        self, thread_id: str, ns: str, values: dict[str, Any], blob_versions: dict[str, str], new_versions: ChannelVersions
    ) -> _NewValues:
        """The blob rows of the channels written in this checkpoint: a list that extends the one
        remembered for its channel is stored as the appended items (a delta), every other value whole."""
        new = _NewValues()
        for channel, raw_version in new_versions.items():
            if channel not in blob_versions:
                continue
            version = str(raw_version)
            value = values[channel]
            row: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns, "channel": channel, "version": version}
            if type(value) is list:
                key = (thread_id, ns, channel)
                last = self._lists.get(key)
                if last is not None and last.version != version and last.depth + 1 < self.snapshot_every and extends(last.items, value):
                    suffix = value[len(last.items) :]
                    type_, blob = self._dump(channel, suffix, value)
                    row.update(
                        type=type_,
                        blob=blob,
                        base_version=last.version,
                        depth=last.depth + 1,
                        snapshot_version=last.snapshot,
                    )
                    new.deltas.append((row, value))
                    new.remembered.append((key, StoredList(version, list(value), last.depth + 1, last.snapshot)))
                    continue
                new.remembered.append((key, StoredList(version, list(value), 0, version)))
            type_, blob = self._dump(channel, value)
            row.update(type=type_, blob=blob, base_version=None, depth=0, snapshot_version=version)
            new.full.append(row)
        return new

    def _checkpoint_row(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        inline: dict[str, Any],
        blob_versions: dict[str, str],
    ) -> dict[str, Any]:
        """The checkpoint's own row: its body with the inline values, and the versions of the stored ones."""
        configurable = config["configurable"]
        body = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        body["channel_values"] = inline
        type_, blob = self._dump("<checkpoint>", body)
        meta = get_serializable_checkpoint_metadata(config, metadata)
        run_id = meta.get("run_id")
        return {
            "thread_id": str(configurable["thread_id"]),
            "checkpoint_ns": configurable.get("checkpoint_ns", "") or "",
            "checkpoint_id": checkpoint["id"],
            "parent_checkpoint_id": configurable.get("checkpoint_id"),
            "run_id": str(run_id) if run_id is not None else None,
            "created_at": _parse_ts(checkpoint.get("ts")),
            "type": type_,
            "checkpoint": blob,
            "blob_versions": blob_versions,
            "metadata": meta,
        }

    def _write_checkpoint(self, checkpoint_row: dict[str, Any], new: _NewValues) -> Plan[None]:
        """Write the new values and the checkpoint: on PostgreSQL in one statement, else row by row. A
        delta whose base is gone (pruned or deleted meanwhile) is written whole instead."""
        q = self.queries
        if q.single_statement_put:
            stmt = q.put_in_one_statement(len(new.full), len(new.deltas))
            saved = yield Op(stmt, _put_params(checkpoint_row, new.full, [r for r, _ in new.deltas]), fetch=True)
            if not saved:
                for row, value in new.deltas:
                    self._store_whole(new, row, value)
                stmt = q.put_in_one_statement(len(new.full), 0)
                yield Op(stmt, _put_params(checkpoint_row, new.full, []), fetch=True)
        else:
            for row, value in new.deltas:
                if not (yield Op(q.insert_delta, row, fetch=True)):
                    if not (yield Op(q.blob_exists, row, fetch=True)):
                        self._store_whole(new, row, value)
            if new.full:
                yield Op(q.insert_blobs, new.full)
            yield Op(q.upsert_checkpoint, checkpoint_row)

    def _store_whole(self, new: _NewValues, row: dict[str, Any], value: Any) -> None:
        """Turn a delta of `new` into a full value."""
        type_, blob = self._dump(row["channel"], value)
        row.update(type=type_, blob=blob, base_version=None, depth=0, snapshot_version=row["version"])
        new.full.append(row)
        key = (row["thread_id"], row["checkpoint_ns"], row["channel"])
        new.remembered[:] = [(k, e) for k, e in new.remembered if k != key]
        new.remembered.append((key, StoredList(row["version"], list(value), 0, row["version"])))

    def _put_writes_plan(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str) -> Plan[None]:
        configurable = config["configurable"]
        rows = []
        for idx, (channel, value) in enumerate(writes):
            type_, blob = self._dump(channel, value)
            rows.append(
                {
                    "thread_id": str(configurable["thread_id"]),
                    "checkpoint_ns": configurable.get("checkpoint_ns", "") or "",
                    "checkpoint_id": configurable["checkpoint_id"],
                    "task_id": task_id,
                    "task_path": task_path,
                    "idx": WRITES_IDX_MAP.get(channel, idx),
                    "channel": channel,
                    "type": type_,
                    "blob": blob,
                }
            )
        if not rows:
            return None
        special = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        yield Op(self.queries.upsert_writes if special else self.queries.insert_writes, rows, merge=EXECUTEMANY)
        return None

    # --- plans: reading ---

    def _tuples_plan(self, rows: Sequence[Any]) -> Plan[list[CheckpointTuple]]:
        """Checkpoint rows made into tuples: their pending writes and stored channel values loaded."""
        q = self.queries
        if not rows:
            return []
        keys = [(r.thread_id, r.checkpoint_ns, r.checkpoint_id) for r in rows]
        blob_keys = sorted({(r.thread_id, r.checkpoint_ns, ch, ver) for r in rows for ch, ver in r.blob_versions.items()})
        write_rows: list[Any] = []
        blob_rows: list[Any] = []
        for part in chunks(keys):
            write_rows += yield Op(q.select_writes_by_keys, {"keys": list(part)}, fetch=True)
        for part in chunks(blob_keys):
            blob_rows += yield Op(q.select_blob_chains, {"keys": list(part)}, fetch=True)
        return self._assemble(rows, write_rows, _StoredValues(blob_rows, self.serde))

    def _assemble(self, rows: Sequence[Any], write_rows: Iterable[Any], values: _StoredValues) -> list[CheckpointTuple]:
        by_checkpoint: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        for w in write_rows:
            by_checkpoint[(w.thread_id, w.checkpoint_ns, w.checkpoint_id)].append(w)
        tuples = []
        for row in rows:
            pending = sorted(
                by_checkpoint.get((row.thread_id, row.checkpoint_ns, row.checkpoint_id), ()),
                key=lambda w: writes_sort_key(w.task_path, w.task_id, w.idx),
            )
            loaded = [(w.task_id, w.channel, self.serde.loads_typed((w.type, w.blob))) for w in pending]
            tuples.append(self._tuple_from_row(row, values, loaded))
        return tuples

    def _get_tuple_plan(self, config: RunnableConfig) -> Plan[Committed[CheckpointTuple | None]]:
        configurable = config["configurable"]
        params = {"thread_id": str(configurable["thread_id"]), "checkpoint_ns": configurable.get("checkpoint_ns", "")}
        merge: Merge | None = None
        if checkpoint_id := get_checkpoint_id(config):
            stmt = self.queries.select_whole_checkpoint
            params["checkpoint_id"] = checkpoint_id
        else:
            stmt, merge = self.queries.select_whole_latest, self._latest_reads
        head: _CheckpointRow | None = None
        write_rows: list[_WriteRow] = []
        blob_rows: list[_BlobRow] = []
        for r in (yield Op(stmt, params, fetch=True, merge=merge)):
            kind, fields = whole_row_fields(r)
            if kind == "c":
                head = _CheckpointRow(**fields)
            elif kind == "w":
                write_rows.append(_WriteRow(**fields))
            else:
                blob_rows.append(_BlobRow(**fields))
        if head is None:
            return Committed(None, lambda: None)
        values = _StoredValues(blob_rows, self.serde)
        found = self._assemble([head], write_rows, values)[0]
        # The lists just read are what the next checkpoint of this thread will most likely extend.
        remembered = [
            (
                (head.thread_id, head.checkpoint_ns, channel),
                StoredList(
                    version,
                    list(found.checkpoint["channel_values"][channel]),
                    *values.chain_position((head.thread_id, head.checkpoint_ns, channel, version)),
                ),
            )
            for channel, version in head.blob_versions.items()
            if type(found.checkpoint["channel_values"].get(channel)) is list
        ]
        return Committed(found, lambda: self._lists.remember_read(remembered))

    def _list_plan(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Plan[list[CheckpointTuple]]:
        configurable = (config or {}).get("configurable", {})
        stmt = self.queries.select_checkpoints(
            thread_id=str(configurable["thread_id"]) if configurable.get("thread_id") is not None else None,
            checkpoint_ns=configurable.get("checkpoint_ns"),
            checkpoint_id=configurable.get("checkpoint_id"),
            filter=filter,
            before_id=get_checkpoint_id(before) if before else None,
            limit=limit,
        )
        rows = yield Op(stmt, fetch=True)
        return (yield from self._tuples_plan(rows))

    # --- plans: deleting and copying ---

    def _delete_thread_plan(self, thread_id: str) -> Plan[Committed[None]]:
        for stmt in self.queries.delete_thread:
            yield Op(stmt, {"thread_id": str(thread_id)})
        return Committed(None, lambda: self._lists.forget_threads({str(thread_id)}))

    def _copy_thread_plan(self, source_thread_id: str, target_thread_id: str) -> Plan[None]:
        for stmt in self.queries.copy_thread:
            yield Op(stmt, {"source": str(source_thread_id), "target": str(target_thread_id)})
        return None

    def _delete_for_runs_plan(self, run_ids: Sequence[str]) -> Plan[None]:
        if not run_ids:
            return None
        q = self.queries
        doomed: list[tuple[str, str, str]] = []
        for part in chunks([str(r) for r in run_ids]):
            rows = yield Op(q.select_run_checkpoints, {"run_ids": list(part)}, fetch=True)
            doomed += [(r.thread_id, r.checkpoint_ns, r.checkpoint_id) for r in rows]
        by_thread: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for thread_id, ns, checkpoint_id in doomed:
            by_thread[thread_id].add((ns, checkpoint_id))
        for thread_id, keys in by_thread.items():
            yield from self._remove_plan(thread_id, keys)
        return None

    def _prune_thread_plan(
        self, thread_id: str, retention: Retention, export: Callable[[list[CheckpointTuple]], None] | None
    ) -> Plan[Committed[PruneResult]]:
        """Remove one thread's checkpoints that `retention` does not keep (exporting them first)."""
        q = self.queries
        rows = yield Op(q.select_thread_outline, {"thread_id": thread_id}, fetch=True)
        if not rows:
            return Committed(PruneResult(), lambda: None)
        outlines = [
            _Outline(
                ns=r.checkpoint_ns,
                id=r.checkpoint_id,
                parent=r.parent_checkpoint_id,
                created_at=_utc(r.created_at),
                blob_versions=r.blob_versions,
                delta_channels=set((r.metadata or {}).get("counters_since_delta_snapshot") or ()),
            )
            for r in rows
        ]
        doomed = {(o.ns, o.id) for o in outlines} - self._kept(outlines, retention)
        result = PruneResult()
        if not doomed:
            return Committed(result, lambda: None)
        if export is not None:
            keys = sorted((thread_id, ns, cid) for ns, cid in doomed)
            doomed_rows: list[Row[Any]] = []
            for part in chunks(keys):
                doomed_rows += yield Op(q.select_checkpoints_by_keys(), {"keys": list(part)}, fetch=True)
            tuples = yield from self._tuples_plan(doomed_rows)
            export(tuples)
            result.exported = len(tuples)
        removed = yield from self._remove_plan(thread_id, doomed)
        result.add(removed)
        result.threads = 1
        return Committed(result, lambda: self._lists.forget_threads({thread_id}))

    @staticmethod
    def _kept(outlines: list[_Outline], retention: Retention) -> set[tuple[str, str]]:
        if retention.drop_all:
            return set()
        by_ns: dict[str, list[_Outline]] = defaultdict(list)
        for o in outlines:
            by_ns[o.ns].append(o)
        kept: set[tuple[str, str]] = set()
        for ns, items in by_ns.items():
            items.sort(key=lambda o: o.id, reverse=True)
            if retention.keep_last is not None:
                chosen = items[: retention.keep_last]
            else:
                assert retention.older_than is not None
                cutoff = _utc(retention.older_than)
                chosen = [items[0], *(o for o in items[1:] if o.created_at >= cutoff)]
            by_id = {o.id: o for o in items}
            for o in chosen:
                kept.add((ns, o.id))
                # A DeltaChannel value is rebuilt from the writes of ancestors back to its last snapshot.
                needed = o.delta_channels - set(o.blob_versions)
                current = o
                while needed and current.parent in by_id:
                    current = by_id[current.parent]
                    kept.add((ns, current.id))
                    needed -= set(current.blob_versions)
        return kept

    def _remove_plan(self, thread_id: str, doomed: set[tuple[str, str]]) -> Plan[PruneResult]:
        """Delete these checkpoints of one thread, their writes, and the blobs nothing else uses."""
        q = self.queries
        result = PruneResult()
        keys = sorted((thread_id, ns, cid) for ns, cid in doomed)
        # Blob keys are read before the checkpoints that use them, so a blob saved meanwhile is
        # either unseen or seen with its checkpoint.
        blob_rows = yield Op(q.select_thread_blob_keys, {"thread_id": thread_id}, fetch=True)
        for part in chunks(keys):
            result.writes += (yield Op(q.delete_writes_by_keys, {"keys": list(part)})) or 0
            result.checkpoints += (yield Op(q.delete_checkpoints_by_keys, {"keys": list(part)})) or 0
        remaining = yield Op(q.select_thread_outline, {"thread_id": thread_id}, fetch=True)
        orphans = [
            (thread_id, r.checkpoint_ns, r.checkpoint_id)
            for r in remaining
            if r.parent_checkpoint_id and (r.checkpoint_ns, r.parent_checkpoint_id) in doomed
        ]
        for part in chunks(orphans):
            yield Op(q.orphan_parents, {"keys": list(part)})
        base_of = {(b.checkpoint_ns, b.channel, b.version): b.base_version for b in blob_rows}
        reachable: set[tuple[str, str, str]] = set()
        for r in remaining:
            for channel, version in r.blob_versions.items():
                key: tuple[str, str, str] | None = (r.checkpoint_ns, channel, version)
                while key is not None and key not in reachable:
                    reachable.add(key)
                    base = base_of.get(key)
                    key = (key[0], key[1], base) if base is not None else None
        garbage = sorted((thread_id, *k) for k in base_of if k not in reachable)
        for part in chunks(garbage):
            result.blobs += (yield Op(q.delete_blobs_by_keys, {"keys": list(part)})) or 0
        return result

    def _thread_ids_plan(self, thread_id: str | None) -> Plan[list[str]]:
        rows = yield Op(self.queries.thread_ids(thread_id), fetch=True)
        return [r.thread_id for r in rows]

    @staticmethod
    def _check_prune_args(thread_ids: Sequence[str], strategy: str) -> list[str]:
        if isinstance(thread_ids, str):
            raise TypeError("thread_ids must be a sequence of thread IDs, not a str")
        if strategy not in PRUNE_STRATEGIES:
            raise ValueError(f"Unknown prune strategy: {strategy!r}")
        return [str(t) for t in thread_ids]
