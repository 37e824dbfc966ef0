"""Fixtures of the retrieval tests: the embedding model loaded once, in-memory stores, the fixture corpus."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings
from langgraph.store.memory import InMemoryStore

from agentgraph.embeddings import EMBEDDING_DIMS, OfflineEmbeddings
from agentgraph.retrieval import HybridSearcher, ingest

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
CORPUS_SOURCES = ["bread.txt", "cats.md", "sub/notes.txt", "tea.pdf", "volcanoes.md"]
CHUNKING = {"chunk_size": 400, "chunk_overlap": 80}


class CachedEmbeddings(Embeddings):
    """The real model, but each distinct text is embedded once per test session."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.cache: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [text for text in dict.fromkeys(texts) if text not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.inner.embed_documents(missing), strict=True))
        return [self.cache[text] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@pytest.fixture(scope="session")
def embeddings() -> CachedEmbeddings:
    """The offline MiniLM model, loaded once for the session."""
    model = CachedEmbeddings(OfflineEmbeddings())
    model.embed_query("warm up")
    return model


@pytest.fixture
def make_store(embeddings: CachedEmbeddings) -> Callable[[], InMemoryStore]:
    """Builds empty in-memory stores with the corpus vector index."""
    return lambda: InMemoryStore(index={"dims": EMBEDDING_DIMS, "embed": embeddings, "fields": ["text"]})


@pytest.fixture
def store(make_store: Callable[[], InMemoryStore]) -> InMemoryStore:
    """An empty store with a vector index."""
    return make_store()


@pytest.fixture(scope="session")
def corpus_store(embeddings: CachedEmbeddings) -> InMemoryStore:
    """A store holding the fixture corpus in collection "fixture" (shared: do not write to it)."""
    store = InMemoryStore(index={"dims": EMBEDDING_DIMS, "embed": embeddings, "fields": ["text"]})
    report = ingest(store, CORPUS, "fixture", **CHUNKING)
    assert report.ok and sorted(report.added) == CORPUS_SOURCES
    return store


@pytest.fixture(scope="session")
def searcher(corpus_store: InMemoryStore) -> HybridSearcher:
    """A searcher over the fixture corpus."""
    return HybridSearcher(corpus_store, "fixture")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A writable copy of the fixture corpus."""
    target = tmp_path / "docs"
    shutil.copytree(CORPUS, target)
    return target
