"""Bad input at the edges is one clear error, and nothing is half-written: empty or oversized questions,
unknown threads and checkpoints, files that cannot be ingested."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from langchain_core.messages import HumanMessage
from typer.testing import CliRunner

import graph_fakes
from agentgraph import build_graph
from agentgraph.agents.math import MATH
from agentgraph.cli import app
from agentgraph.errors import AgentgraphError
from agentgraph.retrieval import ingest
from agentgraph.settings import PolicySettings, get_settings
from agentgraph.store import SQLAlchemyStore
from graph_fakes import Script, ai, call, handoff
from safety_support import corpus_index, row_counts

GRAPH = ["--graph", "graph_fakes:build_scripted"]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database (through the settings, as the commands read it) that already holds one finished thread."""
    url = f"sqlite:///{tmp_path / 'edges.db'}"
    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", url)
    monkeypatch.setenv("AGENTGRAPH_POLICY__MAX_QUESTION_CHARS", "200")
    get_settings.cache_clear()
    graph_fakes.SCRIPT = Script(
        router=[ai("", handoff("math", "2+2"))], math=[ai("", call("calculator", expression="2+2")), ai("The answer is 4.")]
    )
    result = CliRunner().invoke(app, ["run", "What is 2+2?", "--thread", "t1", "--json", *GRAPH])
    assert result.exit_code == 0, result.exception
    yield url
    get_settings.cache_clear()
    graph_fakes.SCRIPT = None


def first_checkpoint(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT checkpoint_id FROM ag_checkpoints WHERE thread_id = 't1' AND checkpoint_ns = ''")).first()
    engine.dispose()
    return found[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "  \n "], "the question is empty"),
        (["run", "x" * 201], "the question is 201 characters long, more than the limit of 200 (policy.max_question_chars)"),
        (["run", "x" * 201, "--thread", "t1"], "more than the limit of 200"),
        (["run", "--thread", "nope"], "unknown thread 'nope'"),
        (["history", "nope"], "unknown thread 'nope'"),
        (["resume", "nope", "--approve"], "unknown thread 'nope'"),
        (["resume", "nope", "--reject"], "unknown thread 'nope'"),
        (["fork", "nope", "--checkpoint", "c1"], "thread 'nope' has no checkpoint 'c1'"),
        (["fork", "t1", "--checkpoint", "no-such-checkpoint"], "thread 't1' has no checkpoint 'no-such-checkpoint'"),
        (["resume", "t1", "--approve"], "thread 't1' is not waiting for an approval"),
    ],
    ids=[
        "empty",
        "oversized",
        "oversized-on-a-thread",
        "run-unknown",
        "history-unknown",
        "approve-unknown",
        "reject-unknown",
        "fork-unknown",
        "fork-unknown-checkpoint",
        "resume-not-waiting",
    ],
)
def test_bad_input_is_one_clear_error_and_writes_nothing(database, args, message):
    before = row_counts(database)
    assert before["ag_checkpoints"] > 0 and before["ag_tool_audit"] == 1
    graph_fakes.SCRIPT = Script()  # a model call would fail the test: nothing may run
    result = CliRunner().invoke(app, [*args, *(GRAPH if args[0] != "fork" else [])])
    assert result.exit_code != 0
    assert isinstance(result.exception, AgentgraphError), result.exception
    assert message in str(result.exception)
    assert row_counts(database) == before


def test_a_known_checkpoint_still_forks(database):
    """The counterpart of the fork errors: the same command with a real checkpoint writes a new thread."""
    before = row_counts(database)["ag_checkpoints"]
    result = CliRunner().invoke(app, ["fork", "t1", "--checkpoint", first_checkpoint(database)])
    assert result.exit_code == 0, result.exception
    assert row_counts(database)["ag_checkpoints"] == before + 1


def test_the_graph_refuses_an_oversized_question_without_running_an_agent(settings, saver):
    settings = settings.model_copy(update={"policy": PolicySettings(max_question_chars=20)})
    script = Script()
    out = build_graph([MATH], saver, settings=settings, model_factory=script.factory).invoke(
        {"messages": [HumanMessage("What is 2+2? " * 5)]}, {"configurable": {"thread_id": "t1"}}
    )
    assert out["answer"] == (
        "I could not answer this question.\n\nNote: the question is 64 characters long, more than the limit of 20 (policy.max_question_chars)"
    )
    assert script.calls == [] and out["plan"] == []


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    """A folder with one good file and three that must be refused: not UTF-8, too big, and a link to a
    file outside the folder."""
    folder, outside = tmp_path / "docs", tmp_path / "private"
    folder.mkdir()
    outside.mkdir()
    (folder / "good.md").write_text("The Velmora Bridge was completed in 1932.\n")
    (folder / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me au lait.".encode("latin-1"))
    (folder / "huge.md").write_text("word " * 60_000)
    (outside / "secret.md").write_text("The vault code is 1234.\n")
    os.symlink(outside / "secret.md", folder / "secret.md")
    return folder


def store_rows(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT prefix, key FROM store_items ORDER BY prefix, key")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_files_that_cannot_be_ingested_are_named_and_leave_nothing_behind(settings, documents):
    with SQLAlchemyStore.from_conn_string(settings.database_url, index=corpus_index()) as store:
        store.setup()
        report = ingest(store, documents, "docs", max_file_mb=0.1)
        texts = [item.value["text"] for item in store.search(("corpus", "docs"), limit=100)]

    assert report.added == ["good.md"]
    assert set(report.failed) == {"latin1.txt", "huge.md", "secret.md"}
    assert report.failed["latin1.txt"].startswith("not UTF-8 text (byte 0xe9 at offset 3, line 1)")
    assert "limit" in report.failed["huge.md"]
    assert "outside the ingested folder" in report.failed["secret.md"]
    assert texts == ["The Velmora Bridge was completed in 1932."]
    assert not any("vault" in text or "Caf" in text or "word word" in text for text in texts)
    assert [key for prefix, key in store_rows(settings.database_url) if prefix.startswith("corpus_meta")] == ["file:good.md", "manifest"]


def test_a_folder_of_only_bad_files_writes_nothing(settings, documents):
    (documents / "good.md").unlink()
    with SQLAlchemyStore.from_conn_string(settings.database_url, index=corpus_index()) as store:
        store.setup()
        report = ingest(store, documents, "docs", max_file_mb=0.1)
    assert not report.ok and report.added == [] and len(report.failed) == 3
    assert store_rows(settings.database_url) == []
