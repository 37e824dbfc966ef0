"""Logic shared by the sync and async memory stores.

A batch runs in three steps: `_plan` (pure: group the ops, collect the texts to embed), embedding
(the only step whose sync and async forms differ), and `_execute` on a synchronous SQLAlchemy
`Connection` in one transaction. The async store runs `_execute` through
`AsyncConnection.run_sync`, so both stores share every statement and every rule.

Semantics follow LangGraph's `PostgresStore`, with `InMemoryStore`'s filter rules:

- `put` replaces the value and keeps `created_at`; the item's old vectors are always replaced.
- Reads in a batch run before its writes; of several puts to one key in a batch the last wins.
- `search` without a query lists items most recently updated first; with a query it ranks
  indexed items by cosine similarity (max over an item's vectors) and ignores unindexed ones.
- Filters compare top-level keys: a plain value means JSON equality (`1 != "1"`, `true != 1`,
  `None` also matches a missing key), `$ne` its negation, `$gt/$gte/$lt/$lte` compare numbers with
  numbers and strings with strings (by code point); an item whose value has another type does not
  match. A nested object matches when each of its keys matches (recursively), a list elementwise.
- TTLs are minutes; reads refresh them when asked (`refresh_ttl`, default from `TTLConfig`);
  expired items stay visible until swept unless `omit_expired` is set.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

import sqlalchemy as sa
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from agentgraph.db.engine import redact
from agentgraph.db.migrate import check_connection
from agentgraph.embeddings import EMBEDDING_DIMS, OfflineEmbeddings
from agentgraph.errors import StorageError
from agentgraph.store.schema import store_items
from agentgraph.store.sql import FILTER_OPERATORS, StoreSQL, Unsupported, chunks

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are scored: most runs never search by vector

__all__ = [
    "BaseSQLAlchemyStore",
    "matches_filter",
    "ns_text",
    "ns_tuple",
    "StoreIndexConfig",
    "utcnow",
    "VectorBackend",
]

logger = logging.getLogger(__name__)

_MISSING: Any = object()
_PAIRS_PER_QUERY = 500


class StoreIndexConfig(IndexConfig, total=False):
    """Semantic-search settings: LangGraph's `IndexConfig`; `dims` defaults to 384 and `embed` to
    the offline all-MiniLM-L6-v2 model. Only cosine distance is supported."""

    distance_type: Literal["cosine"]


class VectorBackend(NamedTuple):
    """How this database searches vectors: pgvector (`dims` of its column) or exact in Python."""

    pgvector_dims: int | None = None
    iterative_scan: bool = False

    @property
    def name(self) -> str:
        return "pgvector" if self.pgvector_dims else "exact"


@dataclass
class _Plan:
    size: int
    gets: list[tuple[int, GetOp]] = field(default_factory=list)
    searches: list[tuple[int, SearchOp]] = field(default_factory=list)
    lists: list[tuple[int, ListNamespacesOp]] = field(default_factory=list)
    puts: list[PutOp] = field(default_factory=list)
    texts: list[tuple[str, str, str, str]] = field(default_factory=list)  # prefix, key, field, text
    queries: list[str] = field(default_factory=list)


@dataclass
class _BatchState:
    now: datetime
    refresh: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def touch(self, row: Row[Any]) -> None:
        """Schedule a TTL refresh of a row that was read."""
        if row.ttl_minutes is not None:
            self.refresh[(row.prefix, row.key)] = {
                "b_prefix": row.prefix,
                "b_key": row.key,
                "b_expires_at": self.now + timedelta(minutes=row.ttl_minutes),
            }


@dataclass
class _Vectors:
    documents: list[list[float]] = field(default_factory=list)
    queries: dict[str, list[float]] = field(default_factory=dict)


def ns_text(namespace: Sequence[str]) -> str:
    """A namespace as stored: its labels joined by '.'."""
    return ".".join(namespace)


def ns_tuple(text: str) -> tuple[str, ...]:
    """A stored namespace as a tuple of labels."""
    return tuple(text.split("."))


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- filters (the Python side; `StoreSQL.filter_condition` is the SQL side) ---------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scalar_equal(actual: Any, expected: Any) -> bool:
    if expected is None:
        return actual is None or actual is _MISSING
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if _is_number(expected):
        return _is_number(actual) and float(actual) == float(expected)
    return type(actual) is type(expected) and actual == expected


def _apply_operator(actual: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return _value_matches(actual, operand)
    if operator == "$ne":
        return not _value_matches(actual, operand)
    if isinstance(operand, str):
        ok = isinstance(actual, str)
    elif _is_number(operand):
        ok = _is_number(actual)
        actual, operand = (float(actual), float(operand)) if ok else (actual, operand)
    else:
        raise StorageError(f"filter {operator} needs a number or a string, got {operand!r}")
    if not ok:
        return False
    return {"$gt": actual > operand, "$gte": actual >= operand, "$lt": actual < operand, "$lte": actual <= operand}[operator]


def _operators(spec: Any) -> dict[str, Any] | None:
    """The operators of a filter value ({"$gt": 1}), or None for a plain value."""
    if isinstance(spec, Mapping) and any(str(k).startswith("$") for k in spec):
        unknown = [k for k in spec if k not in FILTER_OPERATORS]
        if unknown:
            raise StorageError(f"unsupported filter operator(s) {unknown}; use one of {list(FILTER_OPERATORS)}")
        return dict(spec)
    return None


def _value_matches(actual: Any, spec: Any) -> bool:
    """Whether a stored value matches a filter value (module docstring: filter rules)."""
    operators = _operators(spec)
    if operators is not None:
        return all(_apply_operator(actual, op, operand) for op, operand in operators.items())
    if isinstance(spec, Mapping):
        return isinstance(actual, Mapping) and all(_value_matches(actual.get(k, _MISSING), v) for k, v in spec.items())
    if isinstance(spec, (list, tuple)):
        return (
            isinstance(actual, list) and len(actual) == len(spec) and all(_value_matches(a, s) for a, s in zip(actual, spec, strict=True))
        )
    return _scalar_equal(actual, spec)


def matches_filter(value: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    """Whether an item's value passes a search filter."""
    return all(_value_matches(value.get(key, _MISSING), spec) for key, spec in filter.items())


