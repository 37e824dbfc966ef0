"""The retrieval agent's document index: ingest a folder into the store, then search it (BM25 + vectors).

`ingest(store, directory, collection)` indexes .md, .txt and .pdf files idempotently;
`HybridSearcher(store, collection).search(query, k)` returns `Passage`s whose `source` is the file's
path relative to the ingested folder. Both take any LangGraph `BaseStore` with a vector index
(`corpus_index_config()`), so every worker sharing the database sees the same corpus.
"""

from agentgraph.retrieval.index import (
    IngestProgress,
    IngestReport,
    collection_stats,
    corpus_index_config,
    ingest,
)
from agentgraph.retrieval.loaders import DocumentError, IngestError
from agentgraph.retrieval.passage import Passage
from agentgraph.retrieval.search import HybridSearcher

__all__ = [
    "DocumentError",
    "HybridSearcher",
    "IngestError",
    "IngestProgress",
    "IngestReport",
    "Passage",
    "collection_stats",
    "corpus_index_config",
    "ingest",
]
