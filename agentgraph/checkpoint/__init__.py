"""LangGraph checkpoint savers on SQLAlchemy: SQLite (WAL) or PostgreSQL, chosen by URL.

```python
from agentgraph.checkpoint import SQLAlchemySaver

with SQLAlchemySaver.from_conn_string("sqlite:///state.db", setup=True) as saver:
    graph = builder.compile(checkpointer=saver)
```

`AsyncSQLAlchemySaver` is the same on an async engine (`async with ... from_conn_string(...)`).
Channel values are stored once per version; a list that only grows (e.g. `messages`) is stored as
its new items, with a full copy every `snapshot_every` versions.
"""

from agentgraph.checkpoint.aio import AsyncSQLAlchemySaver
from agentgraph.checkpoint.base import DEFAULT_SNAPSHOT_EVERY, PruneResult, Retention
from agentgraph.checkpoint.serde import StateSerializer, UnrestorableTypeWarning, UnserializableValueError
from agentgraph.checkpoint.sync import SQLAlchemySaver

__all__ = [
    "DEFAULT_SNAPSHOT_EVERY",
    "AsyncSQLAlchemySaver",
    "PruneResult",
    "Retention",
    "SQLAlchemySaver",
    "StateSerializer",
    "UnrestorableTypeWarning",
    "UnserializableValueError",
]
