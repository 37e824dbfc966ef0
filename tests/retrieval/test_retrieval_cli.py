"""`agentgraph ingest` end to end on a temporary SQLite database (in process, and as a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agentgraph.cli import app
from agentgraph.retrieval import HybridSearcher, collection_stats
from agentgraph.settings import get_settings
from agentgraph.store import SQLAlchemyStore


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., Result]]:
    """Runs `agentgraph ingest ...` in this process (the embedding model stays loaded) on a fresh database."""
    for name in [k for k in os.environ if k.startswith("AGENTGRAPH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", f"sqlite:///{tmp_path / 'agentgraph.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["ingest", *args], catch_exceptions=False)
    get_settings.cache_clear()


def run_ingest(args: list[str], database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGRAPH_")}
    env["AGENTGRAPH_DATABASE_URL"] = database_url
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-c", "from agentgraph.cli import main; main()", "ingest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def small_docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "owls.md").write_text(
        "# Owls\n\nA barn owl swallows voles whole and coughs up the bones as pellets. "
        "Its hearing is so sharp that it hunts in total darkness.\n"
    )
    (docs / "sub" / "pump.txt").write_text("Replace the seal of the ZR-7 pump with seal kit SK-4471 every 4000 operating hours.\n")
    (docs / "bees.txt").write_text("Honey bees dance to tell their hive where flowers are.\n")
    return docs


def test_ingest_command_end_to_end(cli: Callable[..., Result], small_docs: Path, embeddings: object) -> None:
    url = get_settings().database_url
    index = {"dims": 384, "embed": embeddings, "fields": ["text"]}

    first = cli(str(small_docs), "--collection", "cli")
    assert first.exit_code == 0, first.output
    assert "collection cli: 3 added, 0 updated, 0 unchanged, 0 removed" in first.stdout
    assert "now 3 files, 3 chunks" in first.stdout

    with SQLAlchemyStore.from_conn_string(url, index=index) as store:
        assert collection_stats(store, "cli")["files"] == 3
        searcher = HybridSearcher(store, "cli")
        assert searcher.search("SK-4471", 1)[0].source == "sub/pump.txt"
        assert searcher.search("which bird can hunt without any light", 1)[0].source == "owls.md"

    again = cli(str(small_docs), "-c", "cli", "-q")
    assert again.exit_code == 0, again.output
    assert "0 added, 0 updated, 3 unchanged, 0 removed" in again.stdout

    (small_docs / "bees.txt").unlink()
    (small_docs / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    bad = cli(str(small_docs), "-c", "cli", "-q", "--prune")
    assert bad.exit_code == 1
    assert "1 removed" in bad.stdout
    assert "1 file(s) failed" in bad.stderr
    assert "latin.txt: not UTF-8" in bad.stderr

    with SQLAlchemyStore.from_conn_string(url, index=index) as store:
        found = {p.source for p in HybridSearcher(store, "cli").search("bees flowers dance", 5)}
        assert found == {"owls.md", "sub/pump.txt"}


def test_ingest_command_refuses_a_file_argument(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    target.write_text("# Notes\n")
    result = run_ingest([str(target)], f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    assert result.returncode == 1
    assert "error:" in result.stderr and "not a directory" in result.stderr
    assert "Traceback" not in result.stderr
