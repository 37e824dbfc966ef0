"""Memory store tables: items (JSON values with TTL) and their embeddings.

On PostgreSQL where the pgvector extension can be enabled, `store_item_vectors.embedding` is a
`vector(384)` column with an HNSW cosine index; elsewhere it is a float32 blob searched exactly.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EMBEDDING_DIMS = 384  # all-MiniLM-L6-v2, the default embedding model


class _Vector(sa.types.UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return f"vector({EMBEDDING_DIMS})"


def _enable_pgvector(bind: Connection) -> bool:
    """Enable pgvector when this PostgreSQL server has it; False when it cannot be enabled."""
    if bind.dialect.name != "postgresql":
        return False
    available = bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").first()
    if available is None:
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
    except DBAPIError:
        return False
    return True


def upgrade() -> None:
    pgvector = _enable_pgvector(op.get_bind())
    op.create_table(
        "store_items",
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ttl_minutes", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("prefix", "key", name="pk_store_items"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("store_items_prefix_idx", "store_items", ["prefix"], postgresql_ops={"prefix": "text_pattern_ops"})
    op.create_index(
        "store_items_expires_at_idx",
        "store_items",
        ["expires_at"],
        postgresql_where=sa.text("expires_at IS NOT NULL"),
        sqlite_where=sa.text("expires_at IS NOT NULL"),
    )
    op.create_table(
        "store_item_vectors",
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("embedding", _Vector() if pgvector else sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "key", "field", name="pk_store_item_vectors"),
        sa.ForeignKeyConstraint(
            ["prefix", "key"],
            ["store_items.prefix", "store_items.key"],
            name="fk_store_item_vectors_item",
            ondelete="CASCADE",
        ),
    )
    if pgvector:
        op.create_index(
            "store_item_vectors_embedding_idx",
            "store_item_vectors",
            ["embedding"],
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        )


def downgrade() -> None:
    op.drop_table("store_item_vectors")
    op.drop_index("store_items_expires_at_idx", table_name="store_items")
    op.drop_index("store_items_prefix_idx", table_name="store_items", if_exists=True)
    op.drop_table("store_items")
