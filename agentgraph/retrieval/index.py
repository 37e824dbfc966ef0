"""Ingesting a folder of documents into a collection of the store, idempotently.

Layout in the store (any LangGraph `BaseStore` with a vector index):

* ``("corpus", collection)``: one item per chunk, value ``{"text", "source", "chunk", "path", "sha256"}``,
  embedded on ``"text"``. Its key is ``"<doc id>:<chunk number>"``; the doc id names one version of one
  file (its source id, content hash and chunking).
* ``("corpus_meta", collection)``: ``"file:<source id>"`` records, one per indexed file, holding its
  current doc id; and ``"manifest"``, whose ``revision`` changes whenever the collection does.

A file's new chunks are written first, then its record (and the manifest) switch to the new doc id, then
the old chunks are deleted. Readers only trust chunks whose doc id a record names, so a search never
sees half of a file, and chunks left behind by an interrupted run are removed by the next one.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from langgraph.store.base import BaseStore, Item, PutOp

from agentgraph.retrieval.loaders import (
    SUPPORTED_SUFFIXES,
    Chunk,
    DocumentError,
    FoundFile,
    IngestError,
    discover,
    extract_text,
    read_file,
    split_text,
    splitter_id,
)

__all__ = [
    "alist_items",
    "check_collection",
    "chunk_key",
    "collection_stats",
    "CORPUS",
    "corpus_index_config",
    "CORPUS_META",
    "corpus_namespace",
    "doc_id",
    "doc_of_key",
    "FILE_PREFIX",
    "file_records",
    "ingest",
    "IngestProgress",
    "IngestReport",
    "list_items",
    "MANIFEST_KEY",
    "meta_namespace",
    "ORPHAN_GRACE",
    "PAGE_SIZE",
    "WRITE_BATCH",
]

CORPUS = "corpus"
CORPUS_META = "corpus_meta"
MANIFEST_KEY = "manifest"
FILE_PREFIX = "file:"
PAGE_SIZE = 1000
WRITE_BATCH = 32
ORPHAN_GRACE = timedelta(hours=1)
"""Chunks no file record names are deleted once this old: younger ones may belong to a concurrent run."""
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def corpus_namespace(collection: str) -> tuple[str, str]:
    """Where a collection's chunks live."""
    return (CORPUS, collection)


def meta_namespace(collection: str) -> tuple[str, str]:
    """Where a collection's manifest and file records live."""
    return (CORPUS_META, collection)


def corpus_index_config() -> dict[str, Any]:
    """The store `index=` configuration the corpus needs: offline MiniLM vectors of the "text" field."""
    from agentgraph.embeddings import EMBEDDING_DIMS, OfflineEmbeddings

    return {"dims": EMBEDDING_DIMS, "embed": OfflineEmbeddings(), "fields": ["text"]}


def check_collection(collection: str) -> str:
    """The collection name, if valid: letters, digits, '_' and '-', at most 64 characters."""
    if not _COLLECTION_NAME.match(collection or ""):
        raise IngestError(f"invalid collection name {collection!r}: use letters, digits, '_' and '-' (at most 64 characters)")
    return collection


def doc_id(source: str, sha256: str, splitter: str) -> str:
    """Names one version of one file: its source id, content and chunking."""
    return hashlib.sha256(f"{source}\0{sha256}\0{splitter}".encode()).hexdigest()[:24]


def chunk_key(doc: str, index: int) -> str:
    """The store key of a chunk."""
    return f"{doc}:{index:05d}"


def doc_of_key(key: str) -> str:
    """The doc id a chunk key belongs to."""
    return key.rpartition(":")[0]


class IngestProgress(Protocol):
    """Receives progress; stages are "files" (read and split), "chunks" (produced) and "embedding"."""

    def start(self, stage: str, total: int | None) -> None:
        """A stage begins; `total` is None when unknown."""

    def advance(self, stage: str, amount: int = 1) -> None:
        """A stage moved on by `amount`."""


