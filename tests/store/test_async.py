"""The async memory store on every backend: same behaviour as the sync one, plus its sync bridge."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langgraph.store.base import PutOp

from agentgraph.errors import StorageError
from agentgraph.store import AsyncSQLAlchemyStore


async def test_crud_search_and_namespaces(make_astore: Callable[..., Any]) -> None:
    store: AsyncSQLAlchemyStore = await make_astore()
    ns = ("memories", "u1")
    await store.aput(ns, "cat", {"text": "The cat naps in a sunny spot by the window.", "kind": "pet"})
    await store.aput(ns, "tax", {"text": "Quarterly tax payments are due to the revenue office.", "kind": "money"})
    await store.aput(("memories", "u2"), "x", {"text": "unrelated", "kind": "misc"})

    item = await store.aget(ns, "cat")
    assert item is not None and item.value["kind"] == "pet"

    hits = await store.asearch(("memories",), query="a sleepy kitten", limit=2)
    assert next(hit.key for hit in hits) == "cat"
    assert hits[0].score is not None

    assert [i.key for i in await store.asearch(("memories",), filter={"kind": "money"})] == ["tax"]
    assert await store.alist_namespaces(prefix=("memories",)) == [("memories", "u1"), ("memories", "u2")]
    assert await store.alist_namespaces(max_depth=1) == [("memories",)]

    await store.adelete(ns, "cat")
    assert await store.aget(ns, "cat") is None
    assert (await store.acount_items(("memories",)))[0] == 2
    assert {i.key for i in await store.alist_items(("memories",))} == {"tax", "x"}
    assert await store.avector_search_kind() in ("exact", "pgvector")


async def test_concurrent_batches(make_astore: Callable[..., Any]) -> None:
    store: AsyncSQLAlchemyStore = await make_astore(index=None)
    await asyncio.gather(*(store.aput(("c", str(i % 4)), f"k{i}", {"i": i}) for i in range(40)))
    results = await asyncio.gather(*(store.aget(("c", str(i % 4)), f"k{i}") for i in range(40)))
    assert [r.value["i"] for r in results] == list(range(40))


async def test_ttl_refresh_and_sweep(make_astore: Callable[..., Any], sql: Callable[..., list[Any]], db_url: str) -> None:
    store: AsyncSQLAlchemyStore = await make_astore(index=None, ttl={"default_ttl": 1, "omit_expired": True})
    await store.abatch([PutOp(("t",), "a", {"v": 1}, ttl=1), PutOp(("t",), "b", {"v": 1}, ttl=None)])
    past = "datetime('now', '-1 minute')" if db_url.startswith("sqlite") else "now() - interval '1 minute'"
    sql(f"UPDATE store_items SET expires_at = {past} WHERE key = 'a'")
    assert await store.aget(("t",), "a") is None
    assert [i.key for i in await store.asearch(("t",))] == ["b"]
    assert await store.asweep_ttl() == 1
    assert await store.asweep_ttl() == 0


async def test_ttl_sweeper_task(make_astore: Callable[..., Any], sql: Callable[..., list[Any]], db_url: str) -> None:
    store: AsyncSQLAlchemyStore = await make_astore(index=None)
    await store.aput(("t",), "a", {"v": 1}, ttl=1)
    past = "datetime('now', '-1 minute')" if db_url.startswith("sqlite") else "now() - interval '1 minute'"
    sql(f"UPDATE store_items SET expires_at = {past} WHERE key = 'a'")
    task = store.start_ttl_sweeper(sweep_interval_minutes=0.001)
    for _ in range(200):
        if await store.aget(("t",), "a", refresh_ttl=False) is None:
            break
        await asyncio.sleep(0.05)
    assert await store.aget(("t",), "a") is None
    assert await store.stop_ttl_sweeper(timeout=5)
    assert task.done()


async def test_sync_methods_work_from_other_threads(make_astore: Callable[..., Any]) -> None:
    store: AsyncSQLAlchemyStore = await make_astore(index=None)
    await asyncio.to_thread(store.put, ("s",), "k", {"v": 1})
    item = await asyncio.to_thread(store.get, ("s",), "k")
    assert item is not None and item.value == {"v": 1}
    with pytest.raises(StorageError, match="async methods"):
        store.get(("s",), "k")
