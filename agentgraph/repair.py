"""Malformed model replies: what is wrong with a reply that is neither a usable answer nor a readable tool call,
and the short correction an agent is re-asked with.

Malformed tool calls (arguments that are not JSON, unknown tools, arguments that do not fit the schema)
are answered by the tool policy with an error reply; this module covers plain-text replies: empty,
an unparsed tool call, or the same text repeated (typically until the token limit).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from langchain_core.messages import AIMessage

__all__ = ["CORRECTIONS", "Kind", "Malformed", "malformed_reply", "repetition"]

Kind = Literal["empty", "unparsed_call", "repetition"]

_CALL_LIST = re.compile(r"^\s*\[\s*[A-Za-z_][\w.]*\s*\(|<tool_call>|^\s*\{\s*\"(?:name|function)\"\s*:", re.DOTALL)
_BARE_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\s*\(")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_LOOP = re.compile(r"(.{12,200}?)(?:\s*\1){3,}", re.DOTALL)

CORRECTIONS: dict[Kind, str] = {
    "empty": "Your reply was empty. Answer the task, or call one of your tools.",
    "unparsed_call": (
        "Your reply looks like a tool call that could not be read. Reply with the call alone, exactly in your "
        "tools' format and with nothing after it, or answer in plain text."
    ),
    "repetition": "Your reply kept repeating itself. Answer once, briefly.",
}


@dataclass(frozen=True)
class Malformed:
    """What is wrong with a text reply."""

    kind: Kind
    detail: str

    def correction(self) -> str:
        """The message the agent is re-asked with."""
        return CORRECTIONS[self.kind]


def malformed_reply(message: AIMessage, tool_names: Collection[str] = ()) -> Malformed | None:
    """What is wrong with a reply that carries no tool call, or None when it is a usable answer."""
    text = message.text.strip()
    if not text:
        return Malformed("empty", "the model gave an empty answer")
    bare = _BARE_CALL.match(text)
    if _CALL_LIST.search(text) or (bare and bare.group(1) in tool_names):
        return Malformed("unparsed_call", f"the model wrote a tool call that could not be read: {_excerpt(text)}")
    if repeated := repetition(text):
        return Malformed("repetition", f"the model's reply repeated itself: {_excerpt(repeated)} ...")
    return None


def repetition(text: str, times: int = 3) -> str | None:
    """The part of `text` that repeats itself, when a sentence comes back `times` times or more and the
    repeats make up most of the text, or a span loops back-to-back; None otherwise."""
    sentences = [" ".join(s.split()).lower() for s in _SENTENCE.findall(text)]
    sentences = [s for s in sentences if len(s.split()) >= 3]
    if sentences:
        sentence, count = Counter(sentences).most_common(1)[0]
        if count >= times and count * len(sentence) >= 0.5 * len(" ".join(text.split())):
            return sentence
    loop = _LOOP.search(text[-2000:])
    if loop and len(loop.group(0)) >= 0.5 * len(text[-2000:]):
        return loop.group(1).strip()
    return None


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat[:limit] + ("..." if len(flat) > limit else ""))
