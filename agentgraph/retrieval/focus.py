"""Sentences of the retrieved passages that answer the request, first.

A search returns whole chunks; the sentence that answers is often not the first one. `focus` splits each
passage into sentences (each read with the Markdown heading it stands under), scores every sentence against
the query and the task it serves (cosine of the offline embeddings plus shared terms), keeps each passage's
best sentences, best first, and orders the passages by their best sentence. The text of every sentence
is kept word for word, so an answer that copies it can be checked against the source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace

from agentgraph.retrieval.passage import Passage
from agentgraph.retrieval.search import tokenize

__all__ = ["focus", "sentences_of"]

_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9£$€*#-])")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
_LABEL = re.compile(r"^(?:\d+[.)]\s+)?\*\*([^*]+)\*\*(.*)$")
"""A line opened by bold text (after a list number): the bold text, and the rest of the line."""
_MARKUP = re.compile(r"^[#*\-•>\s|]+|[*_`]+")
LEXICAL_WEIGHT = 0.05
"""What a shared term adds to a sentence's cosine score, times its rarity among the candidate sentences (idf)."""


def sentences_of(text: str) -> list[tuple[str, str]]:
    """The sentences of a passage, each with the heading it stands under (Markdown markers removed).

    A line that is all bold ("**When are you open?**") heads the lines after it, as a Markdown heading
    does; a bold label that opens a line ("**Damage.** Report any damage ...") heads that line's sentences;
    a table's rows are headed by its first row too."""
    out: list[tuple[str, str]] = []
    heading = columns = ""
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line.startswith("|"):  # a table ends at the first line that is not one of its rows
            columns = ""
        if line.startswith("#"):
            heading = _MARKUP.sub("", line).strip()
            continue
        if labelled := _LABEL.match(line):
            label, rest = labelled.group(1).strip(), labelled.group(2).strip()
            if not rest:
                heading = label
                continue
            if label.endswith((".", ":", "?")):
                out += [(label, sentence) for _, sentence in sentences_of(rest)]
                continue
        if line.startswith("|"):  # a table row is one sentence: its cells joined, headed by the table's first row
            if not _TABLE_RULE.match(line):
                row = " - ".join(c.strip() for c in line.strip("|").split("|") if c.strip())
                out.append((f"{heading} ({columns})" if columns else heading, row))
                columns = columns or row
            continue
        for piece in _BREAK.split(line):
            piece = _MARKUP.sub("", piece).strip()
            if re.search(r"\w\w", piece):
                out.append((heading, piece))
    return out


def focus(passages: Sequence[Passage], query: str, task: str | None = None, keep: int = 6) -> list[Passage]:
    """Each passage as its `keep` sentences that best answer `query` (and `task`), best first; passages by their best sentence."""
    from agentgraph.embeddings import embed_texts

    split = [sentences_of(p.text) for p in passages]
    flat = [f"{heading}: {sentence}" if heading else sentence for sentences in split for heading, sentence in sentences]
    if not flat:
        return list(passages)
    wanted = " ".join(filter(None, (task, query)))
    vectors = embed_texts([wanted, *flat])
    terms = set(tokenize(wanted))
    bags = [set(tokenize(text)) for text in flat]
    rarity = {t: math.log((1 + len(flat)) / (1 + sum(t in bag for bag in bags))) for t in terms}
    scores = iter(
        sum(a * b for a, b in zip(vectors[0], vector, strict=True)) + LEXICAL_WEIGHT * sum(rarity[t] for t in terms & bag)
        for bag, vector in zip(bags, vectors[1:], strict=True)
    )
    ranked: list[tuple[float, Passage]] = []
    for passage, sentences in zip(passages, split, strict=True):
        scored = sorted(((next(scores), sentence) for _, sentence in sentences), key=lambda pair: -pair[0])
        if scored:
            best = [s if s.endswith((".", "!", "?")) else s + "." for _, s in scored[:keep]]
            ranked.append((scored[0][0], replace(passage, text=" ".join(best), score=scored[0][0])))
    ranked.sort(key=lambda pair: -pair[0])
    return [passage for _, passage in ranked]
