"""API keys of the HTTP service, the threads each key owns, and the principal of every tool audit row.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ag_api_keys",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("runs_per_minute", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_minute", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("window_runs", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("name", name="uq_ag_api_keys_name"),
        sa.UniqueConstraint("digest", name="uq_ag_api_keys_digest"),
        sa.CheckConstraint("role IN ('user', 'approver', 'admin')", name="ck_ag_api_keys_role"),
    )
    op.create_table(
        "ag_thread_owners",
        sa.Column("thread_id", sa.Text(), primary_key=True),
        sa.Column("key_id", sa.Text(), sa.ForeignKey("ag_api_keys.id", name="fk_ag_thread_owners_key"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ag_thread_owners_key_id", "ag_thread_owners", ["key_id"])
    with op.batch_alter_table("ag_tool_audit") as batch:
        batch.add_column(sa.Column("principal", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ag_tool_audit") as batch:
        batch.drop_column("principal")
    op.drop_index("ix_ag_thread_owners_key_id", table_name="ag_thread_owners")
    op.drop_table("ag_thread_owners")
    op.drop_table("ag_api_keys")
