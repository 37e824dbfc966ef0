"""The offline all-MiniLM-L6-v2 embeddings."""

from __future__ import annotations

import numpy as np

from agentgraph import embeddings
from agentgraph.embeddings import EMBEDDING_DIMS, OfflineEmbeddings, embed_texts


def test_model_ships_with_the_package() -> None:
    path = embeddings.model_path()
    assert (path / "model.safetensors").is_file()
    assert embeddings.load_model() is embeddings.load_model()  # loaded once per process


def test_vectors_are_normalised_and_semantic() -> None:
    cat, kitten, tax = np.array(embed_texts(["a cat sleeping", "a small kitten napping", "filing income tax"]))
    assert cat.shape == (EMBEDDING_DIMS,)
    assert abs(np.linalg.norm(cat) - 1.0) < 1e-5
    assert cat @ kitten > cat @ tax + 0.2
    assert embed_texts([]) == []


async def test_langchain_interface() -> None:
    model = OfflineEmbeddings()
    query = model.embed_query("hello world")
    [document] = model.embed_documents(["hello world"])
    assert len(query) == EMBEDDING_DIMS and np.allclose(query, document, atol=1e-5)
    assert np.allclose(await model.aembed_query("hello world"), query, atol=1e-5)
    assert model == OfflineEmbeddings() and hash(model) == hash(OfflineEmbeddings())
