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


def test_latest_read_uses_the_chain_index_not_a_table_scan(postgres_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(postgres_url) as saver:
        _fill(saver, threads=20, steps=20)
        compiled = Queries("postgresql").select_whole_latest.compile(dialect=saver.engine.dialect)
        params = {**compiled.params, "thread_id": "plan-7", "checkpoint_ns": ""}
        with saver.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE ag_checkpoint_blobs")
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}", params))
        assert "ix_ag_checkpoint_blobs_chain" in plan, plan
        assert "Seq Scan on ag_checkpoint_blobs" not in plan, plan
        found = saver.get_tuple(config("plan-7"))
        assert found is not None and len(found.checkpoint["channel_values"]["messages"]) == 20
