"""Reading the latest state looks up its stored values by index, however large the table grows."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

from agentgraph.checkpoint import SQLAlchemySaver
from agentgraph.checkpoint.queries import Queries

from .graphs import config

pytestmark = pytest.mark.postgres


def _fill(saver: SQLAlchemySaver, threads: int, steps: int) -> None:
    for t in range(threads):
        parent = config(f"plan-{t}")
        messages: list[str] = []
        for step in range(steps):
            messages = [*messages, f"message {step}"]
            checkpoint = create_checkpoint(empty_checkpoint(), None, step)
            checkpoint["channel_values"] = {"messages": messages, "notes": {"step": step}}
            versions = {"messages": f"{step + 1:012}.0", "notes": f"{step + 1:012}.0"}
            checkpoint["channel_versions"] = versions
            parent = saver.put(parent, checkpoint, {"source": "loop", "step": step}, versions)
            saver.put_writes(parent, [("messages", [f"pending {step}"])], task_id=f"task-{step}")


def _plan(saver: SQLAlchemySaver, stmt, **params) -> str:  # type: ignore[no-untyped-def]
    compiled = stmt.compile(dialect=saver.engine.dialect)
    with saver.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", {**compiled.params, **params})
        return "\n".join(row[0] for row in rows)


def test_latest_reads_use_indexes_not_table_scans(postgres_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(postgres_url) as saver:
        _fill(saver, threads=20, steps=20)
        with saver.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE ag_checkpoints, ag_checkpoint_blobs, ag_checkpoint_writes")
        queries = Queries("postgresql")
        one = _plan(saver, queries.select_whole_latest, thread_id="plan-7", checkpoint_ns="")
        many = _plan(saver, queries.select_whole_latest_many, thread_ids=[f"plan-{i}" for i in range(8)], checkpoint_nss=[""] * 8)
        for plan in (one, many):
            assert "ix_ag_checkpoint_blobs_chain" in plan, plan
            assert "Seq Scan on ag_checkpoint" not in plan, plan
        found = saver.get_tuple(config("plan-7"))
        assert found is not None and len(found.checkpoint["channel_values"]["messages"]) == 20
