"""Helpers of the safety tests: what a run left in the database, stand-in embeddings for the document index."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from langchain_core.embeddings import Embeddings

from agentgraph.audit import AuditLog
from agentgraph.db import make_engine
from agentgraph.db.shared import shared_engine
from agentgraph.embeddings import EMBEDDING_DIMS
from agentgraph.settings import Settings


def audit_rows(settings: Settings, **where: str) -> list[dict]:
    """The tool audit of the settings' database, oldest first."""
    return AuditLog(shared_engine(settings.database_url)).rows(**where)


def row_counts(url: str) -> dict[str, int]:
    """Rows in every agentgraph table of the database at `url` (missing tables count 0)."""
    engine = make_engine(url)
    try:
        tables = sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables if t != "alembic_version"}
    finally:
        engine.dispose()


class HashEmbeddings(Embeddings):
    """Deterministic stand-in vectors (no model to load): equal texts get equal vectors."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode()).digest() * (EMBEDDING_DIMS // 32)
        vector = [b - 127.5 for b in digest[:EMBEDDING_DIMS]]
        norm = sum(v * v for v in vector) ** 0.5
        return [v / norm for v in vector]


def corpus_index() -> dict:
    """The store `index=` of the corpus, on `HashEmbeddings`."""
    return {"dims": EMBEDDING_DIMS, "embed": HashEmbeddings(), "fields": ["text"]}
