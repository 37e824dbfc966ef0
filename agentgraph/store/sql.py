"""Every SQL statement of the memory store, built with SQLAlchemy Core for SQLite and PostgreSQL.

The few places where the two dialects differ (JSON access, namespace-prefix matching, upsert,
pgvector) are methods of `StoreSQL`; everything else is one statement for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from agentgraph.errors import StorageError
from agentgraph.store.schema import (
    VECTORS_TABLE,
    Vector,
    pgvector_table,
    store_item_vectors,
    store_items,
)

__all__ = [
    "chunks",
    "escape_like",
    "FILTER_OPERATORS",
    "ITEM_COLUMNS",
    "StoreSQL",
    "SUPPORTED_DIALECTS",
    "Unsupported",
]

ITEM_COLUMNS = (
    store_items.c.prefix,
    store_items.c.key,
    store_items.c.value,
    store_items.c.created_at,
    store_items.c.updated_at,
    store_items.c.ttl_minutes,
)
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
FILTER_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
_COMPARE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


class Unsupported(Exception):
    """A filter that SQL cannot express exactly; it is applied in Python instead."""


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so `text` matches literally (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class StoreSQL:
    """Statement builders for one SQL dialect."""

    def __init__(self, dialect: str) -> None:
        if dialect not in SUPPORTED_DIALECTS:
            raise StorageError(f"the memory store supports SQLite and PostgreSQL, not {dialect!r}")
        self.dialect = dialect
        self.postgres = dialect == "postgresql"

    # -- namespaces -------------------------------------------------------------------------

    def prefix_condition(self, column: Any, prefix: str) -> ColumnElement[bool]:
        """`column` is the namespace `prefix` or one below it."""
        if self.postgres:  # LIKE is case-sensitive here and uses the text_pattern_ops index
            below = column.like(escape_like(prefix) + ".%", escape="\\")
        else:  # SQLite's LIKE ignores case: a byte range is exact and uses the primary key
            below = sa.and_(column >= prefix + ".", column < prefix + "/")
        return sa.or_(column == prefix, below)

    def suffix_condition(self, column: Any, suffix: str) -> ColumnElement[bool]:
        """`column` is the namespace `suffix` or ends with its labels."""
        if self.postgres:
            return sa.or_(column == suffix, column.like("%." + escape_like(suffix), escape="\\"))
        return sa.or_(column == suffix, sa.func.substr(column, -(len(suffix) + 1)) == "." + suffix)

    # -- JSON values ------------------------------------------------------------------------

    def _json_parts(self, key: str) -> tuple[Any, Any, Any]:
        """(type of value[key], its text if a string, its number if a number)."""
        value = store_items.c.value
        if self.postgres:
            name = sa.cast(sa.literal(key), sa.Text)
            node = value.op("->")(name)
            typeof = sa.func.jsonb_typeof(node)
            raw_text = value.op("->>", return_type=sa.Text)(name)
            kind = sa.case((typeof == "boolean", sa.cast(node, sa.Text)), else_=typeof)
            text = sa.case((typeof == "string", sa.collate(raw_text, "C")))
            number = sa.case((typeof == "number", sa.cast(raw_text, sa.Float)))
            return kind, text, number
        if '"' in key or "\\" in key:
            raise Unsupported(key)
        path = sa.literal('$."' + key + '"')
        typeof = sa.func.json_type(value, path)
        extracted = sa.func.json_extract(value, path)
        kind = sa.case((typeof.in_(("integer", "real")), "number"), (typeof == "text", "string"), else_=typeof)
        text = sa.case((typeof == "text", extracted))
        number = sa.case((typeof.in_(("integer", "real")), extracted))
        return kind, text, number

    def _equals(self, key: str, expected: Any) -> ColumnElement[bool]:
        kind, text, number = self._json_parts(key)
        if expected is None:
            return sa.or_(kind.is_(None), kind == "null")
        if isinstance(expected, bool):
            return sa.func.coalesce(kind == ("true" if expected else "false"), False)
        if isinstance(expected, (int, float)):
            return sa.func.coalesce(number == float(expected), False)
        if isinstance(expected, str):
            return sa.func.coalesce(text == expected, False)
        raise Unsupported(key)

    def filter_condition(self, key: str, operator: str, operand: Any) -> ColumnElement[bool]:
        """SQL for one filter term; raises `Unsupported` when only Python can decide it exactly."""
        if operator == "$eq":
            return self._equals(key, operand)
        if operator == "$ne":
            return sa.not_(self._equals(key, operand))
        _, text, number = self._json_parts(key)
        if isinstance(operand, bool) or not isinstance(operand, (int, float, str)):
            raise StorageError(f"filter {operator} on {key!r} needs a number or a string, got {operand!r}")
        field = text if isinstance(operand, str) else number
        bound = operand if isinstance(operand, str) else float(operand)
        return sa.func.coalesce(_COMPARE[operator](field, bound), False)

    # -- items ------------------------------------------------------------------------------

    def select_items(self, prefix: str, keys: Sequence[str]) -> sa.Select[Any]:
        return sa.select(*ITEM_COLUMNS).where(store_items.c.prefix == prefix, store_items.c.key.in_(keys))

    def select_items_by_pairs(self, pairs: Sequence[tuple[str, str]]) -> sa.Select[Any]:
        return sa.select(*ITEM_COLUMNS).where(sa.tuple_(store_items.c.prefix, store_items.c.key).in_(pairs))

    def search_items(self, conditions: Sequence[ColumnElement[bool]], limit: int | None, offset: int) -> sa.Select[Any]:
        """Items matching `conditions`, most recently updated first."""
        stmt = (
            sa.select(*ITEM_COLUMNS).where(*conditions).order_by(store_items.c.updated_at.desc(), store_items.c.prefix, store_items.c.key)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt.offset(offset) if offset else stmt

    def not_expired(self, now: datetime) -> ColumnElement[bool]:
        return sa.or_(store_items.c.expires_at.is_(None), store_items.c.expires_at > now)

    def distinct_prefixes(self, conditions: Sequence[ColumnElement[bool]]) -> sa.Select[Any]:
        return sa.select(store_items.c.prefix).where(*conditions).distinct()

    def count_items(self, conditions: Sequence[ColumnElement[bool]]) -> sa.Select[Any]:
        stmt = sa.select(sa.func.count(), sa.func.max(store_items.c.updated_at)).where(*conditions)
        return cast(sa.Select[Any], stmt)

    def upsert_items(self) -> Any:
        """Insert-or-replace of items (executemany over prefix, key, value, times, ttl)."""
        insert = postgresql.insert if self.postgres else sqlite.insert
        stmt = insert(store_items)
        return stmt.on_conflict_do_update(
            index_elements=[store_items.c.prefix, store_items.c.key],
            set_={
                "value": stmt.excluded.value,
                "updated_at": stmt.excluded.updated_at,
                "expires_at": stmt.excluded.expires_at,
                "ttl_minutes": stmt.excluded.ttl_minutes,
            },
        )

    def delete_items(self, prefix: str, keys: Sequence[str]) -> sa.Delete:
        return sa.delete(store_items).where(store_items.c.prefix == prefix, store_items.c.key.in_(keys))

    def refresh_expiry(self) -> sa.Update:
        """Set `expires_at` of one item (executemany over b_prefix, b_key, b_expires_at)."""
        return (
            sa.update(store_items)
            .where(store_items.c.prefix == sa.bindparam("b_prefix"), store_items.c.key == sa.bindparam("b_key"))
            .values(expires_at=sa.bindparam("b_expires_at"))
        )

    def expired(self, now: datetime) -> ColumnElement[bool]:
        return sa.and_(store_items.c.expires_at.is_not(None), store_items.c.expires_at <= now)

    def delete_expired(self, now: datetime) -> tuple[sa.Delete, sa.Delete]:
        """Statements removing the vectors, then the items, whose TTL has run out."""
        vectors = store_item_vectors
        owner_expired = (
            sa.select(sa.literal(1))
            .where(store_items.c.prefix == vectors.c.prefix, store_items.c.key == vectors.c.key, self.expired(now))
            .exists()
        )
        return sa.delete(vectors).where(owner_expired), sa.delete(store_items).where(self.expired(now))

    # -- vectors ----------------------------------------------------------------------------

    def vector_table(self, pgvector_dims: int | None) -> sa.Table:
        return pgvector_table(pgvector_dims) if pgvector_dims else store_item_vectors

    def delete_vectors(self, prefix: str, keys: Sequence[str]) -> sa.Delete:
        v = store_item_vectors
        return sa.delete(v).where(v.c.prefix == prefix, v.c.key.in_(keys))

    def insert_vectors(self, pgvector_dims: int | None) -> sa.Insert:
        """Insert of vectors (executemany over prefix, key, field, embedding)."""
        return sa.insert(self.vector_table(pgvector_dims))

    def _vector_join(self, table: sa.Table) -> Any:
        return table.join(store_items, sa.and_(store_items.c.prefix == table.c.prefix, store_items.c.key == table.c.key))

    def scan_vectors(self, conditions: Sequence[ColumnElement[bool]]) -> sa.Select[Any]:
        """All stored vectors of the items matching `conditions` (exact search)."""
        v = store_item_vectors
        return sa.select(v.c.prefix, v.c.key, v.c.embedding).select_from(self._vector_join(v)).where(*conditions)

    def nearest_vectors(
        self, conditions: Sequence[ColumnElement[bool]], query: Sequence[float], dims: int, limit: int | None
    ) -> sa.Select[Any]:
        """Vectors nearest to `query` by cosine distance (pgvector; ANN index when one fits)."""
        v = pgvector_table(dims)
        distance = v.c.embedding.op("<=>", return_type=sa.Float)(sa.bindparam("query", list(query), type_=Vector(dims)))
        stmt = (
            sa.select(v.c.prefix, v.c.key, distance.label("distance"))
            .select_from(self._vector_join(v))
            .where(*conditions)
            .order_by(distance)
        )
        return stmt.limit(limit) if limit is not None else stmt

    def ann_settings(self, limit: int, iterative: bool) -> list[sa.TextClause]:
        """Per-transaction pgvector settings so a filtered HNSW scan still returns `limit` rows."""
        ef_search = max(40, min(limit, 1000))
        settings = [sa.text(f"SET LOCAL hnsw.ef_search = {ef_search:d}")]
        if iterative:
            settings.append(sa.text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        return settings

    def vector_column_type(self) -> sa.TextClause | None:
        """The declared type of `store_item_vectors.embedding`, e.g. 'vector(384)' (PostgreSQL only)."""
        if not self.postgres:
            return None
        return sa.text(
            "SELECT format_type(a.atttypid, a.atttypmod) AS type,"
            " (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS version"
            " FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass(:table) AND a.attname = 'embedding' AND NOT a.attisdropped"
        ).bindparams(table=VECTORS_TABLE)


def chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """Slices of at most `size` items (keeps IN lists and parameter counts bounded)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
