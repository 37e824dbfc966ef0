"""Semantic search: ranking with the offline model on every backend, pgvector vs exact paths, scale."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from langgraph.store.base import PutOp

from agentgraph.errors import StorageError
from agentgraph.store import SQLAlchemyStore

Embed = Callable[..., Callable[[list[str]], list[list[float]]]]

NOTES = {
    "cat": {"text": "My cat curls up on the windowsill and purrs all afternoon.", "topic": "pets"},
    "tax": {"text": "The income tax return must be filed before the April deadline.", "topic": "money"},
    "bread": {"text": "Knead the dough, let it rise, then bake the bread for forty minutes.", "topic": "food"},
}


def test_query_about_cats_ranks_the_cat_text_above_the_tax_text(store: SQLAlchemyStore) -> None:
    store.batch([PutOp(("memories", "u1"), key, value) for key, value in NOTES.items()])
    results = store.search(("memories",), query="kittens and other feline pets", limit=3)
    assert next(item.key for item in results) == "cat"
    scores = {item.key: item.score for item in results}
    assert scores["cat"] is not None and scores["tax"] is not None
    assert scores["cat"] > scores["tax"] + 0.2
    assert all(-1.0 <= s <= 1.0 for s in scores.values() if s is not None)
    assert results == sorted(results, key=lambda item: -(item.score or 0))

    money = store.search(("memories",), query="paying taxes to the government", limit=1)
    assert [item.key for item in money] == ["tax"]


def test_query_with_filter_namespace_and_paging(store: SQLAlchemyStore) -> None:
    store.batch([PutOp(("memories", "u1"), key, value) for key, value in NOTES.items()])
    store.put(("memories", "u2"), "cat2", {"text": "Cats are curious feline animals.", "topic": "pets"})

    only_u1 = store.search(("memories", "u1"), query="feline animals", limit=5)
    assert next(item.key for item in only_u1) == "cat" and "cat2" not in {i.key for i in only_u1}

    filtered = store.search(("memories",), query="feline animals", filter={"topic": {"$ne": "pets"}}, limit=5)
    assert {item.key for item in filtered} == {"tax", "bread"}

    everything = store.search(("memories",), query="feline animals", limit=4)
    assert {item.key for item in everything[:2]} == {"cat", "cat2"}
    second_page = store.search(("memories",), query="feline animals", limit=2, offset=2)
    assert [item.key for item in second_page] == [item.key for item in everything[2:4]]

    nested = store.search(("memories",), query="feline animals", filter={"topic": ["pets"]}, limit=5)
    assert nested == []  # a list filter never equals a string (filtered in Python)


def test_update_replaces_vectors_and_unindexed_items_are_not_ranked(store: SQLAlchemyStore, sql: Callable[..., list[Any]]) -> None:
    ns = ("memories",)
    store.put(ns, "a", {"text": NOTES["cat"]["text"]})
    store.put(ns, "b", {"text": NOTES["tax"]["text"]})
    store.put(ns, "a", {"text": NOTES["bread"]["text"]})
    store.put(ns, "c", {"text": NOTES["cat"]["text"]}, index=False)
    assert sql("SELECT count(*) FROM store_item_vectors")[0][0] == 2

    hits = store.search(ns, query="a purring cat", limit=10)
    assert {item.key for item in hits} == {"a", "b"}
    assert store.search(ns, query="baking bread", limit=1)[0].key == "a"

    store.delete(ns, "a")
    assert sql("SELECT count(*) FROM store_item_vectors")[0][0] == 1


def test_several_fields_score_by_the_best_one(make_store: Callable[..., SQLAlchemyStore]) -> None:
    store = make_store(index={"fields": ["title", "tags[*]"]})  # dims and model: the defaults
    store.put(("docs",), "pets", {"title": "Household notes", "tags": ["groceries", "cats and kittens"]})
    store.put(("docs",), "money", {"title": "Tax season checklist", "tags": ["receipts"]})
    store.put(("docs",), "override", {"body": "A kitten chased a ball of yarn."}, index=["body"])
    hits = store.search(("docs",), query="kittens", limit=3)
    assert [item.key for item in hits][:2] in (["pets", "override"], ["override", "pets"])
    assert hits[-1].key == "money"
    assert store.search(("docs",), query="tax forms", limit=1)[0].key == "money"


def test_query_without_index_lists_items(make_store: Callable[..., SQLAlchemyStore]) -> None:
    store = make_store(index=None)
    store.put(("m",), "a", {"text": "cats"})
    results = store.search(("m",), query="cats")
    assert [item.key for item in results] == ["a"] and results[0].score is None
    assert store.vector_search_kind() is None


def test_a_few_thousand_items_search_quickly(make_store: Callable[..., SQLAlchemyStore], hashed_embedding: Embed) -> None:
    embed = hashed_embedding()
    store = make_store(index={"dims": 384, "embed": embed, "fields": ["text"]})
    store.batch([PutOp(("corpus", "big"), f"c{i}", {"text": f"chunk number {i}", "n": i}) for i in range(2000)])
    store.put(("corpus", "other"), "x", {"text": "chunk number 7"})

    started = time.perf_counter()
    hits = store.search(("corpus", "big"), query="chunk number 1234", limit=5)
    elapsed = time.perf_counter() - started
    assert hits[0].key == "c1234" and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert elapsed < 2.0, f"search over 2000 items took {elapsed:.2f}s"

    filtered = store.search(("corpus",), query="chunk number 1234", filter={"n": {"$lt": 100}}, limit=30)
    assert len(filtered) == 30 and all(item.value["n"] < 100 for item in filtered)
    assert store.search(("corpus",), query="chunk number 7", limit=2)[0].key in {"c7", "x"}
    assert len(store.list_items(("corpus", "big"))) == 2000


def test_embedding_of_the_wrong_size_is_refused(make_store: Callable[..., SQLAlchemyStore], hashed_embedding: Embed) -> None:
    store = make_store(index={"dims": 384, "embed": hashed_embedding(dims=8), "fields": ["text"]})
    with pytest.raises(StorageError, match="dims"):
        store.put(("m",), "a", {"text": "x"})


# -- backend specifics -------------------------------------------------------------------------------


@pytest.mark.pgvector
def test_pgvector_column_index_and_plan(pgvector_db: str, text_index: dict[str, Any]) -> None:
    with SQLAlchemyStore.from_conn_string(pgvector_db, index=text_index) as store:
        assert store.vector_search_kind() == "pgvector"
        store.batch([PutOp(("pgvector-plan",), key, value) for key, value in NOTES.items()])
        assert store.search(("pgvector-plan",), query="a purring kitten", limit=1)[0].key == "cat"
        with store.engine.begin() as conn:
            column = conn.exec_driver_sql(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'store_item_vectors'::regclass AND attname = 'embedding'"
            ).scalar_one()
            assert column == "vector(384)"
            index = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'store_item_vectors_embedding_idx'"
            ).scalar_one()
            assert "hnsw" in index and "vector_cosine_ops" in index
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            stmt = store.sql.nearest_vectors([], [0.1] * 384, 384, 5)
            compiled = stmt.compile(dialect=conn.dialect)
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all())
            assert "store_item_vectors_embedding_idx" in plan


@pytest.mark.postgres
def test_plain_postgres_uses_the_exact_search(postgres_db: str) -> None:
    with SQLAlchemyStore.from_conn_string(postgres_db, index={"fields": ["text"]}) as store:
        assert store.vector_search_kind() == "exact"
        with store.engine.begin() as conn:
            column = conn.exec_driver_sql(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'store_item_vectors' AND column_name = 'embedding'"
            ).scalar_one()
        assert column == "bytea"


def test_sqlite_uses_the_exact_search(sqlite_db: str) -> None:
    with SQLAlchemyStore.from_conn_string(sqlite_db, index={"fields": ["text"]}) as store:
        assert store.vector_search_kind() == "exact"


@pytest.mark.pgvector
def test_pgvector_refuses_other_dims(pgvector_db: str, hashed_embedding: Embed) -> None:
    index = {"dims": 8, "embed": hashed_embedding(8)}
    with SQLAlchemyStore.from_conn_string(pgvector_db, index=index) as store, pytest.raises(StorageError, match="384"):
        store.put(("m",), "a", {"text": "x"})
