"""Hybrid search over an ingested collection: BM25 and dense vectors, fused by reciprocal rank."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import BaseStore, Item

from agentgraph.retrieval.index import (
    MANIFEST_KEY,
    alist_items,
    check_collection,
    corpus_namespace,
    doc_of_key,
    file_records,
    list_items,
    meta_namespace,
)
from agentgraph.retrieval.passage import Passage

__all__ = ["HybridSearcher", "reciprocal_rank_fusion", "STOPWORDS", "tokenize"]

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    """a an and are as at be by can do does for from has have how i in is it its of on or that the their
    them they this to was were what when where which who why will with you your""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words without stop words, plural 's' removed: the terms BM25 matches on."""
    terms = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        terms.append(word)
    return terms


@dataclass(frozen=True)
class _Hit:
    key: str
    source: str
    text: str
    score: float

    def passage(self, score: float | None = None) -> Passage:
        return Passage(source=self.source, text=self.text, score=self.score if score is None else score)


class _Snapshot:
    """The collection as of one manifest revision: live chunks and their BM25 index."""

    def __init__(self, revision: str | None, records: Mapping[str, Mapping[str, Any]], chunks: Iterable[Item]) -> None:
        from rank_bm25 import BM25Okapi

        self.revision = revision
        self.live_docs = frozenset(str(r["doc"]) for r in records.values())
        live = sorted(
            (item for item in chunks if doc_of_key(item.key) in self.live_docs),
            key=lambda item: item.key,
        )
        self.hits = [_Hit(item.key, str(item.value["source"]), str(item.value["text"]), 0.0) for item in live]
        corpus = [tokenize(hit.text) for hit in self.hits]
        self.bm25 = BM25Okapi(corpus) if any(corpus) else None

    def lexical(self, query: str, limit: int) -> list[_Hit]:
        terms = tokenize(query)
        if self.bm25 is None or not terms:
            return []
        scores = self.bm25.get_scores(terms)
        # Only chunks that share a term with the query count: BM25's idf can be negative on small corpora.
        matching = [i for i, freqs in enumerate(self.bm25.doc_freqs) if any(t in freqs for t in terms)]
        matching.sort(key=lambda i: (-scores[i], i))
        return [_with_score(self.hits[i], float(scores[i])) for i in matching[:limit]]


def _with_score(hit: _Hit, score: float) -> _Hit:
    return _Hit(hit.key, hit.source, hit.text, score)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[_Hit]], k: int) -> list[_Hit]:
    """Fuse ranked lists: a chunk scores the sum of 1 / (k + rank) over the lists it appears in."""
    fused: dict[str, float] = {}
    first: dict[str, _Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            fused[hit.key] = fused.get(hit.key, 0.0) + 1.0 / (k + rank)
            first.setdefault(hit.key, hit)
    order = sorted(fused, key=lambda key: (-fused[key], key))
    return [_with_score(first[key], fused[key]) for key in order]


class HybridSearcher:
    """Searches one collection of a store; reuses its BM25 index until the collection changes."""

    def __init__(
        self,
        store: BaseStore,
        collection: str | None = None,
        *,
        candidates: int | None = None,
        rrf_k: int | None = None,
    ) -> None:
        from agentgraph.settings import get_settings

        cfg = get_settings().retrieval
        self.store = store
        self.collection = check_collection(collection or cfg.collection)
        self.top_k = cfg.top_k
        self.candidates = candidates or cfg.candidates
        self.rrf_k = rrf_k or cfg.rrf_k
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._warned = False
        self.rebuilds = 0
        """How many times the BM25 index was built (for monitoring and tests)."""

    @property
    def dense_enabled(self) -> bool:
        """Whether the store has a vector index to search."""
        return getattr(self.store, "index_config", None) is not None

    # -- the collection, cached by manifest revision ---------------------------------------------------

    def _current(self) -> _Snapshot:
        manifest = self.store.get(meta_namespace(self.collection), MANIFEST_KEY)
        revision = manifest.value.get("revision") if manifest else None
        with self._lock:
            if self._snapshot is None or self._snapshot.revision != revision:
                records = file_records(list_items(self.store, meta_namespace(self.collection)), self.collection)
                chunks = list_items(self.store, corpus_namespace(self.collection)) if records else []
                self._snapshot = _Snapshot(revision, records, chunks)
                self.rebuilds += 1
            return self._snapshot

    async def _acurrent(self) -> _Snapshot:
        manifest = await self.store.aget(meta_namespace(self.collection), MANIFEST_KEY)
        revision = manifest.value.get("revision") if manifest else None
        snapshot = self._snapshot
        if snapshot is None or snapshot.revision != revision:
            items = await alist_items(self.store, meta_namespace(self.collection))
            records = file_records(items, self.collection)
            chunks = await alist_items(self.store, corpus_namespace(self.collection)) if records else []
            snapshot = _Snapshot(revision, records, chunks)
            with self._lock:
                self._snapshot = snapshot
                self.rebuilds += 1
        return snapshot

    # -- rankings --------------------------------------------------------------------------------------

    def _dense_hits(self, snapshot: _Snapshot, results: Iterable[Any], limit: int) -> list[_Hit]:
        hits = []
        namespace = corpus_namespace(self.collection)
        for item in results:
            if tuple(item.namespace) != namespace or doc_of_key(item.key) not in snapshot.live_docs:
                continue
            hits.append(_Hit(item.key, str(item.value["source"]), str(item.value["text"]), float(item.score or 0.0)))
        return hits[:limit]

    def _dense_limit(self, limit: int) -> int:
        return limit * 2 + 5  # room for chunks of an interrupted ingest, which are skipped

    def _dense_usable(self, snapshot: _Snapshot, query: str) -> bool:
        if not self.dense_enabled:
            if not self._warned:
                log.warning("the store has no vector index: searching %r with BM25 only", self.collection)
                self._warned = True
            return False
        return bool(snapshot.hits and query.strip())

    def _dense(self, snapshot: _Snapshot, query: str, limit: int) -> list[_Hit]:
        if not self._dense_usable(snapshot, query):
            return []
        results = self.store.search(corpus_namespace(self.collection), query=query, limit=self._dense_limit(limit))
        return self._dense_hits(snapshot, results, limit)

    async def _adense(self, snapshot: _Snapshot, query: str, limit: int) -> list[_Hit]:
        if not self._dense_usable(snapshot, query):
            return []
        results = await self.store.asearch(corpus_namespace(self.collection), query=query, limit=self._dense_limit(limit))
        return self._dense_hits(snapshot, results, limit)

    def _fused(self, lexical: list[_Hit], dense: list[_Hit], k: int) -> list[Passage]:
        return [hit.passage() for hit in reciprocal_rank_fusion([lexical, dense], self.rrf_k)[:k]]

    # -- public API ------------------------------------------------------------------------------------

    def bm25_search(self, query: str, k: int | None = None) -> list[Passage]:
        """The top `k` passages by BM25 alone (score: BM25)."""
        snapshot = self._current()
        return [hit.passage() for hit in snapshot.lexical(query, k or self.top_k)]

    def dense_search(self, query: str, k: int | None = None) -> list[Passage]:
        """The top `k` passages by embedding similarity alone (score: cosine similarity)."""
        snapshot = self._current()
        return [hit.passage() for hit in self._dense(snapshot, query, k or self.top_k)]

    def search(self, query: str, k: int | None = None) -> list[Passage]:
        """The top `k` passages (default: `retrieval.top_k`) by fused BM25 and dense rank (score: RRF)."""
        snapshot = self._current()
        return self._fused(snapshot.lexical(query, self.candidates), self._dense(snapshot, query, self.candidates), k or self.top_k)

    async def asearch(self, query: str, k: int | None = None) -> list[Passage]:
        """`search` for async stores and graphs."""
        snapshot = await self._acurrent()
        return self._fused(
            snapshot.lexical(query, self.candidates),
            await self._adense(snapshot, query, self.candidates),
            k or self.top_k,
        )

    def __len__(self) -> int:
        """The number of searchable chunks."""
        return len(self._current().hits)
