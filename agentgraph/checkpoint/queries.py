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

__all__ = [
    "BLOB_COLUMNS",
    "CHECKPOINT_COLUMNS",
    "chunks",
    "Queries",
    "WHOLE_ROW",
    "WHOLE_ROW_FIELDS",
    "whole_row_fields",
    "WRITE_COLUMNS",
]

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
    blobs.c.snapshot_version,
)

WHOLE_ROW: tuple[str, ...] = ("thread_id", "checkpoint_ns", "channel", "key", "ref", "path", "num", "type", "blob", "doc", "meta")
"""The columns of the one-round-trip checkpoint read, after its `kind` tag: one shape for its three kinds
of row, each column carrying one field of each kind (`WHOLE_ROW_FIELDS`)."""

WHOLE_ROW_FIELDS: dict[str, dict[str, str]] = {
    "c": {  # the checkpoint
        "thread_id": "thread_id",
        "checkpoint_ns": "checkpoint_ns",
        "key": "checkpoint_id",
        "ref": "parent_checkpoint_id",
        "type": "type",
        "blob": "checkpoint",
        "doc": "blob_versions",
        "meta": "metadata",
    },
    "w": {  # its pending writes
        "thread_id": "thread_id",
        "checkpoint_ns": "checkpoint_ns",
        "channel": "channel",
        "key": "checkpoint_id",
        "ref": "task_id",
        "path": "task_path",
        "num": "idx",
        "type": "type",
        "blob": "blob",
    },
    "b": {  # the stored values it uses, with the rest of their delta chains
        "thread_id": "thread_id",
        "checkpoint_ns": "checkpoint_ns",
        "channel": "channel",
        "key": "version",
        "ref": "snapshot_version",
        "path": "base_version",
        "num": "depth",
        "type": "type",
        "blob": "blob",
    },
}
"""Per kind of row of the one-round-trip read: which column of `WHOLE_ROW` carries which field (named as
the column of its table)."""


def whole_row_fields(row: Any) -> tuple[str, dict[str, Any]]:
    """The kind of a row of the one-round-trip read (`c`, `w` or `b`) and its fields by name."""
    return row.kind, {field: getattr(row, column) for column, field in WHOLE_ROW_FIELDS[row.kind].items()}


_P = sa.bindparam


_NULL_TYPES: dict[str, Any] = {"num": sa.Integer, "doc": checkpoints.c.metadata.type, "meta": checkpoints.c.metadata.type}
"""The type of an unused column of `WHOLE_ROW` (a typed NULL); the others are text."""


def _whole_row(kind: str, source: Any) -> list[sa.ColumnElement[Any]]:
    """The columns of a `kind` row of `WHOLE_ROW`, its fields taken from `source` (columns by name)."""
    fields = WHOLE_ROW_FIELDS[kind]
    return [
        sa.literal(kind, sa.Text).label("kind"),
        *(
            (source[fields[column]] if column in fields else sa.null().cast(_NULL_TYPES.get(column, sa.Text))).label(column)
            for column in WHOLE_ROW
        ),
    ]


