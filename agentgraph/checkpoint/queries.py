"""Every SQL statement of the checkpoint saver, built once per dialect (SQLite or PostgreSQL).

Statements take named parameters; `Queries` builds the few that depend on call arguments
(metadata filters, key lists).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from agentgraph.checkpoint.schema import blobs, checkpoints, writes

_FILTER_KEY = re.compile(r"^[A-Za-z0-9_.\-:]+$")

CHECKPOINT_COLUMNS = (
    checkpoints.c.thread_id,
    checkpoints.c.checkpoint_ns,
    checkpoints.c.checkpoint_id,
    checkpoints.c.parent_checkpoint_id,
    checkpoints.c.type,
    checkpoints.c.checkpoint,
    checkpoints.c.blob_versions,
    checkpoints.c.metadata,
)

WRITE_COLUMNS = (
    writes.c.thread_id,
    writes.c.checkpoint_ns,
    writes.c.checkpoint_id,
    writes.c.task_id,
    writes.c.task_path,
    writes.c.idx,
    writes.c.channel,
    writes.c.type,
    writes.c.blob,
)

BLOB_COLUMNS = (
    blobs.c.thread_id,
    blobs.c.checkpoint_ns,
    blobs.c.channel,
    blobs.c.version,
    blobs.c.type,
    blobs.c.blob,
    blobs.c.base_version,
    blobs.c.depth,
)

_P = sa.bindparam


def _pk(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


class Queries:
    """The statements for one dialect."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported dialect {dialect!r}")
        self.dialect = dialect
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        cp, bl, wr = checkpoints.c, blobs.c, writes.c

        # --- put ---
        ins = insert(checkpoints)
        self.upsert_checkpoint: Executable = ins.on_conflict_do_update(
            index_elements=_pk(checkpoints),
            set_={
                name: ins.excluded[name]
                for name in ("run_id", "created_at", "type", "checkpoint", "blob_versions", "metadata")
            },
        )
        self.insert_blobs: Executable = insert(blobs).on_conflict_do_nothing(index_elements=_pk(blobs))
        base = blobs.alias("base")
        delta_row = sa.select(
            _P("thread_id", type_=sa.Text),
            _P("checkpoint_ns", type_=sa.Text),
            _P("channel", type_=sa.Text),
            _P("version", type_=sa.Text),
            _P("type", type_=sa.Text),
            _P("blob", type_=sa.LargeBinary),
            _P("base_version", type_=sa.Text),
            _P("depth", type_=sa.Integer),
        ).where(
            sa.exists().where(
                base.c.thread_id == _P("thread_id"),
                base.c.checkpoint_ns == _P("checkpoint_ns"),
                base.c.channel == _P("channel"),
                base.c.version == _P("base_version"),
            )
        )
        # A delta is written only while the value it extends is still stored.
        self.insert_delta: Executable = (
            insert(blobs)
            .from_select([c.name for c in BLOB_COLUMNS], delta_row)
            .on_conflict_do_nothing(index_elements=_pk(blobs))
            .returning(blobs.c.version)
        )
        self.blob_exists: Executable = sa.select(bl.version).where(
            bl.thread_id == _P("thread_id"),
            bl.checkpoint_ns == _P("checkpoint_ns"),
            bl.channel == _P("channel"),
            bl.version == _P("version"),
        )

        # --- put_writes ---
        ins_w = insert(writes)
        self.upsert_writes: Executable = ins_w.on_conflict_do_update(
            index_elements=_pk(writes),
            set_={name: ins_w.excluded[name] for name in ("channel", "type", "blob", "task_path")},
        )
        self.insert_writes: Executable = insert(writes).on_conflict_do_nothing(index_elements=_pk(writes))

        # --- reads ---
        by_thread_ns = sa.and_(cp.thread_id == _P("thread_id"), cp.checkpoint_ns == _P("checkpoint_ns"))
        self.select_checkpoint: Executable = sa.select(*CHECKPOINT_COLUMNS).where(
            by_thread_ns, cp.checkpoint_id == _P("checkpoint_id")
        )
        self.select_latest: Executable = (
            sa.select(*CHECKPOINT_COLUMNS).where(by_thread_ns).order_by(cp.checkpoint_id.desc()).limit(1)
        )
        self.select_writes_by_keys: Executable = sa.select(*WRITE_COLUMNS).where(
            sa.tuple_(wr.thread_id, wr.checkpoint_ns, wr.checkpoint_id).in_(_P("keys", expanding=True))
        )

        # The stored rows behind (thread, ns, channel, version) keys, with the rows their deltas extend.
        chain = (
            sa.select(bl.thread_id, bl.checkpoint_ns, bl.channel, bl.version, bl.base_version)
            .where(sa.tuple_(bl.thread_id, bl.checkpoint_ns, bl.channel, bl.version).in_(_P("keys", expanding=True)))
            .cte("chain", recursive=True)
        )
        link = blobs.alias("link")
        chain = chain.union(
            sa.select(link.c.thread_id, link.c.checkpoint_ns, link.c.channel, link.c.version, link.c.base_version)
            .select_from(link)
            .join(
                chain,
                sa.and_(
                    link.c.thread_id == chain.c.thread_id,
                    link.c.checkpoint_ns == chain.c.checkpoint_ns,
                    link.c.channel == chain.c.channel,
                    link.c.version == chain.c.base_version,
                ),
            )
        )
        self.select_blob_chains: Executable = (
            sa.select(*BLOB_COLUMNS)
            .select_from(blobs)
            .join(
                chain,
                sa.and_(
                    bl.thread_id == chain.c.thread_id,
                    bl.checkpoint_ns == chain.c.checkpoint_ns,
                    bl.channel == chain.c.channel,
                    bl.version == chain.c.version,
                ),
            )
        )

        # One round trip for a single checkpoint: its pending writes ("w" rows) and the stored
        # values it uses with the rows their deltas extend ("b" rows), in shared columns.
        chain_rows = (
            sa.select(
                sa.literal("b", sa.Text).label("kind"),
                bl.thread_id,
                bl.checkpoint_ns,
                bl.channel,
                bl.version.label("key"),
                sa.null().cast(sa.Text).label("task_id"),
                bl.base_version.label("path"),
                bl.depth.label("num"),
                bl.type,
                bl.blob,
            )
            .select_from(blobs)
            .join(
                chain,
                sa.and_(
                    bl.thread_id == chain.c.thread_id,
                    bl.checkpoint_ns == chain.c.checkpoint_ns,
                    bl.channel == chain.c.channel,
                    bl.version == chain.c.version,
                ),
            )
        )
        write_rows = sa.select(
            sa.literal("w", sa.Text).label("kind"),
            wr.thread_id,
            wr.checkpoint_ns,
            wr.channel,
            wr.checkpoint_id.label("key"),
            wr.task_id,
            wr.task_path.label("path"),
            wr.idx.label("num"),
            wr.type,
            wr.blob,
        ).where(
            wr.thread_id == _P("thread_id"),
            wr.checkpoint_ns == _P("checkpoint_ns"),
            wr.checkpoint_id == _P("checkpoint_id"),
        )
        self.select_writes_and_chains: Executable = sa.union_all(write_rows, chain_rows)

        # --- deletes and copies ---
        self.delete_thread: tuple[Executable, ...] = tuple(
            sa.delete(t).where(t.c.thread_id == _P("thread_id")) for t in (writes, blobs, checkpoints)
        )
        self.copy_thread: tuple[Executable, ...] = tuple(
            insert(t)
            .from_select(
                [c.name for c in t.columns],
                sa.select(
                    *[_P("target", type_=sa.Text) if c.name == "thread_id" else c for c in t.columns]
                ).where(t.c.thread_id == _P("source")),
            )
            .on_conflict_do_nothing(index_elements=_pk(t))
            for t in (checkpoints, blobs, writes)
        )
        self.select_run_checkpoints: Executable = sa.select(cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id).where(
            cp.run_id.in_(_P("run_ids", expanding=True))
        )
        # What pruning a thread looks at: every checkpoint's links, and every blob's key.
        self.select_thread_outline: Executable = sa.select(
            cp.checkpoint_ns, cp.checkpoint_id, cp.parent_checkpoint_id, cp.created_at, cp.blob_versions, cp.metadata
        ).where(cp.thread_id == _P("thread_id"))
        self.select_thread_blob_keys: Executable = sa.select(
            bl.checkpoint_ns, bl.channel, bl.version, bl.base_version
        ).where(bl.thread_id == _P("thread_id"))
        self.delete_checkpoints_by_keys: Executable = sa.delete(checkpoints).where(
            sa.tuple_(cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id).in_(_P("keys", expanding=True))
        )
        self.delete_writes_by_keys: Executable = sa.delete(writes).where(
            sa.tuple_(wr.thread_id, wr.checkpoint_ns, wr.checkpoint_id).in_(_P("keys", expanding=True))
        )
        self.delete_blobs_by_keys: Executable = sa.delete(blobs).where(
            sa.tuple_(bl.thread_id, bl.checkpoint_ns, bl.channel, bl.version).in_(_P("keys", expanding=True))
        )
        self.orphan_parents: Executable = (
            sa.update(checkpoints)
            .where(
                sa.tuple_(cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id).in_(_P("keys", expanding=True)),
            )
            .values(parent_checkpoint_id=None)
        )
        self.select_thread_ids: Executable = sa.select(cp.thread_id).distinct().order_by(cp.thread_id)

    # --- statements built per call ---

    def select_checkpoints(
        self,
        *,
        thread_id: str | None,
        checkpoint_ns: str | None,
        checkpoint_id: str | None,
        filter: dict[str, Any] | None,
        before_id: str | None,
        limit: int | None,
    ) -> Executable:
        """Checkpoints matching list() arguments, newest first."""
        cp = checkpoints.c
        stmt = sa.select(*CHECKPOINT_COLUMNS)
        if thread_id is not None:
            stmt = stmt.where(cp.thread_id == thread_id)
        if checkpoint_ns is not None:
            stmt = stmt.where(cp.checkpoint_ns == checkpoint_ns)
        if checkpoint_id is not None:
            stmt = stmt.where(cp.checkpoint_id == checkpoint_id)
        if filter:
            stmt = stmt.where(*self._metadata_filter(filter))
        if before_id is not None:
            stmt = stmt.where(cp.checkpoint_id < before_id)
        stmt = stmt.order_by(cp.checkpoint_id.desc())
        if limit is not None:
            stmt = stmt.limit(int(limit))
        return stmt

    def select_checkpoints_by_keys(self) -> Executable:
        """Checkpoints given as (thread, ns, id) keys (parameter `keys`)."""
        cp = checkpoints.c
        return (
            sa.select(*CHECKPOINT_COLUMNS)
            .where(sa.tuple_(cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id).in_(_P("keys", expanding=True)))
            .order_by(cp.thread_id, cp.checkpoint_ns, cp.checkpoint_id.desc())
        )

    def thread_ids(self, thread_id: str | None) -> Executable:
        """The thread IDs that have checkpoints (one, when `thread_id` is given)."""
        stmt = self.select_thread_ids
        if thread_id is not None:
            stmt = stmt.where(checkpoints.c.thread_id == thread_id)
        return stmt

    def _metadata_filter(self, filter: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
        column = checkpoints.c.metadata
        if self.dialect == "postgresql":
            return [sa.type_coerce(column, postgresql.JSONB).contains(filter)]
        import json

        clauses: list[sa.ColumnElement[bool]] = []
        for key, value in filter.items():
            if not _FILTER_KEY.match(key):
                raise ValueError(f"invalid metadata filter key {key!r}: use letters, digits and _ . - :")
            extracted = sa.func.json_extract(column, f'$."{key}"')
            if value is None:
                clauses.append(extracted.is_(None))
            elif isinstance(value, bool):
                clauses.append(extracted == int(value))
            elif isinstance(value, (dict, list)):
                clauses.append(extracted == json.dumps(value, separators=(",", ":")))
            else:
                clauses.append(extracted == value)
        return clauses


def chunks(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """`items` in slices small enough for one statement's parameters."""
    return [items[i : i + size] for i in range(0, len(items), size)]
