"""Checkpoint tables: checkpoints, channel value blobs (with append-only deltas), pending writes.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ag_checkpoints",
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("checkpoint_ns", sa.Text(), nullable=False, server_default=""),
        sa.Column("checkpoint_id", sa.Text(), nullable=False),
        sa.Column("parent_checkpoint_id", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("checkpoint", sa.LargeBinary(), nullable=False),
        sa.Column("blob_versions", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.PrimaryKeyConstraint("thread_id", "checkpoint_ns", "checkpoint_id", name="pk_ag_checkpoints"),
    )
    op.create_index("ix_ag_checkpoints_run_id", "ag_checkpoints", ["run_id"])
    op.create_index("ix_ag_checkpoints_created_at", "ag_checkpoints", ["created_at"])

    op.create_table(
        "ag_checkpoint_blobs",
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("checkpoint_ns", sa.Text(), nullable=False, server_default=""),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.Column("base_version", sa.Text(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("snapshot_version", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("thread_id", "checkpoint_ns", "channel", "version", name="pk_ag_checkpoint_blobs"),
    )
    # A delta chain (a full value and the deltas on top of it) is read with one index range.
    op.create_index(
        "ix_ag_checkpoint_blobs_chain",
        "ag_checkpoint_blobs",
        ["snapshot_version", "channel", "thread_id", "checkpoint_ns"],
    )

    op.create_table(
        "ag_checkpoint_writes",
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("checkpoint_ns", sa.Text(), nullable=False, server_default=""),
        sa.Column("checkpoint_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("task_path", sa.Text(), nullable=False, server_default=""),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx", name="pk_ag_checkpoint_writes"),
    )


def downgrade() -> None:
    op.drop_table("ag_checkpoint_writes")
    op.drop_index("ix_ag_checkpoint_blobs_chain", table_name="ag_checkpoint_blobs")
    op.drop_table("ag_checkpoint_blobs")
    op.drop_index("ix_ag_checkpoints_created_at", table_name="ag_checkpoints")
    op.drop_index("ix_ag_checkpoints_run_id", table_name="ag_checkpoints")
    op.drop_table("ag_checkpoints")
