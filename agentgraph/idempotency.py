"""Idempotency records of side-effecting tool calls, keyed by thread id and tool call id.

Before a side-effecting tool runs, its call is claimed (`running`); once it returns, its result is
recorded (`done`). When a worker dies and the thread is resumed elsewhere, the same call finds its
recorded result and is answered from it instead of running again. A call found still `running` was
cut off while its tool ran: it may or may not have taken effect ("in doubt").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from agentgraph.audit import JSON, json_safe
from agentgraph.db.engine import WRITE_OPTION, retry_busy

__all__ = ["Claim", "metadata", "results_table", "ToolResults"]

metadata = sa.MetaData()

results_table = sa.Table(
    "ag_tool_results",
    metadata,
    sa.Column("thread_id", sa.Text(), primary_key=True),
    sa.Column("tool_call_id", sa.Text(), primary_key=True),
    sa.Column("tool", sa.Text(), nullable=False),
    sa.Column("arguments", JSON, nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("result", JSON, nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Claim:
    """What a claim found: a recorded result to replay, a call in doubt, or a fresh call (neither)."""

    result: dict[str, Any] | None
    """The recorded result (`{"content": ..., "status": ...}`) of a call that already ran."""
    in_doubt: bool
    attempts: int


class ToolResults:
    """Claims side-effecting tool calls and records their results in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = engine.execution_options(**{WRITE_OPTION: True})

    def claim(self, thread_id: str, tool_call_id: str, tool: str, arguments: Any) -> Claim:
        """Mark the call as running, unless it already ran; says which."""

        def attempt() -> Claim:
            with self._write.begin() as conn:
                now = datetime.now(UTC)
                inserted = conn.execute(
                    self._insert(conn)
                    .values(
                        thread_id=thread_id,
                        tool_call_id=tool_call_id,
                        tool=tool,
                        arguments=json_safe(arguments),
                        status="running",
                        result=None,
                        attempts=1,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing()
                )
                if inserted.rowcount == 1:
                    return Claim(None, False, 1)
                key = (results_table.c.thread_id == thread_id) & (results_table.c.tool_call_id == tool_call_id)
                row = conn.execute(sa.select(results_table).where(key).with_for_update()).mappings().one()
                if row["status"] == "done":
                    return Claim(dict(row["result"]), False, row["attempts"])
                attempts = row["attempts"] + 1
                conn.execute(sa.update(results_table).where(key).values(attempts=attempts, updated_at=now))
                return Claim(None, True, attempts)

        return retry_busy(attempt)

    def record(self, thread_id: str, tool_call_id: str, content: Any, status: str) -> None:
        """Record the result of a claimed call."""
        key = (results_table.c.thread_id == thread_id) & (results_table.c.tool_call_id == tool_call_id)
        values = {"status": "done", "result": {"content": json_safe(content), "status": status}, "updated_at": datetime.now(UTC)}

        def attempt() -> None:
            with self._write.begin() as conn:
                conn.execute(sa.update(results_table).where(key).values(**values))

        retry_busy(attempt)

    def get(self, thread_id: str, tool_call_id: str) -> dict[str, Any] | None:
        """The record of one call, or None."""
        key = (results_table.c.thread_id == thread_id) & (results_table.c.tool_call_id == tool_call_id)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(results_table).where(key)).mappings().first()
        return dict(row) if row else None

    @staticmethod
    def _insert(conn: Connection) -> Any:
        return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(results_table)