class _NoProgress:
    def start(self, stage: str, total: int | None) -> None:
        pass

    def advance(self, stage: str, amount: int = 1) -> None:
        pass


@dataclass
class IngestReport:
    """What an ingest run did, file by file (source ids)."""

    collection: str
    directory: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Pruned: indexed before, gone from the folder now."""
    missing: list[str] = field(default_factory=list)
    """Indexed before, gone from the folder now, kept because pruning was not asked for."""
    empty: list[str] = field(default_factory=list)
    """Read fine but without any text (for example a scanned PDF): indexed with no chunks."""
    failed: dict[str, str] = field(default_factory=dict)
    """Source id -> why it could not be ingested; a file indexed before keeps its old chunks."""
    chunks_written: int = 0
    chunks_deleted: int = 0
    total_chunks: int = 0
    total_files: int = 0

    @property
    def ok(self) -> bool:
        """True when every file was ingested."""
        return not self.failed

    @property
    def changed(self) -> bool:
        """True when the collection changed."""
        return bool(self.added or self.updated or self.removed or self.chunks_deleted)


@dataclass
class _Pending:
    source: str
    path: Path
    sha256: str
    chunks: list[Chunk]
    previous: Mapping[str, Any] | None


def list_items(store: BaseStore, namespace: tuple[str, ...]) -> list[Item]:
    """Every item in a namespace, not below it (one query when the store offers `list_items`)."""
    if callable(getattr(store, "list_items", None)):
        return _exactly_in(store.list_items(namespace), namespace)  # type: ignore[attr-defined]
    items: list[Item] = []
    while True:
        page = store.search(namespace, limit=PAGE_SIZE, offset=len(items))
        items.extend(page)
        if len(page) < PAGE_SIZE:
            return _exactly_in(items, namespace)


async def alist_items(store: BaseStore, namespace: tuple[str, ...]) -> list[Item]:
    """Every item in a namespace, not below it (async)."""
    if callable(getattr(store, "alist_items", None)):
        return _exactly_in(await store.alist_items(namespace), namespace)  # type: ignore[attr-defined]
    items: list[Item] = []
    while True:
        page = await store.asearch(namespace, limit=PAGE_SIZE, offset=len(items))
        items.extend(page)
        if len(page) < PAGE_SIZE:
            return _exactly_in(items, namespace)


def _exactly_in(items: Iterable[Item], namespace: tuple[str, ...]) -> list[Item]:
    return [item for item in items if tuple(item.namespace) == namespace]


def file_records(items: Iterable[Item], collection: str) -> dict[str, dict[str, Any]]:
    """Source id -> file record, from the items of a collection's meta namespace."""
    ns = meta_namespace(collection)
    return {
        item.key[len(FILE_PREFIX) :]: dict(item.value) for item in items if tuple(item.namespace) == ns and item.key.startswith(FILE_PREFIX)
    }


def ingest(
    store: BaseStore,
    directory: str | Path,
    collection: str | None = None,
    *,
    prune: bool = False,
    max_file_mb: float | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    progress: IngestProgress | None = None,
) -> IngestReport:
    """Index the .md, .txt and .pdf files under `directory` into `collection` of `store`.

    Unchanged files are skipped, changed ones replaced, and files gone from the folder removed when
    `prune` is set. A file that cannot be read is reported in `IngestReport.failed` and the others go on.
    Unset options come from the `retrieval` settings. Raises `IngestError` when the folder is missing,
    not a folder, or holds no supported file, and when the store has no vector index.
    """
    options = _options(collection, max_file_mb, chunk_size, chunk_overlap)
    root = _documents_folder(directory, store)
    found, refused = discover(root)
    if not found and not refused:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        raise IngestError(f"{root}: no {kinds} files to ingest")
    report = IngestReport(collection=options.collection, directory=root.resolve())
    report.failed.update({err.source: err.reason for err in refused})
    run = _IngestRun(store, options, report, progress or _NoProgress())
    run.write(run.read(found))
    run.remove_gone({f.source for f in found} | set(report.failed), prune)  # failed files keep their chunks
    return run.finish()


