"""The long-term memory store: LangGraph `BaseStore`s on SQLAlchemy (SQLite or PostgreSQL).

`SQLAlchemyStore` (sync) and `AsyncSQLAlchemyStore` (asyncio) share one implementation. Semantic
search uses pgvector on PostgreSQL where the extension exists and an exact cosine search elsewhere;
the default embeddings are the offline all-MiniLM-L6-v2 model.
"""

from agentgraph.store.aio import AsyncSQLAlchemyStore
from agentgraph.store.base import StoreIndexConfig, matches_filter
from agentgraph.store.sync import SQLAlchemyStore

__all__ = ["AsyncSQLAlchemyStore", "SQLAlchemyStore", "StoreIndexConfig", "matches_filter"]
