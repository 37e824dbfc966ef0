"""The sync memory store on every backend: CRUD, batches, filters, namespaces, TTL, bulk reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore

from agentgraph.errors import StorageError
from agentgraph.store import SQLAlchemyStore, matches_filter


def test_put_get_update_delete(store: SQLAlchemyStore) -> None:
    ns = ("users", "alice")
    assert store.get(ns, "prefs") is None

    store.put(ns, "prefs", {"theme": "dark", "size": 12})
    first = store.get(ns, "prefs")
    assert first is not None
    assert (first.namespace, first.key, first.value) == (ns, "prefs", {"theme": "dark", "size": 12})
    assert first.created_at.tzinfo is not None and first.created_at == first.updated_at

    time.sleep(0.01)
    store.put(ns, "prefs", {"theme": "light"})
    second = store.get(ns, "prefs")
    assert second is not None and second.value == {"theme": "light"}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at

    store.delete(ns, "prefs")
    assert store.get(ns, "prefs") is None
    store.delete(ns, "prefs")  # deleting a missing item is fine


def test_values_round_trip_as_json(store: SQLAlchemyStore) -> None:
    value = {"s": "héllo ✓", "i": 3, "f": 2.5, "b": False, "n": None, "l": [1, "x", {"y": [True]}], "d": {"k": {}}}
    store.put(("json",), "k", value)
    item = store.get(("json",), "k")
    assert item is not None and item.value == value


def test_batch_reads_before_writes_and_last_put_wins(store: SQLAlchemyStore) -> None:
    ns = ("batch",)
    store.put(ns, "a", {"v": 0})
    results = store.batch(
        [
            PutOp(ns, "a", {"v": 1}),
            GetOp(ns, "a"),
            PutOp(ns, "a", {"v": 2}),
            PutOp(ns, "b", {"v": 1}),
            PutOp(ns, "b", None),
            SearchOp(ns),
            ListNamespacesOp(),
        ]
    )
    assert results[0] is None and results[2] is None
    assert results[1] is not None and results[1].value == {"v": 0}
    assert [item.key for item in results[5]] == ["a"]
    assert results[6] == [ns]
    item = store.get(ns, "a")
    assert item is not None and item.value == {"v": 2}
    assert store.get(ns, "b") is None


def test_get_many_keys_in_one_batch(store: SQLAlchemyStore) -> None:
    store.batch([PutOp(("many", str(i % 3)), f"k{i}", {"i": i}) for i in range(30)])
    ops = [GetOp(("many", str(i % 3)), f"k{i}") for i in range(31)]
    results = store.batch(ops)
    assert [r.value["i"] for r in results[:30]] == list(range(30))
    assert results[30] is None


@pytest.mark.parametrize("namespace", [(), ("a.b",), ("",), ("langgraph", "x")], ids=["empty", "dot", "empty-label", "reserved"])
def test_invalid_namespaces_are_refused(store: SQLAlchemyStore, namespace: tuple[str, ...]) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(namespace, "k", {"v": 1})


def test_raw_batch_ops_are_validated(store: SQLAlchemyStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("a.b",), "k", {"v": 1})])


def test_search_without_query_lists_newest_first_with_paging(store: SQLAlchemyStore) -> None:
    ns = ("docs",)
    for i in range(5):
        store.put(ns, f"k{i}", {"i": i})
        time.sleep(0.002)
    store.put(ns, "k1", {"i": 1, "touched": True})
    keys = [item.key for item in store.search(ns, limit=10)]
    assert keys == ["k1", "k4", "k3", "k2", "k0"]
    assert [item.key for item in store.search(ns, limit=2, offset=1)] == ["k4", "k3"]
    assert all(item.score is None for item in store.search(ns))


def test_namespace_prefix_matches_whole_labels(store: SQLAlchemyStore) -> None:
    for ns in [("foo",), ("foo", "bar"), ("foobar",), ("user_1",), ("userX1",), ("Foo",), ("foo%",)]:
        store.put(ns, "k", {"ns": list(ns)})

    def namespaces(prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        return sorted(tuple(item.namespace) for item in store.search(prefix, limit=50))

    assert namespaces(("foo",)) == [("foo",), ("foo", "bar")]
    assert namespaces(("foo", "bar")) == [("foo", "bar")]
    assert namespaces(("user_1",)) == [("user_1",)]
    assert namespaces(("Foo",)) == [("Foo",)]
    assert namespaces(("foo%",)) == [("foo%",)]
    assert len(namespaces(())) == 7


FILTER_ITEMS: dict[str, dict[str, Any]] = {
    "a": {
        "kind": "note",
        "score": 1,
        "tags": ["x", "y"],
        "meta": {"lang": "en", "n": 1},
        "flag": True,
        "d": "2024-01-05",
    },
    "b": {
        "kind": "note",
        "score": 2.5,
        "tags": ["y"],
        "meta": {"lang": "fr", "n": 2},
        "flag": False,
        "d": "2024-02-01",
    },
    "c": {"kind": "task", "score": 10, "tags": [], "meta": {"lang": "en"}, "flag": 1, "d": None},
    "d": {"kind": "task", "score": "10", "other": None},
    "e": {"kind": 'qu"ote', "score": -3, 'we"ird': 1},
}


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"kind": "note"}, "ab"),
        ({"kind": {"$eq": "task"}}, "cd"),
        ({"kind": {"$ne": "note"}}, "cde"),
        ({"score": 10}, "c"),
        ({"score": "10"}, "d"),
        ({"score": 2.5}, "b"),
        ({"score": {"$gt": 1}}, "bc"),
        ({"score": {"$gte": 1}}, "abc"),
        ({"score": {"$lt": 2.5}}, "ae"),
        ({"score": {"$lte": 2.5, "$gt": -3}}, "ab"),
        ({"d": {"$gte": "2024-02-01"}}, "b"),
        ({"d": {"$lt": "2024-02"}}, "a"),
        ({"flag": True}, "a"),
        ({"flag": False}, "b"),
        ({"flag": 1}, "c"),
        ({"d": None}, "cde"),
        ({"other": None}, "abcde"),
        ({"other": {"$ne": None}}, ""),
        ({"missing": {"$ne": "x"}}, "abcde"),
        ({"kind": "note", "score": {"$gt": 2}}, "b"),
        ({"tags": ["x", "y"]}, "a"),
        ({"tags": []}, "c"),
        ({"meta": {"lang": "en"}}, "ac"),
        ({"meta": {"n": {"$gte": 2}}}, "b"),
        ({"kind": 'qu"ote'}, "e"),
        ({'we"ird': 1}, "e"),
    ],
)
def test_search_filters(store: SQLAlchemyStore, filter: dict[str, Any], expected: str) -> None:
    store.batch([PutOp(("f",), key, value) for key, value in FILTER_ITEMS.items()])
    found = "".join(sorted(item.key for item in store.search(("f",), filter=filter, limit=50)))
    reference = "".join(key for key, value in sorted(FILTER_ITEMS.items()) if matches_filter(value, filter))
    assert found == expected
    assert reference == expected
    if len(expected) > 1:  # paging applies after filtering
        paged = store.search(("f",), filter=filter, limit=1, offset=1)
        assert len(paged) == 1 and paged[0].key in expected


def test_filters_agree_with_in_memory_store(store: SQLAlchemyStore) -> None:
    """Where InMemoryStore is well defined, both stores select the same items."""
    reference = InMemoryStore()
    for key, value in FILTER_ITEMS.items():
        if key in "abc":
            store.put(("f",), key, value)
            reference.put(("f",), key, value)
    for filter in [
        {"kind": "note"},
        {"score": {"$gt": 1.5}},
        {"meta": {"lang": "en"}},
        {"tags": ["y"]},
        {"kind": {"$ne": "task"}},
    ]:
        ours = sorted(item.key for item in store.search(("f",), filter=filter))
        theirs = sorted(item.key for item in reference.search(("f",), filter=filter))
        assert ours == theirs, filter


def test_scalar_filters_are_evaluated_in_sql(store: SQLAlchemyStore) -> None:
    """Plain scalar filters never fall back to a Python scan; nested values and lists do."""
    now = datetime.now(UTC)
    scalar = {"kind": "note", "score": {"$gt": 1, "$lte": 5}, "flag": True, "d": None, "s": {"$ne": "x"}}
    conditions, leftover = store._conditions(("f",), scalar, now)
    assert leftover == {} and len(conditions) == 1 + 6
    nested = {"meta": {"lang": "en"}, "tags": ["x"], "kind": "note"}
    _, leftover = store._conditions(("f",), nested, now)
    assert leftover == {"meta": {"lang": "en"}, "tags": ["x"]}


def test_unsupported_filter_operator_is_a_storage_error(store: SQLAlchemyStore) -> None:
    store.put(("f",), "a", {"x": 1})
    with pytest.raises(StorageError, match=r"\$in"):
        store.search(("f",), filter={"x": {"$in": [1]}})
    with pytest.raises(StorageError, match="number or a string"):
        store.search(("f",), filter={"x": {"$gt": [1]}})


NAMESPACES = [
    ("users", "alice", "prefs"),
    ("users", "alice", "notes"),
    ("users", "bob", "prefs"),
    ("docs", "v1"),
    ("docs", "v2", "draft"),
    ("corpus", "manual"),
]


@pytest.mark.parametrize(
    ("prefix", "suffix", "max_depth", "limit", "offset"),
    [
        (None, None, None, 100, 0),
        (("users",), None, None, 100, 0),
        (("users", "*", "prefs"), None, None, 100, 0),
        (None, ("prefs",), None, 100, 0),
        (None, ("*", "prefs"), None, 100, 0),
        (("users",), ("notes",), None, 100, 0),
        (None, None, 1, 100, 0),
        (("users",), None, 2, 100, 0),
        (None, None, None, 2, 1),
        (("nobody",), None, None, 100, 0),
        (("docs", "v2", "draft", "deeper"), None, None, 100, 0),
    ],
)
def test_list_namespaces_like_in_memory_store(
    store: SQLAlchemyStore,
    prefix: tuple[str, ...] | None,
    suffix: tuple[str, ...] | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> None:
    reference = InMemoryStore()
    for ns in NAMESPACES:
        store.put(ns, "k", {"v": 1})
        reference.put(ns, "k", {"v": 1})
    kwargs = {"prefix": prefix, "suffix": suffix, "max_depth": max_depth, "limit": limit, "offset": offset}
    expected = reference.list_namespaces(**kwargs)
    assert store.list_namespaces(**kwargs) == expected
    if prefix == ("users",) and max_depth is None and suffix is None:
        assert expected == [("users", "alice", "notes"), ("users", "alice", "prefs"), ("users", "bob", "prefs")]


def test_list_namespaces_raw_op_with_match_conditions(store: SQLAlchemyStore) -> None:
    for ns in NAMESPACES:
        store.put(ns, "k", {"v": 1})
    op = ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("users",)), MatchCondition("suffix", ("prefs",))), max_depth=2)
    assert store.batch([op])[0] == [("users", "alice"), ("users", "bob")]


def test_list_and_count_items(store: SQLAlchemyStore) -> None:
    store.batch([PutOp(("corpus", "manual"), f"c{i}", {"text": f"chunk {i}", "source": "m.md"}) for i in range(25)])
    store.put(("corpus", "other"), "x", {"text": "elsewhere", "source": "o.md"})
    items = store.list_items(("corpus", "manual"))
    assert sorted(item.key for item in items) == sorted(f"c{i}" for i in range(25))
    assert all(item.value["source"] == "m.md" for item in items)
    assert len(store.list_items(("corpus",))) == 26
    assert [i.key for i in store.list_items(("corpus",), filter={"source": "o.md"})] == ["x"]
    count, latest = store.count_items(("corpus", "manual"))
    assert count == 25 and latest == max(item.updated_at for item in items)
    assert store.count_items(("nothing",)) == (0, None)


# -- TTL ------------------------------------------------------------------------------------------


def _expiry(sql: Callable[..., list[Any]], key: str) -> datetime | None:
    [(value,)] = sql("SELECT expires_at FROM store_items WHERE key = :key", key=key)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@pytest.fixture
def age(sql: Callable[..., list[Any]], db_url: str) -> Callable[[str, float], None]:
    def run(key: str, seconds: float) -> None:
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        if db_url.startswith("sqlite"):
            sql("UPDATE store_items SET expires_at = :when WHERE key = :key", when=when.replace(tzinfo=None), key=key)
        else:
            sql("UPDATE store_items SET expires_at = :when WHERE key = :key", when=when, key=key)

    return run


def test_put_with_ttl_sets_expiry(store: SQLAlchemyStore, sql: Callable[..., list[Any]]) -> None:
    before = datetime.now(UTC)
    store.put(("t",), "short", {"v": 1}, ttl=10)
    store.put(("t",), "forever", {"v": 1})
    expiry = _expiry(sql, "short")
    assert expiry is not None and before + timedelta(minutes=10) <= expiry <= datetime.now(UTC) + timedelta(minutes=10)
    assert _expiry(sql, "forever") is None
    store.put(("t",), "short", {"v": 2}, ttl=None)  # a put without TTL clears it
    assert _expiry(sql, "short") is None


def test_default_ttl_from_config(make_store: Callable[..., SQLAlchemyStore], sql: Callable[..., list[Any]]) -> None:
    store = make_store(ttl={"default_ttl": 5})
    store.put(("t",), "k", {"v": 1})
    expiry = _expiry(sql, "k")
    assert expiry is not None and expiry > datetime.now(UTC) + timedelta(minutes=4)


def test_reads_refresh_ttl(store: SQLAlchemyStore, sql: Callable[..., list[Any]], age: Callable[[str, float], None]) -> None:
    store.put(("t",), "k", {"v": 1}, ttl=60)
    soon = datetime.now(UTC) + timedelta(minutes=30)

    age("k", 5)
    store.get(("t",), "k", refresh_ttl=False)
    assert _expiry(sql, "k") < soon  # type: ignore[operator]
    store.get(("t",), "k")
    assert _expiry(sql, "k") > soon  # type: ignore[operator]

    age("k", 5)
    store.search(("t",), refresh_ttl=False)
    assert _expiry(sql, "k") < soon  # type: ignore[operator]
    store.search(("t",))
    assert _expiry(sql, "k") > soon  # type: ignore[operator]


def test_refresh_on_read_can_be_disabled_by_config(
    make_store: Callable[..., SQLAlchemyStore], sql: Callable[..., list[Any]], age: Callable[[str, float], None]
) -> None:
    store = make_store(ttl={"refresh_on_read": False})
    store.put(("t",), "k", {"v": 1}, ttl=60)
    age("k", 5)
    store.get(("t",), "k")
    assert _expiry(sql, "k") < datetime.now(UTC) + timedelta(minutes=1)  # type: ignore[operator]


def test_expired_items_visible_until_swept_unless_omitted(
    make_store: Callable[..., SQLAlchemyStore], age: Callable[[str, float], None]
) -> None:
    store = make_store()
    strict = make_store(ttl={"omit_expired": True})
    store.put(("t", "a"), "old", {"v": 1}, ttl=1)
    store.put(("t", "b"), "new", {"v": 1}, ttl=1)
    store.put(("t", "b"), "keep", {"v": 1})
    age("old", -1)

    assert strict.get(("t", "a"), "old") is None
    assert [i.key for i in strict.search(("t",))] == ["keep", "new"]
    assert strict.list_namespaces() == [("t", "b")]
    assert store.get(("t", "a"), "old", refresh_ttl=False) is not None

    assert store.sweep_ttl() == 1
    assert store.get(("t", "a"), "old") is None
    assert store.list_namespaces() == [("t", "b")]
    assert store.sweep_ttl() == 0


def test_sweep_removes_vectors_too(store: SQLAlchemyStore, sql: Callable[..., list[Any]], age: Callable[[str, float], None]) -> None:
    store.put(("t",), "k", {"text": "a short note"}, ttl=1)
    assert sql("SELECT count(*) FROM store_item_vectors")[0][0] == 1
    age("k", -1)
    assert store.sweep_ttl() == 1
    assert sql("SELECT count(*) FROM store_item_vectors")[0][0] == 0


def test_ttl_sweeper_thread(store: SQLAlchemyStore, age: Callable[[str, float], None]) -> None:
    store.put(("t",), "k", {"v": 1}, ttl=1)
    age("k", -1)
    thread = store.start_ttl_sweeper(sweep_interval_minutes=0.001)
    assert store.start_ttl_sweeper() is thread
    deadline = time.monotonic() + 10
    while store.get(("t",), "k", refresh_ttl=False) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.stop_ttl_sweeper(timeout=5)
    assert store.get(("t",), "k") is None
    assert not thread.is_alive()