@dataclass(frozen=True)
class _Options:
    collection: str
    max_bytes: int
    chunk_size: int
    chunk_overlap: int
    splitter: str


def _options(collection: str | None, max_file_mb: float | None, chunk_size: int | None, chunk_overlap: int | None) -> _Options:
    """The ingest options, the unset ones from the `retrieval` settings."""
    from agentgraph.settings import get_settings

    cfg = get_settings().retrieval
    collection = check_collection(collection or cfg.collection)
    max_bytes = int((max_file_mb if max_file_mb is not None else cfg.max_file_mb) * 1_000_000)
    chunk_size = chunk_size or cfg.chunk_size
    chunk_overlap = cfg.chunk_overlap if chunk_overlap is None else chunk_overlap
    if chunk_overlap >= chunk_size:
        raise IngestError(f"chunk overlap ({chunk_overlap}) must be smaller than the chunk size ({chunk_size})")
    return _Options(collection, max_bytes, chunk_size, chunk_overlap, splitter_id(chunk_size, chunk_overlap))


def _documents_folder(directory: str | Path, store: BaseStore) -> Path:
    """`directory` checked to be a folder, and `store` to have a vector index."""
    root = Path(directory).expanduser()
    if not root.exists():
        raise IngestError(f"{root}: no such directory")
    if not root.is_dir():
        raise IngestError(f"{root}: not a directory (give the folder that holds the documents)")
    if getattr(store, "index_config", None) is None:
        raise IngestError("the store has no vector index: open it with index=corpus_index_config()")
    return root


