"""Tool audit and idempotency records: every tool call an agent made, and the results of side-effecting calls.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ag_tool_audit",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.Text(), nullable=True),
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("subtask", sa.Text(), nullable=True),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("tool_call_id", sa.Text(), nullable=False),
        sa.Column("arguments", JSON, nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("replayed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.CheckConstraint("outcome IN ('ok', 'error', 'refused', 'rejected', 'limit')", name="ck_ag_tool_audit_outcome"),
    )
    op.create_index("ix_ag_tool_audit_thread_tool_time", "ag_tool_audit", ["thread_id", "tool", "started_at"])
    op.create_index("ix_ag_tool_audit_run_id", "ag_tool_audit", ["run_id"])
    op.create_table(
        "ag_tool_results",
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("tool_call_id", sa.Text(), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("arguments", JSON, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("thread_id", "tool_call_id", name="pk_ag_tool_results"),
        sa.CheckConstraint("status IN ('running', 'done')", name="ck_ag_tool_results_status"),
    )


def downgrade() -> None:
    op.drop_table("ag_tool_results")
    op.drop_index("ix_ag_tool_audit_run_id", table_name="ag_tool_audit")
    op.drop_index("ix_ag_tool_audit_thread_tool_time", table_name="ag_tool_audit")
    op.drop_table("ag_tool_audit")
