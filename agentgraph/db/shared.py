"""One sync engine per database URL and process, for small records written beside a running graph.

The engine is created on first use, the schema is brought to the latest revision if needed, and a
forked child process gets engines of its own (the parent's pooled connections are never reused).
"""

from __future__ import annotations

import os
import threading

from sqlalchemy.engine import Engine

from agentgraph.db.engine import make_engine
from agentgraph.errors import StorageError

__all__ = ["shared_engine"]

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def shared_engine(url: str) -> Engine:
    """The process's engine for `url`, on a migrated schema (raises StorageError when unusable)."""
    from agentgraph.db.migrate import check_schema, upgrade  # Alembic: only once a record is written

    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            try:
                check_schema(engine)
            except StorageError:
                upgrade(url)
                check_schema(engine)
            _engines[url] = engine
        return engine


def _forget_after_fork() -> None:
    global _lock
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
