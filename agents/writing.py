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


@dataclass(frozen=True)
class FormatCheck:
    """Whether a text has the requested form and length, and what is wrong if not."""

    ok: bool
    problems: tuple[str, ...] = ()


def writing_request(task: str, facts: Sequence[str]) -> str:
    """The user turn the writing agent receives: the request followed by the facts it may use."""
    listed = "\n".join(f"- {fact}" for fact in facts) if facts else "- (none)"
    return f"{task}\nFacts:\n{listed}"


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
