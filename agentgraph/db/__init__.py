"""Storage plumbing shared by the checkpoint saver and the memory store: engines and the Alembic schema.

`make_engine(url)` / `make_async_engine(url)` open `sqlite:///PATH` or `postgresql://...` URLs,
`upgrade(url)` migrates to the latest schema, and `check_schema(engine)` refuses a database whose
schema does not match this code.
"""

from typing import TYPE_CHECKING, Any

from agentgraph.db.engine import make_async_engine, make_engine, normalize_url, redact

if TYPE_CHECKING:
    from agentgraph.db.migrate import acheck_schema, aupgrade, check_schema, current, head_revisions, upgrade

_MIGRATE = frozenset({"acheck_schema", "aupgrade", "check_schema", "current", "head_revisions", "upgrade"})
"""Names of `agentgraph.db.migrate`, imported on first use: it imports Alembic (about 0.4 s), which
importing `agentgraph.db.engine` (as the tool audit does) does not need."""


def __getattr__(name: str) -> Any:
    if name in _MIGRATE:
        from agentgraph.db import migrate

        return getattr(migrate, name)
    raise AttributeError(f"module 'agentgraph.db' has no attribute {name!r}")


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
