"""The tool audit: one row per tool call an agent made, whatever became of it.

Outcomes: `ok` (the tool ran), `error` (it ran and failed, or could not be run safely), `refused`
(not on the allow-list, invalid arguments, untrusted arguments), `rejected` (by a person) and
`limit` (a rate limit or a run limit). Rows are written where tools execute; a row that cannot be
written is logged and the run goes on (the audit never decides whether a run survives).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from agentgraph.db.engine import WRITE_OPTION, retry_busy

__all__ = ["audit_table", "AuditEntry", "AuditLog", "JSON", "json_safe", "metadata", "Outcome", "OUTCOMES", "RAN"]

log = logging.getLogger(__name__)

Outcome = Literal["ok", "error", "refused", "rejected", "limit"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "error", "refused", "rejected", "limit")
RAN: tuple[Outcome, ...] = ("ok", "error")
"""Outcomes of calls that reached the tool (they count against its rate limit)."""

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
metadata = sa.MetaData()

audit_table = sa.Table(
    "ag_tool_audit",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text(), nullable=True),
    sa.Column("thread_id", sa.Text(), nullable=True),
    sa.Column("agent", sa.Text(), nullable=False),
    sa.Column("subtask", sa.Text(), nullable=True),
    sa.Column("tool", sa.Text(), nullable=False),
    sa.Column("tool_call_id", sa.Text(), nullable=False),
    sa.Column("arguments", JSON, nullable=False),
    sa.Column("outcome", sa.Text(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("replayed", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration_ms", sa.Float(), nullable=False),
    sa.Column("principal", sa.Text(), nullable=True),
)


@dataclass(frozen=True)
class AuditEntry:
    """One tool call and what became of it."""

    run_id: str | None
    thread_id: str | None
    agent: str
    subtask: str | None
    tool: str
    tool_call_id: str
    arguments: Any
    outcome: Outcome
    error: str | None
    started_at: datetime
    duration_ms: float
    replayed: bool = False
    principal: str | None = None
    """The API key (its name) whose request ran the call; None outside the HTTP service."""


class AuditLog:
    """Writes and reads the audit rows of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = engine.execution_options(**{WRITE_OPTION: True})

    def write(self, entry: AuditEntry) -> bool:
        """Add `entry`; False (and a logged warning) when it could not be written."""
        row = {**entry.__dict__, "arguments": json_safe(entry.arguments)}

        def insert() -> None:
            with self._write.begin() as conn:
                conn.execute(sa.insert(audit_table).values(**row))

        try:
            retry_busy(insert)
        except Exception as exc:  # the audit must not end a run
            log.warning("tool audit row not written (%s %s %s): %s", entry.agent, entry.tool, entry.outcome, exc)
            return False
        return True

    def recent_calls(self, thread_id: str, tool: str, window: timedelta) -> int:
        """Calls of `tool` in `thread_id` that reached the tool within the last `window`."""
        since = datetime.now(UTC) - window
        query = (
            sa.select(sa.func.count())
            .select_from(audit_table)
            .where(
                audit_table.c.thread_id == thread_id,
                audit_table.c.tool == tool,
                audit_table.c.started_at >= since,
                audit_table.c.outcome.in_(RAN),
                audit_table.c.replayed.is_(False),
            )
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def rows(self, *, thread_id: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        """Audit rows, oldest first, optionally of one thread or one run."""
        query = sa.select(audit_table).order_by(audit_table.c.id)
        if thread_id is not None:
            query = query.where(audit_table.c.thread_id == thread_id)
        if run_id is not None:
            query = query.where(audit_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]


def json_safe(value: Any) -> Any:
    """`value` as JSON data; what JSON cannot hold becomes its text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return repr(value)
