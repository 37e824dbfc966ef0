"""A passage: what a document search returns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Passage"]


@dataclass(frozen=True)
class Passage:
    """A chunk of an ingested document, as the search tool returns it."""

    source: str
    text: str
    score: float = 0.0
