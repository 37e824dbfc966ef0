"""Retention of checkpoints: prune old ones, writing what is removed to a JSONL file first.

Each exported line is one checkpoint: its thread, namespace, ID, parent, timestamp, metadata,
channel values and pending writes, with values turned into plain JSON (messages become their
pydantic fields, including `type`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, TextIO
from uuid import UUID

from langgraph.checkpoint.base import CheckpointTuple

from agentgraph.checkpoint.base import PruneResult, Retention
from agentgraph.checkpoint.sync import SQLAlchemySaver

__all__ = ["export_record", "jsonable", "jsonl_exporter", "prune_database", "retention_for"]


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data (dicts, lists, strings, numbers, booleans, None)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (Decimal, UUID, PurePath)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "model_dump") and callable(value.model_dump):
        try:
            return jsonable(value.model_dump(mode="json"))
        except Exception:
            return jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict"):
        return jsonable(value._asdict())
    return repr(value)


def export_record(item: CheckpointTuple) -> dict[str, Any]:
    """One checkpoint as a JSON-able export record."""
    configurable = item.config["configurable"]
    return {
        "thread_id": configurable["thread_id"],
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable["checkpoint_id"],
        "parent_checkpoint_id": (item.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
        "ts": item.checkpoint.get("ts"),
        "metadata": jsonable(item.metadata),
        "channel_values": jsonable(item.checkpoint.get("channel_values", {})),
        "pending_writes": [
            {"task_id": task_id, "channel": channel, "value": jsonable(value)} for task_id, channel, value in item.pending_writes or []
        ],
    }


def jsonl_exporter(stream: TextIO) -> Callable[[list[CheckpointTuple]], None]:
    """An export callback appending records to `stream`, synced to disk before anything is deleted."""

    def write(items: list[CheckpointTuple]) -> None:
        for item in items:
            stream.write(json.dumps(export_record(item), ensure_ascii=False) + "\n")
        stream.flush()
        os.fsync(stream.fileno())

    return write


def retention_for(keep_last: int | None, older_than_days: float | None) -> Retention:
    """The retention rule for `--keep-last N` or `--older-than DAYS` (exactly one)."""
    if (keep_last is None) == (older_than_days is None):
        raise ValueError("give exactly one of keep_last and older_than_days")
    if older_than_days is not None:
        if older_than_days < 0:
            raise ValueError("older_than_days must not be negative")
        return Retention(older_than=datetime.now(UTC) - timedelta(days=older_than_days))
    return Retention(keep_last=keep_last)


def prune_database(url: str, retention: Retention, *, thread_id: str | None = None, export: Path | None = None) -> PruneResult:
    """Prune the checkpoints at `url` to `retention`; with `export`, append what is removed to it first."""
    with SQLAlchemySaver.from_conn_string(url) as saver:
        if export is None:
            return saver.retain(retention, thread_id=thread_id)
        export.parent.mkdir(parents=True, exist_ok=True)
        with export.open("a", encoding="utf-8") as stream:
            return saver.retain(retention, thread_id=thread_id, export=jsonl_exporter(stream))
