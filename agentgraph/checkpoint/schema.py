"""The checkpoint tables as SQLAlchemy Core objects (created by the Alembic migration 0001).

* `ag_checkpoints`: one row per checkpoint; the checkpoint without its stored channel values
  (serialized by the serde), small primitive values inline, and `blob_versions`, the
  `{channel: version}` of the values kept in `ag_checkpoint_blobs`.
* `ag_checkpoint_blobs`: one row per (thread, namespace, channel, version): a value is written once,
  when its channel changes. A list that only grew is stored as the appended items with
  `base_version` naming the version it extends; `depth` counts the links back to a full value,
  and `snapshot_version` names that full value (so a whole chain is one index range).
* `ag_checkpoint_writes`: pending writes of the tasks of a checkpoint.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = ["blobs", "checkpoints", "JSON", "metadata", "TABLES", "writes"]

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData()

checkpoints = sa.Table(
    "ag_checkpoints",
    metadata,
    sa.Column("thread_id", sa.Text(), primary_key=True),
    sa.Column("checkpoint_ns", sa.Text(), primary_key=True, server_default=""),
    sa.Column("checkpoint_id", sa.Text(), primary_key=True),
    sa.Column("parent_checkpoint_id", sa.Text(), nullable=True),
    sa.Column("run_id", sa.Text(), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("checkpoint", sa.LargeBinary(), nullable=False),
    sa.Column("blob_versions", JSON, nullable=False),
    sa.Column("metadata", JSON, nullable=False),
)

blobs = sa.Table(
    "ag_checkpoint_blobs",
    metadata,
    sa.Column("thread_id", sa.Text(), primary_key=True),
    sa.Column("checkpoint_ns", sa.Text(), primary_key=True, server_default=""),
    sa.Column("channel", sa.Text(), primary_key=True),
    sa.Column("version", sa.Text(), primary_key=True),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("blob", sa.LargeBinary(), nullable=True),
    sa.Column("base_version", sa.Text(), nullable=True),
    sa.Column("depth", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("snapshot_version", sa.Text(), nullable=False),
    sa.Index("ix_ag_checkpoint_blobs_chain", "snapshot_version", "channel", "thread_id", "checkpoint_ns"),
)

writes = sa.Table(
    "ag_checkpoint_writes",
    metadata,
    sa.Column("thread_id", sa.Text(), primary_key=True),
    sa.Column("checkpoint_ns", sa.Text(), primary_key=True, server_default=""),
    sa.Column("checkpoint_id", sa.Text(), primary_key=True),
    sa.Column("task_id", sa.Text(), primary_key=True),
    sa.Column("idx", sa.Integer(), primary_key=True),
    sa.Column("task_path", sa.Text(), nullable=False, server_default=""),
    sa.Column("channel", sa.Text(), nullable=False),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("blob", sa.LargeBinary(), nullable=True),
)

TABLES = (checkpoints, blobs, writes)
