"""Opening the checkpoint saver and the long-term memory store named by the settings.

The graph, the CLI and `langgraph.json` all get their saver and store here, so the storage backend
changes in this one module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from agentgraph.settings import Settings, get_settings

__all__ = [
    "open_async_checkpointer",
    "open_async_store",
    "open_checkpointer",
    "open_store",
    "studio_checkpointer",
    "studio_store",
]


@contextmanager
def open_checkpointer(settings: Settings | None = None) -> Iterator[BaseCheckpointSaver]:
    """The checkpoint saver of `settings.database_url` (schema migrated), open for the duration of the block."""
    from agentgraph.checkpoint import SQLAlchemySaver

    with SQLAlchemySaver.from_conn_string((settings or get_settings()).database_url, setup=True) as saver:
        yield saver


@asynccontextmanager
async def open_async_checkpointer(settings: Settings | None = None) -> AsyncIterator[BaseCheckpointSaver]:
    """The async checkpoint saver of `settings.database_url` (schema migrated), open for the block."""
    from agentgraph.checkpoint import AsyncSQLAlchemySaver

    async with AsyncSQLAlchemySaver.from_conn_string((settings or get_settings()).database_url, setup=True) as saver:
        yield saver


@contextmanager
def open_store(settings: Settings | None = None) -> Iterator[BaseStore]:
    """The long-term memory store of `settings.database_url` (with the document index), open for the block."""
    from agentgraph.retrieval import corpus_index_config
    from agentgraph.store import SQLAlchemyStore

    with SQLAlchemyStore.from_conn_string((settings or get_settings()).database_url, index=corpus_index_config()) as store:
        store.setup()
        yield store


@asynccontextmanager
async def open_async_store(settings: Settings | None = None) -> AsyncIterator[BaseStore]:
    """The async long-term memory store of `settings.database_url` (with the document index), open for the block."""
    from agentgraph.retrieval import corpus_index_config
    from agentgraph.store import AsyncSQLAlchemyStore

    async with AsyncSQLAlchemyStore.from_conn_string((settings or get_settings()).database_url, index=corpus_index_config()) as store:
        await store.setup()
        yield store


def studio_checkpointer() -> AbstractAsyncContextManager[BaseCheckpointSaver]:
    """`checkpointer.path` of `langgraph.json`: the saver `langgraph dev` runs threads on."""
    return open_async_checkpointer(get_settings())


def studio_store() -> AbstractAsyncContextManager[BaseStore]:
    """`store.path` of `langgraph.json`: the store `langgraph dev` gives graphs."""
    return open_async_store(get_settings())
