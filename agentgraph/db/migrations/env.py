"""Alembic environment for agentgraph: migrations are hand-written SQLAlchemy operations.

The connection comes from `config.attributes["connection"]` (set by `agentgraph.db.migrate`), or
from the `sqlalchemy.url` main option when Alembic's own command line is used.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from agentgraph.db.engine import make_engine

config = context.config
target_metadata = None


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
