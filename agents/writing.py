"""The writing agent: turns the facts found by other agents into a note, an email or a summary."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agentgraph.agent import AgentSpec

FORMS = ("note", "email", "summary")
_GREETING = re.compile(r"^(dear|hi|hello)\b", re.IGNORECASE)
_SIGN_OFF = re.compile(r"^(best regards|kind regards|regards|thanks|thank you|best|cheers),?$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_NUMBER_WORDS = {
    "one": 1,
    "a single": 1,
    "a": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "a hundred": 100,
    "one hundred": 100,
}
_N = r"(\d+|" + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True)) + ")"
_FORM_WORDS = (
    ("email", re.compile(r"\b(e-?mail(s|ed|ing)?|mail)\b", re.IGNORECASE)),
    ("note", re.compile(r"\b(note|memo|reminder)\b", re.IGNORECASE)),
    ("summary", re.compile(r"\b(summary|summari[sz]e[sd]?|summari[sz]ing|recap|overview|tl;?dr|sum up)\b", re.IGNORECASE)),
)
_MAX_WORDS_INCLUSIVE = re.compile(
    rf"\b(?:at most|no more than|not more than|up to|max(?:imum)?(?: of)?|within|limit(?:ed)? to)\s+{_N}\s+words\b"
    rf"|\b{_N}\s+words\s+(?:or fewer|or less|max(?:imum)?|at most|tops)\b|\b{_N}-word\b",
    re.IGNORECASE,
)
_MAX_WORDS_EXCLUSIVE = re.compile(rf"\b(?:under|fewer than|less than|below)\s+{_N}\s+words\b", re.IGNORECASE)
_SENTENCES = re.compile(rf"\b(?:exactly\s+)?{_N}(?:\s+|-)sentences?\b", re.IGNORECASE)


@dataclass(frozen=True)
class FormatCheck:
    """Whether a text has the requested form and length, and what is wrong if not."""

    ok: bool
    problems: tuple[str, ...] = ()


def writing_request(task: str, facts: Sequence[str]) -> str:
    """The user turn the writing agent receives: the request followed by the facts it may use (when no
    other agent gave any, the facts the request itself states)."""
    facts = list(facts) or inline_facts(task)
    listed = "\n".join(f"- {fact}" for fact in facts) if facts else "- (none)"
    return f"{task}\nFacts:\n{listed}"


_CONTENT = re.compile(
    r":\s+|\b(?:saying|telling \w+|to say|announcing|confirming|explaining|reminding \w+|asking \w+ to)\s+(?:that\s+)?",
    re.IGNORECASE,
)
_PARTS = re.compile(r";\s+|,\s+and\s+|,\s+(?=[a-z])|\s+and\s+(?=(?:the|it|entry|everyone|she|he|they|we)\b)")


def inline_facts(task: str) -> list[str]:
    """The facts a writing request states itself, one a sentence: "Write a note: the fete is on 14 June,
    it runs from 11:00 to 16:00" -> ["The fete is on 14 June.", "It runs from 11:00 to 16:00."]; none
    when the request only points at facts found elsewhere ("Email Sam the result.")."""
    match = _CONTENT.search(task)
    later = re.split(r"(?<=[.!?])\s+", task.strip(), maxsplit=1)
    if match:
        content = task[match.end() :]
    elif len(later) == 2:  # "Could you write a memo to all staff? The car park is being resurfaced ..."
        content = later[1]
    else:
        return []
    content = content.strip().rstrip(".!?")
    parts = [part.strip(" ,") for part in _PARTS.split(content) if len(part.split()) >= 2]
    return [part[:1].upper() + part[1:] + "." for part in parts]


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS[text.lower()]


def parse_request(task: str) -> tuple[str, int | None, int | None]:
    """The form (note, email or summary; note when none is named), the word limit and the exact number
    of sentences that a writing task asks for, e.g. "Email Sam in at most 40 words" -> ("email", 40, None)."""
    form = next((name for name, pattern in _FORM_WORDS if pattern.search(task)), "note")
    max_words = None
    if match := _MAX_WORDS_INCLUSIVE.search(task):
        max_words = _number(next(group for group in match.groups() if group))
    elif match := _MAX_WORDS_EXCLUSIVE.search(task):
        max_words = _number(match.group(1)) - 1
    sentences = None
    if (match := _SENTENCES.search(task)) and not re.search(r"\b(at most|up to|no more than)\s*$", task[: match.start()], re.IGNORECASE):
        sentences = _number(match.group(1))
    return form, max_words, sentences


def word_count(text: str) -> int:
    """Number of words in `text`."""
    return len(text.split())


def sentence_count(text: str) -> int:
    """Number of sentences in the body of `text` (greeting and sign-off lines excluded)."""
    body = [line for line in text.splitlines() if line.strip() and not _GREETING.match(line) and not _SIGN_OFF.match(line.strip())]
    return len(_SENTENCE_END.findall(" ".join(body)))


def check_format(text: str, form: str, max_words: int | None = None, sentences: int | None = None) -> FormatCheck:
    """Check `text` against the requested form (note, email, summary) and length."""
    problems: list[str] = []
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if form not in FORMS:
        problems.append(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")
    elif not lines:
        problems.append("empty text")
    elif form == "email":
        if not _GREETING.match(lines[0]):
            problems.append("an email starts with a greeting line (Dear/Hi/Hello ...)")
        if len(lines) < 3 or not _SIGN_OFF.match(lines[-2] if len(lines) >= 2 else ""):
            problems.append("an email ends with a sign-off line (Best regards,) and a name")
    elif form == "note" and not lines[0].lower().startswith("note:"):
        problems.append("a note starts with 'Note:'")
    elif form == "summary" and not lines[0].lower().startswith("summary:"):
        problems.append("a summary starts with 'Summary:'")
    if max_words is not None and word_count(text) > max_words:
        problems.append(f"{word_count(text)} words, more than {max_words}")
    if sentences is not None and sentence_count(text) != sentences:
        problems.append(f"{sentence_count(text)} sentences, not {sentences}")
    return FormatCheck(ok=not problems, problems=tuple(problems))


WRITING = AgentSpec(
    name="writing",
    description="Writes notes, emails and summaries from facts found by the other agents.",
    system_prompt="You are the writing agent. Write the requested text from the facts, in the requested form and length.",
    tools=(),
)
