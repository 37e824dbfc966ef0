"""Content that did not come from the user (tool results, retrieved passages, other agents' answers) is data.

`neutralise(text)` makes such text safe to put in front of a model: chat-template control tokens are
removed (they could forge a system or user turn) and sentences that read as instructions to the model
("Ignore previous instructions...", "SYSTEM: you are now...") are replaced by a marker. It reports
what it found, so the run can say so. `destinations`, `copied_passage` and `borrowed_words` are the
provenance checks for the arguments of side-effecting tools and memory writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "borrowed_words",
    "copied_passage",
    "destinations",
    "foreign_destinations",
    "FUNCTION_WORDS",
    "neutralise",
    "Neutralised",
    "REMOVED_INSTRUCTION",
    "REMOVED_TOKEN",
    "strings_in",
]

REMOVED_INSTRUCTION = "[instruction-like text removed]"
REMOVED_TOKEN = "[control token removed]"

_CONTROL_TOKENS = re.compile(
    r"<\|[^|<>\n]{1,40}\|>"  # <|im_start|>, <|system|>, <|endoftext|> ...
    r"|</?(?:start_of_turn|end_of_turn|bos|eos|pad|s|tool_call|tool_response|tool_calls|function_call|system|think)>"
    r"|\[/?INST\]|<</?SYS>>",
    re.IGNORECASE,
)
_ROLE_MARKER = re.compile(r"^\s*(?:#+\s*)?(?:system|assistant|developer)\s*(?:prompt|message)?\s*:", re.IGNORECASE | re.MULTILINE)
_INSTRUCTIONS = "(?:instructions?|prompts?|rules|directions|guidelines|orders|context)"
_PHRASES = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+|those\s+)*"
    rf"(?:previous|prior|above|earlier|preceding|original|system|existing|other)?\s*{_INSTRUCTIONS}"
    r"|\byou\s+are\s+now\b"
    rf"|\bnew\s+(?:system\s+)?{_INSTRUCTIONS}\s*:"
    r"|\b(?:reveal|print|repeat|show)\s+(?:your|the)\s+(?:system\s+)?prompt\b"
    r"|\bdo\s+not\s+(?:tell|inform)\s+the\s+user\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?]+(?=[^\s.!?]))*(?:[.!?]+(?=\s|$)|\n|$)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'\])]+|\bwww\.[^\s<>\"'\])]+", re.IGNORECASE)
_WORD = re.compile(r"\w+")

FUNCTION_WORDS = frozenset(
    "a an the and or but of to in on at for by with from as about into that this these those it its "
    "is are was were be been being am do does did has have had will would can could should shall may might "
    "i me my mine myself we us our ours you your yours he him his she her they them their user users "
    "what which who whom when where why how please "
    "s t".split()
)
"""Words that carry no fact of their own (articles, pronouns, auxiliaries, "user"): the word-for-word checks
of what a user said ignore them, so "The user's team is called Blue Heron" is what "my team is called Blue
Heron" says."""


@dataclass(frozen=True)
class Neutralised:
    """Untrusted text made safe to show a model, and what was removed from it."""

    text: str
    findings: tuple[str, ...] = ()
    """The control tokens and instruction-like phrases found, as they appeared."""

    @property
    def flagged(self) -> bool:
        """Whether anything was removed."""
        return bool(self.findings)


def neutralise(text: str) -> Neutralised:
    """`text` without control tokens and without the sentences that read as instructions to the model."""
    findings: list[str] = [m.group(0) for m in _CONTROL_TOKENS.finditer(text)]
    cleaned = _CONTROL_TOKENS.sub(REMOVED_TOKEN, text)

    def sentence(match: re.Match[str]) -> str:
        part = match.group(0)
        hit = _ROLE_MARKER.search(part) or _PHRASES.search(part)
        if not part.strip() or hit is None:
            return part
        findings.append(hit.group(0).strip())
        lead = part[: len(part) - len(part.lstrip())]
        return lead + REMOVED_INSTRUCTION + ("\n" if part.endswith("\n") else "")

    cleaned = _SENTENCE.sub(sentence, cleaned)
    return Neutralised(cleaned, tuple(findings))


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (arguments of a tool call)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings_in(item)


def destinations(text: str) -> list[str]:
    """The e-mail addresses and URLs in `text`, in order."""
    found = [m.group(0).rstrip(".,;:") for m in _EMAIL.finditer(text)]
    found += [m.group(0).rstrip(".,;:") for m in _URL.finditer(text)]
    return list(dict.fromkeys(found))


def foreign_destinations(arguments: Any, trusted: str) -> list[str]:
    """Addresses and URLs in `arguments` that `trusted` (the task, the instructions) does not name."""
    known = trusted.lower()
    return [d for d in destinations("\n".join(strings_in(arguments))) if d.lower() not in known]


def copied_passage(arguments: Any, untrusted: Iterable[str], trusted: str, words: int, *, short: bool = False) -> str | None:
    """A run of `words` words in `arguments` copied from `untrusted` text and not found in `trusted`, or None.

    With `short`, a string of fewer words (two at least) counts as copied when it occurs whole in `untrusted`
    and not in `trusted`.
    """
    untrusted_text = " ".join(untrusted)
    for text in strings_in(arguments):
        tokens = _WORD.findall(text.lower())
        size = len(tokens) if short and 2 <= len(tokens) < words else words
        source = _shingles(untrusted_text, size)
        if not source:
            continue
        allowed = _shingles(trusted, size)
        for start in range(len(tokens) - size + 1):
            run = tuple(tokens[start : start + size])
            if run in source and run not in allowed:
                return " ".join(run)
    return None


def borrowed_words(arguments: Any, untrusted: Iterable[str], trusted: str) -> list[str]:
    """The words of `arguments` (function words aside) that `untrusted` text uses and `trusted` does not, in
    order: what arguments took from tool results even when they reword them."""
    source = set(_WORD.findall(" ".join(untrusted).lower()))
    allowed = set(_WORD.findall(trusted.lower()))
    found = [w for text in strings_in(arguments) for w in _WORD.findall(text.lower()) if w in source and w not in allowed]
    return list(dict.fromkeys(w for w in found if w not in FUNCTION_WORDS))


def _shingles(text: str, words: int) -> set[tuple[str, ...]]:
    tokens = _WORD.findall(text.lower())
    return {tuple(tokens[i : i + words]) for i in range(len(tokens) - words + 1)}
