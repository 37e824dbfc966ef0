"""Finding, reading and splitting the documents of a folder: .md, .txt and .pdf files."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from agentgraph.errors import AgentgraphError

__all__ = [
    "Chunk",
    "discover",
    "DocumentError",
    "extract_text",
    "FoundFile",
    "IngestError",
    "read_file",
    "split_text",
    "splitter_id",
    "SPLITTER_VERSION",
    "SUPPORTED_SUFFIXES",
]

SUPPORTED_SUFFIXES = (".md", ".txt", ".pdf")
SPLITTER_VERSION = "sentences-v1"

# Paragraphs, lines, then sentence ends: a chunk is cut inside a sentence only when one sentence alone is
# longer than the chunk size. The separators are regular expressions; the whitespace they match is dropped.
_SENTENCE_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", " ", ""]
_MARKDOWN_SEPARATORS = [r"\n(?=#{1,6} )", *_SENTENCE_SEPARATORS]


class IngestError(AgentgraphError):
    """The documents cannot be ingested (a missing folder, an empty one, a bad collection name)."""


class DocumentError(IngestError):
    """One document cannot be read; the message names the file and what is wrong with it."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class FoundFile:
    """A supported file under the ingested folder."""

    source: str
    """Its path relative to the folder, with forward slashes: the passage's source id."""
    path: Path
    """Its absolute path (through any symlink)."""


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, a few sentences long."""

    source: str
    index: int
    text: str


def discover(directory: Path) -> tuple[list[FoundFile], list[DocumentError]]:
    """The supported files under `directory`, sorted by source id, and the entries refused on the way.

    Hidden files and folders are skipped. A symlink is followed only when its target lies inside
    `directory`; one that points outside, or nowhere, is refused. Each folder is visited once.
    """
    root = directory.resolve()
    found: list[FoundFile] = []
    refused: list[DocumentError] = []
    visited: set[Path] = set()

    def inside(path: Path) -> bool:
        return path == root or path.is_relative_to(root)

    def walk(folder: Path, real: Path) -> None:
        if real in visited:
            return
        visited.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            refused.append(DocumentError(_relative(folder, directory), f"cannot list this folder ({exc.strerror})"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            source = _relative(path, directory)
            target = path
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    if path.suffix.lower() in SUPPORTED_SUFFIXES or not path.suffix:
                        refused.append(DocumentError(source, "broken symlink (its target does not exist)"))
                    continue
                if not inside(target):
                    refused.append(DocumentError(source, f"symlink points outside the ingested folder, to {target}"))
                    continue
            if target.is_dir():
                walk(path, target.resolve())
            elif target.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(FoundFile(source=source, path=target.resolve()))

    walk(directory, root)
    found.sort(key=lambda f: f.source)
    return found, refused


def _relative(path: Path, directory: Path) -> str:
    rel = os.path.relpath(path, directory)
    return "." if rel == "." else Path(rel).as_posix()


def read_file(found: FoundFile, max_bytes: int) -> bytes:
    """The file's bytes; refused when larger than `max_bytes`."""
    try:
        size = found.path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                found.source,
                f"file is {size / 1e6:.1f} MB, above the {max_bytes / 1e6:g} MB limit (retrieval.max_file_mb)",
            )
        with found.path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError(found.source, f"cannot read the file ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise DocumentError(found.source, f"file is above the {max_bytes / 1e6:g} MB limit (retrieval.max_file_mb)")
    return data


def extract_text(source: str, data: bytes) -> str:
    """The plain text of a document, given its source id (for its type and for errors) and its bytes."""
    suffix = Path(source).suffix.lower()
    if suffix == ".pdf":
        return _pdf_text(source, data)
    if suffix in (".md", ".txt"):
        return _utf8_text(source, data)
    raise DocumentError(source, f"unsupported file type {suffix!r} (supported: {', '.join(SUPPORTED_SUFFIXES)})")


def _utf8_text(source: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DocumentError(
            source,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}); convert it to UTF-8 and ingest again",
        ) from None
    if "\x00" in text:
        raise DocumentError(source, "contains NUL bytes: a binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _pdf_text(source: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise DocumentError(source, "corrupt PDF: the file does not start with a PDF header")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise DocumentError(source, "encrypted PDF: remove its password and ingest again") from None
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError) as exc:
        raise DocumentError(source, f"corrupt PDF ({type(exc).__name__}: {exc})") from None
    return "\n\n".join(_unwrap_lines(page) for page in pages if page.strip())


def _unwrap_lines(page: str) -> str:
    """Page text with hard-wrapped lines joined; blank lines stay paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", page)
    out = []
    for paragraph in paragraphs:
        text = re.sub(r"-\n(?=[a-z])", "", paragraph.strip())
        text = " ".join(text.split())
        if text:
            out.append(text)
    return "\n\n".join(out)


def split_text(text: str, source: str, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """The chunks of a document, cut at paragraph and sentence boundaries (Markdown also at headings)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    markdown = Path(source).suffix.lower() == ".md"
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=_MARKDOWN_SEPARATORS if markdown else _SENTENCE_SEPARATORS,
        is_separator_regex=True,
        keep_separator="start",
        strip_whitespace=True,
    )
    pieces = _merge_stubs([p for p in splitter.split_text(text) if p.strip()], chunk_size)
    return [Chunk(source=source, index=i, text=piece) for i, piece in enumerate(pieces)]


def _merge_stubs(pieces: list[str], chunk_size: int) -> list[str]:
    """Short pieces that are not sentences (a lone heading) are joined to the piece after them."""
    merged: list[str] = []
    carry = ""
    limit = max(40, chunk_size // 4)
    for piece in pieces:
        if carry:
            piece = f"{carry}\n{piece}"
            carry = ""
        if len(piece) < limit and not re.search(r"[.!?]\W*$", piece):
            carry = piece
            continue
        merged.append(piece)
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]}\n{carry}"
        else:
            merged.append(carry)
    return merged


def splitter_id(chunk_size: int, chunk_overlap: int) -> str:
    """Names the chunking, so a change of chunk size re-splits files whose content did not change."""
    return f"{SPLITTER_VERSION}:{chunk_size}:{chunk_overlap}"