class _IngestRun:
    """One ingest into one collection: the file records and manifest as they were read, kept up to date."""

    def __init__(self, store: BaseStore, options: _Options, report: IngestReport, progress: IngestProgress) -> None:
        self.store, self.options, self.report, self.progress = store, options, report, progress
        self.meta_ns, self.corpus_ns = meta_namespace(options.collection), corpus_namespace(options.collection)
        meta_items = list_items(store, self.meta_ns)
        self.records = file_records(meta_items, options.collection)
        self.manifest = next((dict(i.value) for i in meta_items if i.key == MANIFEST_KEY), {"version": 0})

    def read(self, found: Sequence[FoundFile]) -> list[_Pending]:
        """Read, hash and split the files; unchanged files stop at the hash."""
        opts, progress = self.options, self.progress
        progress.start("files", len(found))
        progress.start("chunks", None)
        pending: list[_Pending] = []
        for item in found:
            try:
                data = read_file(item, opts.max_bytes)
                digest = hashlib.sha256(data).hexdigest()
                previous = self.records.get(item.source)
                if previous and previous.get("doc") == doc_id(item.source, digest, opts.splitter):
                    self.report.unchanged.append(item.source)
                    continue
                text = extract_text(item.source, data)
                chunks = split_text(text, item.source, chunk_size=opts.chunk_size, chunk_overlap=opts.chunk_overlap)
                pending.append(_Pending(item.source, item.path, digest, chunks, previous))
                progress.advance("chunks", len(chunks))
            except DocumentError as err:
                self.report.failed[err.source] = err.reason
            finally:
                progress.advance("files")
        return pending

    def write(self, pending: Sequence[_Pending]) -> None:
        """Each file's new chunks, then the record and manifest that make them visible, then its old chunks deleted."""
        self.progress.start("embedding", sum(len(p.chunks) for p in pending))
        for doc in pending:
            new_doc = doc_id(doc.source, doc.sha256, self.options.splitter)
            self._write_chunks(doc, new_doc)
            record = {
                "doc": new_doc,
                "sha256": doc.sha256,
                "chunks": len(doc.chunks),
                "path": str(doc.path),
                "splitter": self.options.splitter,
                "ingested_at": datetime.now(UTC).isoformat(),
            }
            self.records[doc.source] = record
            self.manifest = _bumped(self.manifest, self.records)
            ops: list[PutOp] = [
                PutOp(self.meta_ns, FILE_PREFIX + doc.source, record, index=False),
                PutOp(self.meta_ns, MANIFEST_KEY, self.manifest, index=False),
            ]
            if doc.previous:
                ops += _delete_ops(self.corpus_ns, doc.previous)
                self.report.chunks_deleted += int(doc.previous.get("chunks", 0))
            self.store.batch(ops)
            self.report.chunks_written += len(doc.chunks)
            (self.report.updated if doc.previous else self.report.added).append(doc.source)
            if not doc.chunks:
                self.report.empty.append(doc.source)

    def _write_chunks(self, doc: _Pending, new_doc: str) -> None:
        for start in range(0, len(doc.chunks), WRITE_BATCH):
            batch = doc.chunks[start : start + WRITE_BATCH]
            self.store.batch(
                [
                    PutOp(
                        self.corpus_ns,
                        chunk_key(new_doc, c.index),
                        {"text": c.text, "source": c.source, "chunk": c.index, "path": str(doc.path), "sha256": doc.sha256},
                        index=["text"],
                    )
                    for c in batch
                ]
            )
            self.progress.advance("embedding", len(batch))

    def remove_gone(self, present: set[str], prune: bool) -> None:
        """Files indexed before and not `present` now: removed with `prune`, listed as missing otherwise."""
        for source in sorted(set(self.records) - present):
            if not prune:
                self.report.missing.append(source)
                continue
            previous = self.records.pop(source)
            self.manifest = _bumped(self.manifest, self.records)
            self.store.batch(
                [
                    PutOp(self.meta_ns, FILE_PREFIX + source, None),
                    PutOp(self.meta_ns, MANIFEST_KEY, self.manifest, index=False),
                    *_delete_ops(self.corpus_ns, previous),
                ]
            )
            self.report.removed.append(source)
            self.report.chunks_deleted += int(previous.get("chunks", 0))

    def finish(self) -> IngestReport:
        """Orphaned chunks collected and the totals counted, from the records as they are now (another
        worker may have ingested into this collection meanwhile)."""
        report = self.report
        records = file_records(list_items(self.store, self.meta_ns), self.options.collection)
        report.chunks_deleted += _collect_orphans(self.store, self.corpus_ns, records)
        if report.changed:
            self.store.put(self.meta_ns, MANIFEST_KEY, _bumped(self.manifest, records), index=False)
        report.total_files = len(records)
        report.total_chunks = sum(int(r.get("chunks", 0)) for r in records.values())
        return report


def _bumped(manifest: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "version": int(manifest.get("version", 0)) + 1,
        "revision": uuid.uuid4().hex,
        "files": len(records),
        "chunks": sum(int(r.get("chunks", 0)) for r in records.values()),
        "updated_at": datetime.now(UTC).isoformat(),
    }


def _delete_ops(namespace: tuple[str, ...], record: Mapping[str, Any]) -> list[PutOp]:
    return [PutOp(namespace, chunk_key(record["doc"], i), None) for i in range(int(record.get("chunks", 0)))]


def _collect_orphans(store: BaseStore, namespace: tuple[str, ...], records: Mapping[str, Mapping[str, Any]]) -> int:
    """Deletes chunks that no file record names (left by an interrupted run); returns how many."""
    live = {r["doc"] for r in records.values()}
    cutoff = datetime.now(UTC) - ORPHAN_GRACE
    orphans = [item.key for item in list_items(store, namespace) if doc_of_key(item.key) not in live and _aware(item.updated_at) < cutoff]
    for start in range(0, len(orphans), PAGE_SIZE):
        store.batch([PutOp(namespace, key, None) for key in orphans[start : start + PAGE_SIZE]])
    return len(orphans)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def collection_stats(store: BaseStore, collection: str) -> dict[str, Any]:
    """The collection's manifest (version, files, chunks), or zeros when nothing was ingested."""
    item = store.get(meta_namespace(check_collection(collection)), MANIFEST_KEY)
    return dict(item.value) if item else {"version": 0, "files": 0, "chunks": 0}