def _pk(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


class Queries:
    """The statements for one dialect."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported dialect {dialect!r}")
        self.dialect = dialect
        self.single_statement_put = dialect == "postgresql"
        self._put_statements: dict[tuple[int, int], Executable] = {}
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._puts(insert)
        self._reads()
        self._deletes_and_copies(insert)

    def _puts(self, insert: Any) -> None:
        """The statements of `put` (a checkpoint, its full values and deltas) and `put_writes`."""
        bl = blobs.c
        ins = insert(checkpoints)
        self.upsert_checkpoint: Executable = ins.on_conflict_do_update(
            index_elements=_pk(checkpoints),
            set_={name: ins.excluded[name] for name in ("run_id", "created_at", "type", "checkpoint", "blob_versions", "metadata")},
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
            _P("snapshot_version", type_=sa.Text),
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
        ins_w = insert(writes)
        self.upsert_writes: Executable = ins_w.on_conflict_do_update(
            index_elements=_pk(writes),
            set_={name: ins_w.excluded[name] for name in ("channel", "type", "blob", "task_path")},
        )
        self.insert_writes: Executable = insert(writes).on_conflict_do_nothing(index_elements=_pk(writes))

    def _reads(self) -> None:
        """The statements that read checkpoints back: writes and value chains by key, whole checkpoints."""
        bl, wr = blobs.c, writes.c
        self.select_writes_by_keys: Executable = sa.select(*WRITE_COLUMNS).where(
            sa.tuple_(wr.thread_id, wr.checkpoint_ns, wr.checkpoint_id).in_(_P("keys", expanding=True))
        )

        # The stored rows behind (thread, ns, channel, version) keys: each with every row of its
        # delta chain (rows sharing its snapshot_version), which the deltas are rebuilt from.
        target = blobs.alias("target")
        same_chain = sa.exists().where(
            sa.tuple_(target.c.thread_id, target.c.checkpoint_ns, target.c.channel, target.c.version).in_(_P("keys", expanding=True)),
            target.c.thread_id == bl.thread_id,
            target.c.checkpoint_ns == bl.checkpoint_ns,
            target.c.channel == bl.channel,
            target.c.snapshot_version == bl.snapshot_version,
        )
        self.select_blob_chains: Executable = sa.select(*BLOB_COLUMNS).where(same_chain)

        # One round trip for get_tuple: the checkpoint ("c" row), its pending writes ("w" rows)
        # and the stored values it uses with the rest of their delta chains ("b" rows).
        self.select_whole_checkpoint: Executable = self._whole_checkpoint(self._head(by_id=True))
        self.select_whole_latest: Executable = self._whole_checkpoint(self._head(by_id=False))
        # PostgreSQL: the same for several threads at once (parameters `thread_ids`, `checkpoint_nss`:
        # arrays of the same length), the rows of each told apart by thread_id and checkpoint_ns.
        self.select_whole_latest_many: Executable | None = (
            self._whole_checkpoint(self._heads_of_many()) if self.dialect == "postgresql" else None
        )

    def _deletes_and_copies(self, insert: Any) -> None:
        """The statements that delete, copy and prune threads."""
        cp, bl, wr = checkpoints.c, blobs.c, writes.c
        self.delete_thread: tuple[Executable, ...] = tuple(
            sa.delete(t).where(t.c.thread_id == _P("thread_id")) for t in (writes, blobs, checkpoints)
        )
        self.copy_thread: tuple[Executable, ...] = tuple(
            insert(t)
            .from_select(
                [c.name for c in t.columns],
                sa.select(*[_P("target", type_=sa.Text) if c.name == "thread_id" else c for c in t.columns]).where(
                    t.c.thread_id == _P("source")
                ),
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
        self.select_thread_blob_keys: Executable = sa.select(bl.checkpoint_ns, bl.channel, bl.version, bl.base_version).where(
            bl.thread_id == _P("thread_id")
        )
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
        self.select_thread_ids: sa.Select[Any] = sa.select(cp.thread_id).distinct().order_by(cp.thread_id)

    @staticmethod
    def _head(*, by_id: bool) -> sa.Select[Any]:
        """One checkpoint of one thread: by ID, or the latest."""
        cp = checkpoints.c
        found = sa.select(*CHECKPOINT_COLUMNS).where(cp.thread_id == _P("thread_id"), cp.checkpoint_ns == _P("checkpoint_ns"))
        if by_id:
            return found.where(cp.checkpoint_id == _P("checkpoint_id"))
        return found.order_by(cp.checkpoint_id.desc()).limit(1)

    @staticmethod
    def _heads_of_many() -> sa.Select[Any]:
        """PostgreSQL: the latest checkpoint of each (thread_ids[i], checkpoint_nss[i])."""
        cp = checkpoints.c
        keys = sa.select(
            sa.func.unnest(_P("thread_ids", type_=postgresql.ARRAY(sa.Text))).label("thread_id"),
            sa.func.unnest(_P("checkpoint_nss", type_=postgresql.ARRAY(sa.Text))).label("checkpoint_ns"),
        ).cte("keys")
        latest = (
            sa.select(*CHECKPOINT_COLUMNS)
            .where(cp.thread_id == keys.c.thread_id, cp.checkpoint_ns == keys.c.checkpoint_ns)
            .order_by(cp.checkpoint_id.desc())
            .limit(1)
            .lateral("latest")
        )
        return sa.select(*latest.c).select_from(keys).join(latest, sa.true())

    def _whole_checkpoint(self, found: sa.Select[Any]) -> Executable:
        """The checkpoints `found` selects with their writes and stored values, as tagged rows."""
        bl, wr = blobs.c, writes.c
        head = found.cte("head")
        each_fn = sa.func.jsonb_each_text if self.dialect == "postgresql" else sa.func.json_each
        each = each_fn(head.c.blob_versions).table_valued("key", "value")
        target = blobs.alias("target")
        # A scalar subquery per stored value: looked up by primary key on both databases,
        # whatever the planner estimates for the thread's rows.
        snapshot_of = (
            sa.select(target.c.snapshot_version)
            .where(
                target.c.thread_id == head.c.thread_id,
                target.c.checkpoint_ns == head.c.checkpoint_ns,
                target.c.channel == each.c.key,
                target.c.version == each.c.value,
            )
            .scalar_subquery()
        )
        targets = (
            sa.select(
                head.c.thread_id,
                head.c.checkpoint_ns,
                each.c.key.label("channel"),
                snapshot_of.label("snapshot_version"),
            )
            .select_from(head)
            .join(each, sa.true())
            .cte("targets")
            .prefix_with("MATERIALIZED")
        )
        head_row = sa.select(*_whole_row("c", head.c))
        of_head = sa.and_(
            wr.thread_id == head.c.thread_id,
            wr.checkpoint_ns == head.c.checkpoint_ns,
            wr.checkpoint_id == head.c.checkpoint_id,
        )
        write_rows = self._tagged_lookup("w", head, writes, of_head)
        same_chain = sa.and_(
            bl.snapshot_version == targets.c.snapshot_version,
            bl.channel == targets.c.channel,
            # `|| ''` keeps the planners off the primary key here (a scan of the whole thread):
            # the chain index, which starts with snapshot_version, is the one to use.
            bl.thread_id + "" == targets.c.thread_id,
            bl.checkpoint_ns + "" == targets.c.checkpoint_ns,
        )
        chain_rows = self._tagged_lookup("b", targets, blobs, same_chain)
        return sa.union_all(head_row, write_rows, chain_rows)

    def _tagged_lookup(self, kind: str, outer: sa.CTE, table: sa.Table, condition: sa.ColumnElement[bool]) -> sa.Select[Any]:
        """The rows of `table` matching `condition` for each row of `outer`, as `kind` rows of `WHOLE_ROW`.

        PostgreSQL gets an index lookup per outer row (LATERAL, kept from being pulled up into a
        join by OFFSET 0): as a join, its planner, which cannot estimate the outer rows, hashes a
        scan of the whole table.
        """
        if self.dialect == "postgresql":
            columns = [table.c[field] for field in WHOLE_ROW_FIELDS[kind].values()]
            found = sa.select(*columns).where(condition).offset(0).lateral(f"{kind}_rows")
            return sa.select(*_whole_row(kind, found.c)).select_from(outer).join(found, sa.true())
        return sa.select(*_whole_row(kind, table.c)).join(outer, condition)

    # --- statements built per call ---

    def put_in_one_statement(self, n_full: int, n_delta: int) -> Executable:
        """PostgreSQL: a checkpoint with its new values in one atomic statement.

        Parameters: `f{i}_<column>` for full rows, `d{i}_<column>` for deltas, the checkpoint's
        columns by name. The checkpoint is written (and its ID returned) only if every delta was:
        a delta is skipped when the version it extends is gone.
        """
        key = (n_full, n_delta)
        if key in self._put_statements:
            return self._put_statements[key]
        insert = postgresql.insert
        names = [c.name for c in BLOB_COLUMNS]
        ctes = []
        if n_full:
            # INSERT ... SELECT rather than multi-row VALUES, which SQLAlchemy cannot cache.
            rows = [sa.select(*[_P(f"f{i}_{n}", type_=blobs.c[n].type) for n in names]) for i in range(n_full)]
            full = insert(blobs).from_select(names, sa.union_all(*rows) if n_full > 1 else rows[0])
            ctes.append(full.on_conflict_do_nothing(index_elements=_pk(blobs)).cte("full_rows"))
        condition: list[sa.ColumnElement[bool]] = []
        if n_delta:
            base = blobs.alias("base")
            selects = [
                sa.select(*[_P(f"d{i}_{n}", type_=blobs.c[n].type) for n in names]).where(
                    sa.exists().where(
                        base.c.thread_id == _P(f"d{i}_thread_id"),
                        base.c.checkpoint_ns == _P(f"d{i}_checkpoint_ns"),
                        base.c.channel == _P(f"d{i}_channel"),
                        base.c.version == _P(f"d{i}_base_version"),
                    )
                )
                for i in range(n_delta)
            ]
            deltas = (
                insert(blobs)
                .from_select(names, sa.union_all(*selects) if n_delta > 1 else selects[0])
                .on_conflict_do_nothing(index_elements=_pk(blobs))
                .returning(blobs.c.version)
                .cte("delta_rows")
            )
            written = sa.select(sa.func.count()).select_from(deltas).scalar_subquery()
            existing = (
                sa.select(sa.func.count())
                .select_from(blobs)
                .where(
                    sa.or_(
                        *[
                            sa.and_(
                                blobs.c.thread_id == _P(f"d{i}_thread_id"),
                                blobs.c.checkpoint_ns == _P(f"d{i}_checkpoint_ns"),
                                blobs.c.channel == _P(f"d{i}_channel"),
                                blobs.c.version == _P(f"d{i}_version"),
                            )
                            for i in range(n_delta)
                        ]
                    )
                )
                .scalar_subquery()
            )
            # Each delta is either written now or already stored (a retried put).
            condition.append(written + existing == n_delta)
        columns = [c.name for c in checkpoints.columns]
        row = sa.select(*[_P(n, type_=checkpoints.c[n].type) for n in columns])
        if condition:
            row = row.where(*condition)
        ins = insert(checkpoints).from_select(columns, row)
        stmt: Any = ins.on_conflict_do_update(
            index_elements=_pk(checkpoints),
            set_={name: ins.excluded[name] for name in ("run_id", "created_at", "type", "checkpoint", "blob_versions", "metadata")},
        ).returning(checkpoints.c.checkpoint_id)
        if ctes:
            stmt = stmt.add_cte(*ctes)
        self._put_statements[key] = stmt
        return stmt

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
