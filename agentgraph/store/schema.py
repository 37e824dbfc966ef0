"""Tables of the long-term memory store (SQLAlchemy Core), shared by SQLite and PostgreSQL.

`store_items` holds one JSON value per (namespace, key); the namespace is stored as its labels
joined by "." (labels never contain a "."). `store_item_vectors` holds the embeddings of an item's
indexed fields. Its `embedding` column is a float32 blob everywhere except on PostgreSQL with the
pgvector extension, where migration 0002 makes it `vector(384)` with an HNSW index:
`pgvector_table(dims)` describes that variant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, UserDefinedType

__all__ = [
    "ITEMS_TABLE",
    "JSONValue",
    "metadata",
    "pgvector_table",
    "store_item_vectors",
    "store_items",
    "UTCDateTime",
    "Vector",
    "VECTOR_INDEX",
    "VECTORS_TABLE",
]

ITEMS_TABLE = "store_items"
VECTORS_TABLE = "store_item_vectors"
VECTOR_INDEX = "store_item_vectors_embedding_idx"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp; SQLite keeps it as naive UTC text, which sorts by time."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Vector(UserDefinedType[list[float]]):
    """pgvector's `vector(dims)`; values are bound as its text form and cast."""

    cache_ok = True

    def __init__(self, dims: int) -> None:
        self.dims = dims

    def get_col_spec(self, **kw: Any) -> str:
        return f"vector({self.dims})"

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: Any) -> str | None:
            if value is None:
                return None
            return "[" + ",".join(repr(float(x)) for x in value) + "]"

        return process

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, self)


JSONValue = sa.JSON().with_variant(JSONB(), "postgresql")

metadata = sa.MetaData()

store_items = sa.Table(
    ITEMS_TABLE,
    metadata,
    sa.Column("prefix", sa.Text, primary_key=True, comment="namespace labels joined by '.'"),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", JSONValue, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("ttl_minutes", sa.Float, nullable=True),
)
sa.Index(
    "store_items_prefix_idx",
    store_items.c.prefix,
    postgresql_ops={"prefix": "text_pattern_ops"},
).ddl_if(dialect="postgresql")
sa.Index(
    "store_items_expires_at_idx",
    store_items.c.expires_at,
    postgresql_where=store_items.c.expires_at.is_not(None),
    sqlite_where=store_items.c.expires_at.is_not(None),
)


def _vector_columns(embedding_type: sa.types.TypeEngine[Any]) -> list[Any]:
    return [
        sa.Column("prefix", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("field", sa.Text, primary_key=True, comment="the indexed path, e.g. 'text' or 'tags.0'"),
        sa.Column("embedding", embedding_type, nullable=False),
        sa.ForeignKeyConstraint(["prefix", "key"], [f"{ITEMS_TABLE}.prefix", f"{ITEMS_TABLE}.key"], ondelete="CASCADE"),
    ]


store_item_vectors = sa.Table(VECTORS_TABLE, metadata, *_vector_columns(sa.LargeBinary()))


@lru_cache(maxsize=4)
def pgvector_table(dims: int) -> sa.Table:
    """`store_item_vectors` as it is on PostgreSQL with pgvector (`embedding vector(dims)`)."""
    columns = [c for c in _vector_columns(Vector(dims)) if isinstance(c, sa.Column)]
    return sa.Table(VECTORS_TABLE, sa.MetaData(), *columns)
