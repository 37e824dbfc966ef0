"""Helpers of the safety tests: what a run left in the database."""

from __future__ import annotations

import sqlalchemy as sa

from agentgraph.audit import AuditLog
from agentgraph.db import make_engine
from agentgraph.db.shared import shared_engine
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
