"""The default graph (`graphs/supervisor.py`): its search tool reads the store the graph runs with."""

from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.store.memory import InMemoryStore

from agentgraph.citations import cite, parse_passages
from agentgraph.graphs.supervisor import build, make_graph
from agentgraph.retrieval import ingest
from agentgraph.settings import RetrievalSettings
from graph_fakes import Script, ai, call, handoff

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


def _first_sentence_of(result: str, source: str) -> str:
    """The first sentence the search showed from `source` (what an extractive answer copies)."""
    text = next(p.text for p in parse_passages(result) if p.source == source)
    return text.split(". ")[0].rstrip(".") + "."


def test_default_graph_searches_the_collection_in_its_store(settings):
    settings = settings.model_copy(update={"retrieval": RetrievalSettings(collection="docs", top_k=2)})
    # the wiring is under test, not ranking: cheap vectors, and BM25 finds the keyword
    store = InMemoryStore(index={"dims": 16, "embed": DeterministicFakeEmbedding(size=16), "fields": ["text"]})
    ingest(store, CORPUS, "docs")
    script = Script(
        router=[ai("", handoff("retrieval", "Which volcano is mentioned?"))],
        retrieval=[
            ai("", call("search", query="volcano eruption")),
            lambda messages: ai(cite(_first_sentence_of(messages[-1].text, "volcanoes.md"), "volcanoes.md")),
        ],
    )
    out = build(store=store, settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})

    [reply] = [m for m in out["transcripts"]["retrieval-1"]["messages"] if isinstance(m, ToolMessage)]
    assert reply.status == "success"
    lines = reply.content.splitlines()
    assert len(lines) == 2  # retrieval.top_k
    assert any(line.startswith("[volcanoes.md] ") for line in lines)
    assert out["citations"] == ["volcanoes.md"]


def test_search_without_a_store_tells_the_model(settings):
    script = Script(
        router=[ai("", handoff("retrieval", "anything"))],
        retrieval=[ai("", call("search", query="anything")), ai("Nothing found.")],
    )
    out = build(settings=settings, model_factory=script.factory).invoke({"messages": [HumanMessage("q")]})
    [reply] = [m for m in out["transcripts"]["retrieval-1"]["messages"] if isinstance(m, ToolMessage)]
    assert reply.status == "error" and "without a store" in reply.content


def test_studio_factory_has_no_checkpointer():
    graph = make_graph()
    assert graph.checkpointer is None
    assert {"supervisor", "retrieval", "math", "writing", "join", "finish"} <= set(graph.get_graph().nodes)


def test_the_framework_does_not_import_the_shipped_agents_or_graphs():
    import subprocess
    import sys

    code = (
        "import sys, agentgraph.graph, agentgraph.cli.run, agentgraph.runtime, agentgraph.threads; "
        "print([m for m in sys.modules if m.startswith(('agentgraph.agents', 'agentgraph.graphs'))])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