def _does_match(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise StorageError(f"unsupported namespace match type {condition.match_type!r}")
    return all(p == "*" or n == p for n, p in pairs)


def _normalize_index(
    index: StoreIndexConfig | None,
) -> tuple[StoreIndexConfig | None, Embeddings | None, list[tuple[str, Any]]]:
    if not index:
        return None, None, []
    config = cast(StoreIndexConfig, dict(index))
    config.setdefault("dims", EMBEDDING_DIMS)
    if config.get("embed") is None:
        config["embed"] = OfflineEmbeddings()
    if config.get("distance_type", "cosine") != "cosine":
        raise StorageError(f"the memory store supports cosine distance only, not {config['distance_type']!r}")
    fields = config.get("fields") or ["$"]
    if isinstance(fields, str):
        fields = [fields]
    config["fields"] = list(fields)
    tokenized: list[tuple[str, Any]] = [(p, "$" if p == "$" else tokenize_path(p)) for p in fields]
    try:
        dims = int(config["dims"])
    except (TypeError, ValueError) as exc:
        raise StorageError(f"index dims must be an integer, got {config['dims']!r}") from exc
    if dims <= 0:
        raise StorageError(f"index dims must be positive, got {dims}")
    config["dims"] = dims
    return config, ensure_embeddings(config["embed"]), tokenized


def _unit(vector: Sequence[float], dims: int) -> np.ndarray:
    import numpy as np

    arr = np.asarray(vector, dtype=np.float32)
    if arr.shape != (dims,):
        raise StorageError(f"the embedding model returned {arr.shape[0]} dims, the index expects {dims}")
    norm = float(np.linalg.norm(arr))
    return arr / norm if norm > 0 else arr


def _to_item(row: Row[Any]) -> Item:
    return Item(
        value=row.value,
        key=row.key,
        namespace=ns_tuple(row.prefix),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _to_search_item(row: Row[Any], score: float | None) -> SearchItem:
    return SearchItem(
        namespace=ns_tuple(row.prefix),
        key=row.key,
        value=row.value,
        created_at=row.created_at,
        updated_at=row.updated_at,
        score=score,
    )


class BaseSQLAlchemyStore:
    """State and logic shared by `SQLAlchemyStore` and `AsyncSQLAlchemyStore`."""

    supports_ttl: bool = True
    index_config: StoreIndexConfig | None
    ttl_config: TTLConfig | None
    embeddings: Embeddings | None

    def _init_base(self, url: sa.URL, dialect: str, index: StoreIndexConfig | None, ttl: TTLConfig | None) -> None:
        self.url = redact(url)
        self.sql = StoreSQL(dialect)
        self.index_config, self.embeddings, self._index_fields = _normalize_index(index)
        self.ttl_config = ttl
        self._backend: VectorBackend | None = None
        self._schema_checked = False

    # -- planning -------------------------------------------------------------------------------

    def _plan(self, ops: Iterable[Op]) -> _Plan:
        plan = _Plan(size=0)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for idx, op in enumerate(ops):
            validate_op_namespace(op)
            plan.size += 1
            if isinstance(op, GetOp):
                plan.gets.append((idx, op))
            elif isinstance(op, SearchOp):
                plan.searches.append((idx, op))
                if op.query and self.index_config and op.query not in plan.queries:
                    plan.queries.append(op.query)
            elif isinstance(op, ListNamespacesOp):
                plan.lists.append((idx, op))
            elif isinstance(op, PutOp):
                puts.pop((op.namespace, op.key), None)
                puts[(op.namespace, op.key)] = op
            else:
                raise StorageError(f"unknown store operation {type(op).__name__}")
        plan.puts = list(puts.values())
        if self.index_config:
            for op in plan.puts:
                if op.value is None or op.index is False:
                    continue
                paths = self._index_fields if op.index is None else [(p, tokenize_path(p)) for p in op.index]
                for path, tokens in paths:
                    texts = get_text_at_path(op.value, tokens)
                    for i, text in enumerate(texts):
                        name = f"{path}.{i}" if len(texts) > 1 else path
                        plan.texts.append((ns_text(op.namespace), op.key, name, text))
        return plan

    def _check_vectors(self, plan: _Plan, documents: list[list[float]], queries: list[list[float]]) -> _Vectors:
        if len(documents) != len(plan.texts) or len(queries) != len(plan.queries):
            raise StorageError("the embedding model returned a different number of vectors than texts")
        return _Vectors(documents=documents, queries=dict(zip(plan.queries, queries, strict=True)))

    def _embed(self, plan: _Plan) -> _Vectors:
        if self.embeddings is None:
            return _Vectors()
        documents = self.embeddings.embed_documents([t[3] for t in plan.texts]) if plan.texts else []
        queries = [self.embeddings.embed_query(q) for q in plan.queries]
        return self._check_vectors(plan, documents, queries)

    async def _aembed(self, plan: _Plan) -> _Vectors:
        if self.embeddings is None:
            return _Vectors()
        documents = await self.embeddings.aembed_documents([t[3] for t in plan.texts]) if plan.texts else []
        queries = [await self.embeddings.aembed_query(q) for q in plan.queries]
        return self._check_vectors(plan, documents, queries)

    # -- execution on a connection (one transaction) -------------------------------------------

    @property
    def _omit_expired(self) -> bool:
        return bool(self.ttl_config and self.ttl_config.get("omit_expired"))

    def _reset(self) -> None:
        """Forget what was detected about the database (after a migration)."""
        self._backend = None
        self._schema_checked = False

    def _vector_search_kind(self, conn: Connection) -> str | None:
        self._prepare_connection(conn)
        return self._vector_backend(conn).name if self.index_config else None

    def _prepare_connection(self, conn: Connection) -> None:
        """Once per store: refuse a database whose schema is not current."""
        if not self._schema_checked:
            check_connection(conn)
            self._schema_checked = True

    def _vector_backend(self, conn: Connection) -> VectorBackend:
        """Detect, once, whether the vector column is pgvector's (and check its dims)."""
        if self._backend is not None:
            return self._backend
        backend = VectorBackend()
        stmt = self.sql.vector_column_type()
        row = conn.execute(stmt).first() if stmt is not None else None
        if row is not None and row.type and row.type.startswith("vector("):
            dims = int(row.type[len("vector(") : -1])
            wanted = self.index_config["dims"] if self.index_config else dims
            if dims != wanted:
                raise StorageError(
                    f"the memory store at {self.url} holds {dims}-dim pgvector embeddings, the index is configured for {wanted}"
                )
            version = tuple(int(p) for p in (row.version or "0").split(".")[:2] if p.isdigit())
            backend = VectorBackend(pgvector_dims=dims, iterative_scan=version >= (0, 8))
        self._backend = backend
        return backend

    def _execute(self, conn: Connection, plan: _Plan, vectors: _Vectors) -> tuple[list[Result], list[dict[str, Any]]]:
        """Run a planned batch; returns its results and the TTL refreshes its reads ask for.

        A batch with puts runs in a write transaction and applies the refreshes itself; a
        read-only batch leaves them to a short write transaction of their own (`_refresh`)."""
        self._prepare_connection(conn)
        results: list[Result] = [None] * plan.size
        state = _BatchState(now=utcnow())
        if plan.gets:
            self._run_gets(conn, plan.gets, results, state)
        for idx, search in plan.searches:
            results[idx] = self._run_search(conn, search, vectors, state)
        for idx, listing in plan.lists:
            results[idx] = self._run_list(conn, listing, state.now)
        refresh = list(state.refresh.values())
        if plan.puts:
            self._refresh(conn, refresh)
            self._run_puts(conn, plan, vectors, state.now)
            refresh = []
        return results, refresh

    def _refresh(self, conn: Connection, params: list[dict[str, Any]]) -> None:
        """Push back the expiry of items that were read (TTL refresh on read)."""
        if params:
            conn.execute(self.sql.refresh_expiry(), params)

    def _run_gets(self, conn: Connection, gets: list[tuple[int, GetOp]], results: list[Result], state: _BatchState) -> None:
        by_namespace: dict[tuple[str, ...], list[tuple[int, GetOp]]] = defaultdict(list)
        for idx, op in gets:
            by_namespace[op.namespace].append((idx, op))
        for namespace, entries in by_namespace.items():
            prefix = ns_text(namespace)
            keys = list(dict.fromkeys(op.key for _, op in entries))
            found: dict[str, Row[Any]] = {}
            for part in chunks(keys):
                stmt = self.sql.select_items(prefix, part)
                if self._omit_expired:
                    stmt = stmt.where(self.sql.not_expired(state.now))
                found.update((row.key, row) for row in conn.execute(stmt))
            for idx, op in entries:
                row = found.get(op.key)
                results[idx] = _to_item(row) if row is not None else None
                if row is not None and op.refresh_ttl:
                    state.touch(row)

    def _conditions(
        self, namespace_prefix: Sequence[str], filter: Mapping[str, Any] | None, now: datetime
    ) -> tuple[list[ColumnElement[bool]], dict[str, Any]]:
        """SQL conditions for a search, and the filter terms only Python can check."""
        conditions: list[ColumnElement[bool]] = []
        if namespace_prefix:
            conditions.append(self.sql.prefix_condition(store_items.c.prefix, ns_text(namespace_prefix)))
        if self._omit_expired:
            conditions.append(self.sql.not_expired(now))
        leftover: dict[str, Any] = {}
        for key, spec in (filter or {}).items():
            operators = _operators(spec)
            terms = operators.items() if operators is not None else [("$eq", spec)]
            try:
                conditions.extend([self.sql.filter_condition(key, op, operand) for op, operand in terms])
            except Unsupported:
                leftover[key] = spec
        return conditions, leftover

    def _run_search(self, conn: Connection, op: SearchOp, vectors: _Vectors, state: _BatchState) -> list[SearchItem]:
        conditions, leftover = self._conditions(op.namespace_prefix, op.filter, state.now)
        scored: list[tuple[Row[Any], float | None]]
        if op.query and self.index_config:
            scored = self._rank(conn, op, conditions, leftover, vectors.queries[op.query])
        elif not leftover:
            rows = conn.execute(self.sql.search_items(conditions, op.limit, op.offset)).all()
            scored = [(row, None) for row in rows]
        else:
            rows = conn.execute(self.sql.search_items(conditions, None, 0)).all()
            kept = [row for row in rows if matches_filter(row.value, leftover)]
            scored = [(row, None) for row in kept[op.offset : op.offset + op.limit]]
        if op.refresh_ttl:
            for row, _ in scored:
                state.touch(row)
        return [_to_search_item(row, score) for row, score in scored]

    def _rank(
        self,
        conn: Connection,
        op: SearchOp,
        conditions: list[ColumnElement[bool]],
        leftover: dict[str, Any],
        query: list[float],
    ) -> list[tuple[Row[Any], float | None]]:
        """Items ranked by similarity to `query`: the window [offset, offset + limit)."""
        assert self.index_config is not None
        dims = self.index_config["dims"]
        wanted = op.offset + op.limit
        best: dict[tuple[str, str], float] = {}
        backend = self._vector_backend(conn)
        if backend.pgvector_dims:
            per_item = max(1, len(self._index_fields))
            limit: int | None = None if leftover else wanted * per_item * 2 + 1
            while True:
                for setting in self.sql.ann_settings(limit or 1000, backend.iterative_scan):
                    conn.execute(setting)
                rows = conn.execute(self.sql.nearest_vectors(conditions, query, dims, limit)).all()
                best.clear()
                for row in rows:
                    best.setdefault((row.prefix, row.key), 1.0 - float(row.distance))
                if limit is None or len(rows) < limit or len(best) >= wanted:
                    break
                limit *= 4
        else:
            scanned = conn.execute(self.sql.scan_vectors(conditions)).tuples().all()
            vectors_of = [(prefix, key, blob) for prefix, key, blob in scanned if len(blob) == dims * 4]
            if vectors_of:
                import numpy as np

                blobs = b"".join(blob for _, _, blob in vectors_of)
                scores = np.frombuffer(blobs, dtype="<f4").reshape(len(vectors_of), dims) @ _unit(query, dims)
                for (prefix, key, _), score in zip(vectors_of, scores.tolist(), strict=True):
                    if score > best.get((prefix, key), -np.inf):
                        best[(prefix, key)] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
        if not leftover:
            ranked = ranked[op.offset : wanted]
        kept: list[tuple[Row[Any], float | None]] = []
        for part in chunks(ranked, _PAIRS_PER_QUERY):
            rows_by_pair = {(r.prefix, r.key): r for r in conn.execute(self.sql.select_items_by_pairs([p for p, _ in part]))}
            for pair, score in part:
                found = rows_by_pair.get(pair)
                if found is not None and (not leftover or matches_filter(found.value, leftover)):
                    kept.append((found, score))
            if leftover and len(kept) >= wanted:
                break
        return kept[op.offset : wanted] if leftover else kept

    def _run_list(self, conn: Connection, op: ListNamespacesOp, now: datetime) -> list[tuple[str, ...]]:
        conditions: list[ColumnElement[bool]] = []
        column = store_items.c.prefix
        for condition in op.match_conditions or ():
            path = list(condition.path)
            if condition.match_type == "suffix":
                path.reverse()
            literal: list[str] = []
            for label in path:
                if label == "*":
                    break
                literal.append(label)
            if not literal:
                continue
            if condition.match_type == "prefix":
                conditions.append(self.sql.prefix_condition(column, ns_text(literal)))
            elif condition.match_type == "suffix":
                conditions.append(self.sql.suffix_condition(column, ns_text(literal[::-1])))
        if self._omit_expired:
            conditions.append(self.sql.not_expired(now))
        namespaces = [ns_tuple(p) for p in conn.execute(self.sql.distinct_prefixes(conditions)).scalars()]
        namespaces = [ns for ns in namespaces if all(_does_match(c, ns) for c in op.match_conditions or ())]
        if op.max_depth is not None:
            namespaces = list({ns[: op.max_depth] for ns in namespaces})
        namespaces.sort()
        return namespaces[op.offset : op.offset + op.limit]

    def _run_puts(self, conn: Connection, plan: _Plan, vectors: _Vectors, now: datetime) -> None:
        """Upsert items first (locking their rows against concurrent writers), then replace vectors."""
        upserts: list[dict[str, Any]] = []
        by_prefix: dict[str, list[str]] = defaultdict(list)
        deletes: dict[str, list[str]] = defaultdict(list)
        for op in sorted(plan.puts, key=lambda op: (ns_text(op.namespace), op.key)):
            prefix = ns_text(op.namespace)
            by_prefix[prefix].append(op.key)
            if op.value is None:
                deletes[prefix].append(op.key)
                continue
            ttl = float(op.ttl) if op.ttl is not None else None
            upserts.append(
                {
                    "prefix": prefix,
                    "key": op.key,
                    "value": dict(op.value),
                    "created_at": now,
                    "updated_at": now,
                    "expires_at": now + timedelta(minutes=ttl) if ttl is not None else None,
                    "ttl_minutes": ttl,
                }
            )
        if upserts:
            conn.execute(self.sql.upsert_items(), upserts)
        for prefix, keys in by_prefix.items():
            for part in chunks(keys):
                conn.execute(self.sql.delete_vectors(prefix, part))
        for prefix, keys in deletes.items():
            for part in chunks(keys):
                conn.execute(self.sql.delete_items(prefix, part))
        if plan.texts:
            conn.execute(
                self.sql.insert_vectors(self._vector_backend(conn).pgvector_dims),
                self._vector_rows(conn, plan, vectors),
            )

    def _vector_rows(self, conn: Connection, plan: _Plan, vectors: _Vectors) -> list[dict[str, Any]]:
        assert self.index_config is not None
        dims = self.index_config["dims"]
        pgvector = bool(self._vector_backend(conn).pgvector_dims)
        rows = []
        for (prefix, key, name, _), vector in zip(plan.texts, vectors.documents, strict=True):
            unit = _unit(vector, dims)  # also checks the size
            embedding: Any = [float(x) for x in vector] if pgvector else unit.astype("<f4").tobytes()
            rows.append({"prefix": prefix, "key": key, "field": name, "embedding": embedding})
        return rows

    # -- maintenance and bulk reads -------------------------------------------------------------

    def _sweep(self, conn: Connection) -> int:
        self._prepare_connection(conn)
        vectors, items = self.sql.delete_expired(utcnow())
        conn.execute(vectors)
        return int(conn.execute(items).rowcount or 0)

    def _list_items(self, conn: Connection, namespace_prefix: Sequence[str], filter: Mapping[str, Any] | None) -> list[Item]:
        self._prepare_connection(conn)
        conditions, leftover = self._conditions(namespace_prefix, filter, utcnow())
        rows = conn.execute(self.sql.search_items(conditions, None, 0)).all()
        return [_to_item(row) for row in rows if not leftover or matches_filter(row.value, leftover)]

    def _count_items(self, conn: Connection, namespace_prefix: Sequence[str]) -> tuple[int, datetime | None]:
        self._prepare_connection(conn)
        conditions, _ = self._conditions(namespace_prefix, None, utcnow())
        row = conn.execute(self.sql.count_items(conditions)).one()
        return int(row[0]), row[1]

    def _sweep_interval_s(self, minutes: float | None) -> float:
        configured = (self.ttl_config or {}).get("sweep_interval_minutes")
        return float(minutes or configured or 5) * 60.0
