"""Finding, reading and splitting documents."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agentgraph.retrieval.loaders import DocumentError, FoundFile, discover, extract_text, read_file, split_text

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
CORPUS_SOURCES = ["bread.txt", "cats.md", "sub/notes.txt", "tea.pdf", "volcanoes.md"]


def test_discover_lists_supported_files_with_relative_posix_source_ids(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "b.TXT").write_text("b")
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "ignored.py").write_text("x = 1")
    (tmp_path / ".hidden.md").write_text("secret")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("internal")

    found, refused = discover(tmp_path)

    assert [f.source for f in found] == ["a.md", "c.pdf", "deep/er/b.TXT"]
    assert all(f.path.is_absolute() for f in found)
    assert refused == []


def test_discover_on_the_fixture_corpus() -> None:
    found, refused = discover(CORPUS)
    assert [f.source for f in found] == CORPUS_SOURCES
    assert refused == []


def test_symlinks_outside_the_folder_are_refused_and_inside_ones_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not index")
    docs = tmp_path / "docs"
    (docs / "real").mkdir(parents=True)
    (docs / "real" / "a.txt").write_text("inside")
    os.symlink(outside / "secret.txt", docs / "leak.txt")
    os.symlink(outside, docs / "leakdir")
    os.symlink(docs / "real" / "a.txt", docs / "alias.txt")
    os.symlink(docs / "real", docs / "real" / "loop")  # a cycle must not hang the walk
    os.symlink(docs / "missing.txt", docs / "broken.txt")

    found, refused = discover(docs)

    assert [f.source for f in found] == ["alias.txt", "real/a.txt"]
    reasons = {err.source: err.reason for err in refused}
    assert set(reasons) == {"leak.txt", "leakdir", "broken.txt"}
    assert "outside the ingested folder" in reasons["leak.txt"]
    assert "outside the ingested folder" in reasons["leakdir"]
    assert "broken symlink" in reasons["broken.txt"]


def test_text_files_are_decoded_as_utf8_without_bom_and_crlf() -> None:
    data = "\ufeffLine one.\r\nLine two — ok.\r\n".encode()
    assert extract_text("notes.txt", data) == "Line one.\nLine two — ok.\n"


def test_non_utf8_text_is_refused_naming_the_file_and_the_byte() -> None:
    data = "first line\ncaf\xe9 au lait\n".encode("latin-1")
    with pytest.raises(DocumentError) as info:
        extract_text("sub/latin.md", data)
    message = str(info.value)
    assert message.startswith("sub/latin.md: not UTF-8")
    assert "0xe9" in message and "line 2" in message
    assert info.value.source == "sub/latin.md"


def test_binary_content_in_a_text_file_is_refused() -> None:
    with pytest.raises(DocumentError, match="NUL bytes"):
        extract_text("blob.txt", b"abc\x00\x01\x02")


def test_pdf_text_is_extracted_from_every_page() -> None:
    text = extract_text("tea.pdf", (CORPUS / "tea.pdf").read_bytes())
    assert "Camellia sinensis" in text  # page 1
    assert "70 to 80 degrees Celsius" in text  # page 2
    assert "pan-fired in a hot wok" in text  # hard-wrapped lines are joined back into sentences


@pytest.mark.parametrize(
    "data",
    [
        b"this is not a pdf at all",
        b"%PDF-1.4\n" + bytes(range(256)) * 4,
        (CORPUS / "tea.pdf").read_bytes()[:600],
    ],
    ids=["no-header", "garbage", "truncated"],
)
def test_corrupt_pdfs_are_refused_naming_the_file(data: bytes) -> None:
    with pytest.raises(DocumentError, match=r"^broken\.pdf: corrupt PDF"):
        extract_text("broken.pdf", data)


def test_files_above_the_size_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 3_000_000)
    with pytest.raises(DocumentError, match=r"big\.txt: file is 3\.0 MB, above the 2 MB limit"):
        read_file(FoundFile("big.txt", path), max_bytes=2_000_000)
    assert read_file(FoundFile("big.txt", path), max_bytes=3_000_000) == b"x" * 3_000_000


def test_split_keeps_source_and_sentence_boundaries() -> None:
    text = (CORPUS / "cats.md").read_text()
    chunks = split_text(text, "cats.md", chunk_size=200, chunk_overlap=60)

    assert len(chunks) > 3
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert {c.source for c in chunks} == {"cats.md"}
    for chunk in chunks:
        assert len(chunk.text) <= 200 + 40, chunk.text  # a merged heading may add a little
        assert re.search(r"[.!?]$", chunk.text), f"chunk does not end a sentence: {chunk.text!r}"
        assert re.match(r"^(#+ |[A-Z0-9])", chunk.text), f"chunk does not start a sentence: {chunk.text!r}"
    # every sentence of the document is in some chunk, whole
    joined = "\n".join(c.text for c in chunks)
    for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"#+ [^\n]*\n", "", text)):
        assert sentence.strip() in joined


def test_markdown_headings_stay_with_their_text() -> None:
    chunks = split_text((CORPUS / "cats.md").read_text(), "cats.md", chunk_size=400, chunk_overlap=80)
    headings = [c.text for c in chunks if c.text.startswith("#")]
    assert headings, "no chunk starts with a heading"
    assert all("\n" in text and len(text.split("\n", 1)[1]) > 40 for text in headings)
    assert not any(re.fullmatch(r"#+ .*", c.text) for c in chunks)


def test_neighbouring_chunks_overlap_by_whole_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    chunks = split_text(text, "s.txt", chunk_size=150, chunk_overlap=60)
    assert len(chunks) > 3
    for previous, current in zip(chunks, chunks[1:], strict=False):
        before = re.split(r"(?<=\.)\s+", previous.text)
        after = re.split(r"(?<=\.)\s+", current.text)
        shared = [s for s in after if s in before]
        assert shared, "no overlap"
        assert before[-len(shared) :] == shared == after[: len(shared)]
        assert sum(len(s) + 1 for s in shared) <= 60 + 1
