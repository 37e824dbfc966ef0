"""Citations are facts, not model text: an answer cites only what its agent's tools returned in that run.

Tools that return document passages say so (`returns_sources(tool)`); their results are lines
`[source] passage text` (`format_passages`). `ground` reads an agent's answer as claims, each the text
before a `[source: name]` marker (or a sentence without one), and checks every claim against the
passages the run retrieved:

- a cited name that no tool returned is mapped to the retrieved source it most resembles, or dropped;
- the claim must be supported by a sentence of the source it cites (most of its content words appear
  in one sentence); when another retrieved source supports it and the cited one does not, the citation
  moves there; a supported claim without a marker gets one;
- claims no retrieved sentence supports are removed; an answer left with none says so.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool

from agentgraph.retrieval.passage import Passage

__all__ = [
    "CITATION",
    "NO_SUPPORT",
    "Grounded",
    "cite",
    "citations",
    "declare_sources",
    "format_passages",
    "ground",
    "parse_passages",
    "returns_sources",
]

CITATION = re.compile(r"\[source: ([^\]]+)\]")
NO_SUPPORT = "The documents I searched do not state this."
"""The answer of an agent whose claims no retrieved passage supports."""
SUPPORT = 0.6
"""Share of a claim's content words that one retrieved sentence must hold (words found only elsewhere in
the same source count half, and every number must be in the sentence) for the claim to be supported."""
NAME_MATCH = 0.6
"""How closely (difflib ratio) a cited name must resemble a retrieved source's to be mapped to it."""
SOURCES_KEY = "agentgraph_returns_sources"
_LINE = re.compile(r"^\[([^\]]+)\] (.*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9]+(?:[.,:][0-9]+)*")
_STOP = frozenset(
    "a an and are as at be by do does for from has have how i in is it its of on or that the their them they this to "
    "was were what when where which who why will with you your there these those can".split()
)


def cite(sentence: str, source: str) -> str:
    """A sentence with its citation, in the format answers use."""
    return f"{sentence} [source: {source}]"


def citations(answer: str) -> list[str]:
    """The sources an answer cites, in order, without repeats."""
    return list(dict.fromkeys(CITATION.findall(answer)))


def format_passages(passages: Iterable[Passage]) -> str:
    """A search tool's result text: one passage a line, prefixed by its source id."""
    lines = [f"[{p.source}] {' '.join(p.text.split())}" for p in passages]
    return "\n".join(lines) if lines else "no passages found"


def parse_passages(text: str) -> list[Passage]:
    """The passages of a result written by `format_passages` (other lines are ignored)."""
    return [Passage(source=m.group(1), text=m.group(2)) for line in text.splitlines() if (m := _LINE.match(line.strip()))]


def declare_sources(tool: BaseTool) -> BaseTool:
    """Mark `tool` as one whose results are passages with sources (answers citing them are grounded)."""
    tool.metadata = {**(tool.metadata or {}), SOURCES_KEY: True}
    return tool


def returns_sources(tool: BaseTool) -> bool:
    """Whether `tool` returns passages with sources."""
    return bool((tool.metadata or {}).get(SOURCES_KEY))


@dataclass(frozen=True)
class Grounded:
    """An answer after grounding: its text, the sources it cites, and what was changed."""

    answer: str
    citations: list[str]
    changes: list[str] = field(default_factory=list)


def _terms(text: str) -> set[str]:
    """Content words, lower-cased, a plural or verb 's' removed ("spans" and "span" match)."""
    words = (w for w in _WORD.findall(text.lower().replace(",", "")) if w not in _STOP and (len(w) > 1 or w.isdigit()))
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words}


def _coverage(claim: set[str], sentence: str, context: set[str]) -> float:
    """How much of the claim one sentence states: its words count whole, words found only elsewhere in the
    same source (the name a pronoun stands for) half; a number the sentence lacks makes it no support."""
    if not claim:
        return 0.0
    stated = _terms(sentence)
    if any(w[0].isdigit() and w not in stated for w in claim):
        return 0.0
    return (len(claim & stated) + 0.5 * len((claim - stated) & context)) / len(claim)


def _claims(answer: str) -> list[tuple[str, list[str]]]:
    """(text, cited names) pieces of an answer: text before each run of markers, then sentences without one."""
    pieces: list[tuple[str, list[str]]] = []
    position = 0
    for match in re.finditer(r"(?:\s*\[source: [^\]]+\])+", answer):
        text = answer[position : match.start()].strip()
        pieces.append((text, CITATION.findall(match.group(0))))
        position = match.end()
    rest = answer[position:].strip()
    pieces += [(sentence, []) for sentence in _SENTENCE.split(rest) if sentence.strip()]
    return pieces


def ground(answer: str, passages: Sequence[Passage]) -> Grounded:
    """`answer` with every citation and claim checked against the retrieved `passages` (see the module)."""
    by_source: dict[str, list[str]] = {}
    for p in passages:
        by_source.setdefault(p.source, []).extend(s for s in _SENTENCE.split(p.text) if s.strip())
    context = {source: set().union(*(_terms(s) for s in sentences)) for source, sentences in by_source.items()}
    sources = list(by_source)
    kept: list[str] = []
    cited: list[str] = []
    changes: list[str] = []

    def support(claim: set[str], within: Iterable[str]) -> tuple[float, str | None]:
        scored = ((max((_coverage(claim, s, context[src]) for s in by_source[src]), default=0.0), src) for src in within)
        return max(scored, default=(0.0, None))

    for text, names in _claims(answer):
        terms = _terms(CITATION.sub("", text))
        if not names and len(terms) < 2:  # a greeting, "I found:" ...: nothing to check
            if text:
                kept.append(text)
            continue
        mapped: list[str] = []
        for name in names:
            if name in by_source:
                mapped.append(name)
            elif close := difflib.get_close_matches(name, sources, n=1, cutoff=NAME_MATCH):
                mapped.append(close[0])
                changes.append(f"cited {name!r}, which no search returned: mapped to {close[0]!r}")
            else:
                changes.append(f"cited {name!r}, which no search returned: dropped")
        score, best = support(terms, mapped) if mapped else (0.0, None)
        if score < SUPPORT:
            score, best = support(terms, sources)
            if score >= SUPPORT and mapped:
                changes.append(f"the claim {text!r} is not in {', '.join(mapped)}: cited {best!r}, which states it")
        if score < SUPPORT or best is None:
            changes.append(f"removed a claim no retrieved passage supports: {text!r}")
            continue
        kept.append(cite(text, best))
        cited.append(best)
    if not cited:
        return Grounded(NO_SUPPORT, [], changes)
    return Grounded(" ".join(kept), list(dict.fromkeys(cited)), changes)
