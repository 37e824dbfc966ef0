"""Ingesting folders into a store: layout, idempotence, replacement, pruning, bad input."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

import agentgraph.retrieval.index as index_module
from agentgraph.retrieval import HybridSearcher, IngestError, collection_stats, ingest
from agentgraph.retrieval.index import (
    FILE_PREFIX,
    MANIFEST_KEY,
    chunk_key,
    corpus_namespace,
    meta_namespace,
)

CORPUS_SOURCES = ["bread.txt", "cats.md", "sub/notes.txt", "tea.pdf", "volcanoes.md"]
CHUNKING: dict[str, Any] = {"chunk_size": 400, "chunk_overlap": 80}


def chunks(store: InMemoryStore, collection: str = "c") -> dict[str, dict[str, Any]]:
    """key -> value of every chunk item of a collection."""
    return {item.key: item.value for item in store.search(corpus_namespace(collection), limit=10_000)}


def chunk_texts(store: InMemoryStore, source: str, collection: str = "c") -> list[str]:
    values = sorted((v for v in chunks(store, collection).values() if v["source"] == source), key=lambda v: v["chunk"])
    return [v["text"] for v in values]


def test_ingest_writes_one_item_per_chunk_with_its_source(store: InMemoryStore, docs: Path) -> None:
    report = ingest(store, docs, "c", **CHUNKING)

    assert report.ok
    assert sorted(report.added) == CORPUS_SOURCES
    items = chunks(store)
    assert len(items) == report.chunks_written == report.total_chunks > len(CORPUS_SOURCES)
    assert report.total_files == len(CORPUS_SOURCES)
    for value in items.values():
        assert set(value) == {"text", "source", "chunk", "path", "sha256"}
        assert value["sha256"] == hashlib.sha256((docs / value["source"]).read_bytes()).hexdigest()
        assert Path(value["path"]) == (docs / value["source"]).resolve()
    by_source = {v["source"] for v in items.values()}
    assert by_source == set(CORPUS_SOURCES)
    assert "Camellia sinensis" in " ".join(chunk_texts(store, "tea.pdf"))
    assert collection_stats(store, "c")["chunks"] == len(items)


def test_chunks_are_vector_indexed_on_text(store: InMemoryStore, docs: Path) -> None:
    ingest(store, docs, "c", **CHUNKING)
    hits = store.search(corpus_namespace("c"), query="pump seal kit replacement", limit=1)
    assert hits and hits[0].value["source"] == "sub/notes.txt" and hits[0].score is not None
    # the bookkeeping items are not embedded
    assert store.search(meta_namespace("c"), query="pump", limit=5)[0].score is None


def test_reingesting_unchanged_files_writes_nothing(store: InMemoryStore, docs: Path) -> None:
    ingest(store, docs, "c", **CHUNKING)
    before = {item.key: item.updated_at for item in store.search(corpus_namespace("c"), limit=10_000)}
    version = collection_stats(store, "c")["version"]

    again = ingest(store, docs, "c", **CHUNKING)

    assert sorted(again.unchanged) == CORPUS_SOURCES
    assert again.added == again.updated == again.removed == []
    assert again.chunks_written == again.chunks_deleted == 0
    assert not again.changed
    assert {item.key: item.updated_at for item in store.search(corpus_namespace("c"), limit=10_000)} == before
    assert collection_stats(store, "c")["version"] == version


def test_a_changed_file_replaces_all_its_chunks_and_only_its_own(store: InMemoryStore, docs: Path) -> None:
    ingest(store, docs, "c", **CHUNKING)
    others = {k: v for k, v in chunks(store).items() if v["source"] != "cats.md"}
    (docs / "cats.md").write_text("# Cats\n\nA cat has thirty-two muscles in each ear. It can rotate each ear on its own.\n")

    report = ingest(store, docs, "c", **CHUNKING)

    assert report.updated == ["cats.md"] and report.added == []
    assert [" ".join(t.split()) for t in chunk_texts(store, "cats.md")] == [
        "# Cats A cat has thirty-two muscles in each ear. It can rotate each ear on its own."
    ]
    assert {k: v for k, v in chunks(store).items() if v["source"] != "cats.md"} == others
    assert not any("taurine" in v["text"] for v in chunks(store).values())
    assert report.chunks_written == 1 and report.chunks_deleted > 1


def test_a_new_chunk_size_resplits_unchanged_files(store: InMemoryStore, docs: Path) -> None:
    first = ingest(store, docs, "c", chunk_size=400, chunk_overlap=80)
    second = ingest(store, docs, "c", chunk_size=150, chunk_overlap=30)
    assert sorted(second.updated) == CORPUS_SOURCES
    assert second.total_chunks > first.total_chunks == second.chunks_deleted
    assert len(chunks(store)) == second.total_chunks
    assert all(len(v["text"]) <= 150 + 40 for v in chunks(store).values())


def test_deleted_files_stay_until_pruned(store: InMemoryStore, docs: Path) -> None:
    ingest(store, docs, "c", **CHUNKING)
    (docs / "bread.txt").unlink()

    kept = ingest(store, docs, "c", **CHUNKING)
    assert kept.missing == ["bread.txt"] and kept.removed == []
    assert chunk_texts(store, "bread.txt")

    pruned = ingest(store, docs, "c", prune=True, **CHUNKING)
    assert pruned.removed == ["bread.txt"] and pruned.missing == []
    assert chunk_texts(store, "bread.txt") == []
    assert store.get(meta_namespace("c"), FILE_PREFIX + "bread.txt") is None
    assert pruned.total_files == len(CORPUS_SOURCES) - 1
    assert pruned.total_chunks == len(chunks(store))


def test_a_bad_file_fails_alone_and_keeps_its_earlier_version(store: InMemoryStore, docs: Path) -> None:
    ingest(store, docs, "c", **CHUNKING)
    old = chunk_texts(store, "sub/notes.txt")
    (docs / "sub" / "notes.txt").write_bytes("Pumpe f\xfcr Geb\xe4ude C".encode("latin-1"))
    (docs / "new.md").write_text("# New\n\nA brand new document about lighthouses.\n")

    report = ingest(store, docs, "c", prune=True, **CHUNKING)

    assert not report.ok
    assert list(report.failed) == ["sub/notes.txt"]
    assert "not UTF-8" in report.failed["sub/notes.txt"]
    assert report.added == ["new.md"]
    assert report.removed == []  # a failed file is not pruned
    assert chunk_texts(store, "sub/notes.txt") == old


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("huge.txt", b"word " * 300_000, "above the 1 MB limit"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "corrupt PDF"),
        ("latin.txt", "na\xefve".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_input_is_reported_by_file_name(store: InMemoryStore, docs: Path, name: str, content: bytes, reason: str) -> None:
    (docs / name).write_bytes(content)
    report = ingest(store, docs, "c", max_file_mb=1, **CHUNKING)
    assert reason in report.failed[name]
    assert sorted(report.added) == CORPUS_SOURCES
    assert not any(v["source"] == name for v in chunks(store).values())


def test_symlinks_pointing_outside_are_refused(store: InMemoryStore, docs: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n\nThe vault code is 1234.\n")
    os.symlink(secret, docs / "secret.md")
    report = ingest(store, docs, "c", **CHUNKING)
    assert "outside the ingested folder" in report.failed["secret.md"]
    assert not any("vault" in v["text"] for v in chunks(store).values())


def test_a_file_without_text_is_indexed_empty(store: InMemoryStore, docs: Path) -> None:
    (docs / "blank.txt").write_text("   \n\n")
    report = ingest(store, docs, "c", **CHUNKING)
    assert report.ok and report.empty == ["blank.txt"] and "blank.txt" in report.added
    assert chunk_texts(store, "blank.txt") == []


def test_folder_errors(store: InMemoryStore, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such directory"):
        ingest(store, tmp_path / "nope", "c")
    (tmp_path / "file.md").write_text("# x")
    with pytest.raises(IngestError, match="not a directory"):
        ingest(store, tmp_path / "file.md", "c")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match=r"no \.md, \.txt, \.pdf files"):
        ingest(store, tmp_path / "empty", "c")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.py").write_text("print()")
    with pytest.raises(IngestError, match="no .md"):
        ingest(store, tmp_path / "code", "c")


def test_bad_collection_name_and_store_without_index(store: InMemoryStore, docs: Path) -> None:
    with pytest.raises(IngestError, match="invalid collection name"):
        ingest(store, docs, "my.docs")
    with pytest.raises(IngestError, match="no vector index"):
        ingest(InMemoryStore(), docs, "c")


def test_collections_are_separate(store: InMemoryStore, docs: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "owls.md").write_text("# Owls\n\nOwls can turn their heads through 270 degrees.\n")
    ingest(store, docs, "c", **CHUNKING)
    ingest(store, other, "c2", prune=True, **CHUNKING)
    assert {v["source"] for v in chunks(store, "c2").values()} == {"owls.md"}
    assert {v["source"] for v in chunks(store, "c").values()} == set(CORPUS_SOURCES)


class _Recorder:
    def __init__(self) -> None:
        self.totals: dict[str, int | None] = {}
        self.done: dict[str, int] = {}

    def start(self, stage: str, total: int | None) -> None:
        self.totals[stage] = total

    def advance(self, stage: str, amount: int = 1) -> None:
        self.done[stage] = self.done.get(stage, 0) + amount


def test_progress_counts_files_chunks_and_embeddings(store: InMemoryStore, docs: Path) -> None:
    progress = _Recorder()
    report = ingest(store, docs, "c", progress=progress, **CHUNKING)
    assert progress.totals["files"] == progress.done["files"] == len(CORPUS_SOURCES)
    assert progress.done["chunks"] == report.chunks_written
    assert progress.totals["embedding"] == progress.done["embedding"] == report.chunks_written


def test_an_interrupted_replacement_leaves_the_old_version_whole(store: InMemoryStore, docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(store, docs, "c", **CHUNKING)
    searcher = HybridSearcher(store, "c")
    old = chunk_texts(store, "cats.md")
    (docs / "cats.md").write_text("# Cats\n\nCats were worshipped in ancient Egypt as the goddess Bastet.\n")

    class Crash(Exception):
        pass

    real_batch = InMemoryStore.batch

    def crash_on_commit(self: InMemoryStore, ops: Any) -> Any:
        ops = list(ops)
        if any(isinstance(op, PutOp) and op.key == MANIFEST_KEY for op in ops):
            raise Crash
        return real_batch(self, ops)

    with monkeypatch.context() as patch:
        patch.setattr(InMemoryStore, "batch", crash_on_commit)
        with pytest.raises(Crash):
            ingest(store, docs, "c", **CHUNKING)

    # the new chunks were written, but nothing points at them: searches see only the old version
    assert any("Bastet" in v["text"] for v in chunks(store).values())
    cat_passages = [p.text for p in searcher.search("cats", k=20) if p.source == "cats.md"]
    assert cat_passages and all(text in old for text in cat_passages)
    assert not any("Bastet" in p.text for p in searcher.search("Egyptian goddess Bastet", k=20))

    # the next run completes the replacement and removes the leftovers
    report = ingest(store, docs, "c", **CHUNKING)
    assert report.updated == ["cats.md"]
    assert [" ".join(t.split()) for t in chunk_texts(store, "cats.md")] == [
        "# Cats Cats were worshipped in ancient Egypt as the goddess Bastet."
    ]
    assert len(chunks(store)) == report.total_chunks
    assert searcher.search("Egyptian goddess Bastet", k=1)[0].source == "cats.md"


def test_leftover_chunks_are_removed_by_a_later_run(store: InMemoryStore, docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(store, docs, "c", **CHUNKING)
    orphan = chunk_key("0" * 24, 0)
    store.put(corpus_namespace("c"), orphan, {"text": "stale", "source": "gone.md", "chunk": 0, "path": "/x", "sha256": "0"})

    # a fresh one may be a concurrent run's write in progress: kept
    assert ingest(store, docs, "c", **CHUNKING).chunks_deleted == 0
    assert orphan in chunks(store)

    monkeypatch.setattr(index_module, "ORPHAN_GRACE", timedelta(0))
    report = ingest(store, docs, "c", **CHUNKING)
    assert report.chunks_deleted == 1
    assert orphan not in chunks(store)
    assert len(chunks(store)) == report.total_chunks


def test_items_below_the_collection_namespace_are_left_alone(store: InMemoryStore, docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    below = (*corpus_namespace("c"), "notes")
    store.put(below, "k", {"text": "someone else's item"})
    monkeypatch.setattr(index_module, "ORPHAN_GRACE", timedelta(0))
    ingest(store, docs, "c", **CHUNKING)
    assert store.get(below, "k") is not None
    assert all(p.source in CORPUS_SOURCES for p in HybridSearcher(store, "c").search("someone else's item", 30))
