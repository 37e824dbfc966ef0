"""Hybrid search: BM25 and dense rankings, their fusion, the BM25 cache, the `search` tool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.store.memory import InMemoryStore

from agentgraph.agents.retrieval import Passage, format_passages, make_search_tool
from agentgraph.citations import parse_passages
from agentgraph.retrieval import HybridSearcher, ingest
from agentgraph.retrieval.search import _Hit, reciprocal_rank_fusion, tokenize
from agentgraph.settings import get_settings
from agentgraph.taskcontext import working_on

CHUNKING = {"chunk_size": 400, "chunk_overlap": 80}


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("seal kit SK-4471", "sub/notes.txt"),
        ("ZR-7 lithium grease", "sub/notes.txt"),
        ("catechins", "tea.pdf"),
        ("Dragon Well", "tea.pdf"),
        ("pyroclastic flows", "volcanoes.md"),
        ("75 percent hydration", "bread.txt"),
    ],
)
def test_keyword_queries_find_their_source(searcher: HybridSearcher, query: str, source: str) -> None:
    assert searcher.search(query)[0].source == source


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("How long do felines doze each day?", "cats.md"),
        ("kitty vibrating noise meaning", "cats.md"),
        ("why do mountains explode", "volcanoes.md"),
        ("what makes a loaf rise without commercial yeast", "bread.txt"),
        ("how many hours between changing the pump seal", "sub/notes.txt"),
        ("how hot should the water be for tea", "tea.pdf"),
    ],
)
def test_paraphrased_queries_find_their_source(searcher: HybridSearcher, query: str, source: str) -> None:
    assert searcher.search(query)[0].source == source


def test_fusion_recovers_when_dense_search_alone_fails(searcher: HybridSearcher) -> None:
    # "catechins" is a rare word: the embedding model maps it near "cats", BM25 matches it exactly.
    query = "catechins"
    assert searcher.dense_search(query, 1)[0].source != "tea.pdf"
    assert searcher.bm25_search(query, 1)[0].source == "tea.pdf"
    assert searcher.search(query, 1)[0].source == "tea.pdf"


def test_fusion_recovers_when_bm25_alone_fails(searcher: HybridSearcher) -> None:
    # No content word of the query is in the cats document ("felines", "doze"); "day" is in bread.txt too.
    query = "How long do felines doze each day?"
    assert searcher.bm25_search(query, 1)[0].source != "cats.md"
    assert searcher.dense_search(query, 1)[0].source == "cats.md"
    assert searcher.search(query, 1)[0].source == "cats.md"


def test_bm25_only_ranks_chunks_sharing_a_term(searcher: HybridSearcher) -> None:
    assert searcher.bm25_search("why do mountains explode", 5) == []
    hits = searcher.bm25_search("taurine", 5)
    assert [p.source for p in hits] == ["cats.md"] and "taurine" in hits[0].text


def test_search_returns_k_passages_with_fused_scores_in_order(searcher: HybridSearcher) -> None:
    passages = searcher.search("volcano eruption", 4)
    assert len(passages) == 4
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 2 / (searcher.rrf_k + 1) for s in scores)
    assert len(searcher.search("volcano eruption")) == get_settings().retrieval.top_k


def test_reciprocal_rank_fusion() -> None:
    a, b, c = (_Hit(key, key, key, 0.0) for key in "abc")
    fused = reciprocal_rank_fusion([[a, b], [b, c]], k=60)
    assert [h.key for h in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 61)
    assert reciprocal_rank_fusion([[], []], k=60) == []


def test_tokenize() -> None:
    assert tokenize("What are the Seals of the ZR-7 pumps?") == ["seal", "zr", "7", "pump"]
    assert tokenize("glass") == ["glass"]


def test_an_empty_collection_returns_nothing(store: InMemoryStore) -> None:
    assert HybridSearcher(store, "nothing").search("anything") == []


def test_bm25_is_rebuilt_only_when_the_collection_changes(store: InMemoryStore, docs: Path) -> None:
    ingest(store, docs, "c", **CHUNKING)
    searcher = HybridSearcher(store, "c")
    for query in ("cats", "tea", "pump"):
        searcher.search(query)
    assert searcher.rebuilds == 1

    ingest(store, docs, "c", **CHUNKING)  # nothing changed
    searcher.search("cats")
    assert searcher.rebuilds == 1

    (docs / "owls.md").write_text("# Owls\n\nA barn owl swallows voles whole and coughs up the bones as pellets.\n")
    ingest(store, docs, "c", **CHUNKING)
    assert searcher.bm25_search("voles pellets", 1)[0].source == "owls.md"
    assert searcher.rebuilds == 2

    (docs / "owls.md").unlink()
    ingest(store, docs, "c", prune=True, **CHUNKING)
    assert all(p.source != "owls.md" for p in searcher.search("voles pellets", 10))
    assert searcher.rebuilds == 3


def test_a_second_searcher_sees_what_another_process_ingested(store: InMemoryStore, docs: Path) -> None:
    reader = HybridSearcher(store, "c")
    assert reader.search("pump") == []
    ingest(store, docs, "c", **CHUNKING)
    assert reader.search("pump seal")[0].source == "sub/notes.txt"


async def test_async_search_matches_sync_search(searcher: HybridSearcher) -> None:
    query = "how hot should the water be for tea"
    assert await searcher.asearch(query) == searcher.search(query)


# -- the `search` tool ---------------------------------------------------------------------------------


def test_search_tool_schema_is_exactly_the_trained_one(searcher: HybridSearcher) -> None:
    tool = make_search_tool(searcher)
    schema = convert_to_openai_tool(tool)["function"]
    assert schema["name"] == "search"
    assert schema["description"] == "Search the ingested documents; returns passages with their source ids."
    assert schema["parameters"]["properties"] == {"query": {"type": "string"}}
    assert schema["parameters"]["required"] == ["query"]


def test_search_tool_returns_top_k_passages_with_source_ids(searcher: HybridSearcher) -> None:
    output = make_search_tool(searcher, focused=False).invoke({"query": "seal kit SK-4471"})
    lines = output.splitlines()
    assert len(lines) == get_settings().retrieval.top_k
    assert lines[0].startswith("[sub/notes.txt] ")
    assert "SK-4471" in lines[0]
    for line in lines:
        assert re.fullmatch(r"\[(bread\.txt|cats\.md|sub/notes\.txt|tea\.pdf|volcanoes\.md)\] \S.*", line)
        assert "\n" not in line
    assert output == format_passages(searcher.search("seal kit SK-4471"))


def test_search_tool_puts_the_sentences_that_answer_the_agents_task_first(searcher: HybridSearcher) -> None:
    passages = searcher.search("volcano")
    with working_on("What is molten rock called once it reaches the surface?"):
        output = make_search_tool(searcher, focused=True).invoke({"query": "volcano"})
    first = output.splitlines()[0]
    assert first.startswith("[volcanoes.md] Once magma reaches the surface it is called lava.")
    # every sentence shown is copied word for word from a passage of the same source
    for passage in parse_passages(output):
        original = " ".join(" ".join(p.text for p in passages if p.source == passage.source).split())
        for sentence in re.split(r"(?<=[.!?]) ", passage.text):
            assert sentence.rstrip(".") in original.replace("#", "")


async def test_search_tool_runs_async(searcher: HybridSearcher) -> None:
    tool = make_search_tool(searcher, k=1)
    output = await tool.ainvoke({"query": "catechins"})
    assert output.startswith("[tea.pdf] ") and len(output.splitlines()) == 1


def test_search_tool_with_nothing_indexed(store: InMemoryStore) -> None:
    assert make_search_tool(HybridSearcher(store, "empty")).invoke({"query": "x"}) == "no passages found"


def test_passages_format_on_one_line_each() -> None:
    text = format_passages([Passage("a.md", "line one\nline  two"), Passage("sub/b.txt", "x")])
    assert text == "[a.md] line one line two\n[sub/b.txt] x"


async def test_search_over_the_sql_stores(docs: Path, tmp_path: Path, embeddings: object) -> None:
    from agentgraph.store import AsyncSQLAlchemyStore, SQLAlchemyStore

    url = f"sqlite:///{tmp_path / 'corpus.db'}"
    index = {"dims": 384, "embed": embeddings, "fields": ["text"]}
    with SQLAlchemyStore.from_conn_string(url, index=index) as store:
        store.setup()
        assert ingest(store, docs, "c", **CHUNKING).ok
        assert HybridSearcher(store, "c").search("catechins", 1)[0].source == "tea.pdf"

    async with AsyncSQLAlchemyStore.from_conn_string(url, index=index) as astore:
        tool = make_search_tool(HybridSearcher(astore, "c"), k=1)
        assert (await tool.ainvoke({"query": "How long do felines doze each day?"})).startswith("[cats.md] ")


def test_a_store_without_vector_index_falls_back_to_bm25_with_a_warning(
    corpus_store: InMemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    plain = InMemoryStore()
    for item in corpus_store.search(("corpus_meta", "fixture"), limit=1000):
        plain.put(tuple(item.namespace), item.key, item.value, index=False)
    for item in corpus_store.search(("corpus", "fixture"), limit=1000):
        plain.put(tuple(item.namespace), item.key, item.value, index=False)
    searcher = HybridSearcher(plain, "fixture")
    with caplog.at_level("WARNING", logger="agentgraph.retrieval.search"):
        assert searcher.search("catechins", 1)[0].source == "tea.pdf"
        query = "How long do felines doze each day?"
        assert [p.text for p in searcher.search(query, 5)] == [p.text for p in searcher.bm25_search(query, 5)]
    assert "no vector index" in caplog.text


def test_bold_labels_and_questions_head_the_sentences_they_introduce() -> None:
    from agentgraph.retrieval.focus import sentences_of

    text = (
        "**When are you open?**\nMonday to Saturday, 09:30 to 17:30. We are closed on Sundays.\n\n"
        "6. **Damage.** Report any damage to a boat to the Boatman within 24 hours.\n"
        "**Personal phones** may be used for work email."
    )
    assert sentences_of(text) == [
        ("When are you open?", "Monday to Saturday, 09:30 to 17:30."),
        ("When are you open?", "We are closed on Sundays."),
        ("Damage.", "Report any damage to a boat to the Boatman within 24 hours."),
        ("When are you open?", "Personal phones may be used for work email."),
    ]
