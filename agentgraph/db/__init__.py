"""Storage plumbing shared by the checkpoint saver and the memory store: engines and the Alembic schema.

`make_engine(url)` / `make_async_engine(url)` open `sqlite:///PATH` or `postgresql://...` URLs,
`upgrade(url)` migrates to the latest schema, and `check_schema(engine)` refuses a database whose
schema does not match this code.
"""

from agentgraph.db.engine import make_async_engine, make_engine, normalize_url, redact
from agentgraph.db.migrate import (
    acheck_schema,
    aupgrade,
    check_schema,
    current,
    head_revisions,
    upgrade,
)

__all__ = [
    "acheck_schema",
    "aupgrade",
    "check_schema",
    "current",
    "head_revisions",
    "make_async_engine",
    "make_engine",
    "normalize_url",
    "redact",
    "upgrade",
]
