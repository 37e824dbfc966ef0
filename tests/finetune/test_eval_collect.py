"""`agentgraph eval --collect`: the saved per-agent results combined into one table, chart and file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agentgraph.cli import app
from agentgraph.settings import get_settings


def test_collect_combines_saved_results_with_their_row_counts(tmp_path, monkeypatch):
    saved = {
        "router": ({"adapter": {"agent_accuracy": 1.0}, "base": {"agent_accuracy": 0.0}}, 40),
        "math": (
            {"adapter": {"tool_call_exact": 0.77, "answer_correct": 0.75}, "base": {"tool_call_exact": 0.0, "answer_correct": 0.01}},
            100,
        ),
        "retrieval": (
            {"adapter": {"search_hit": 1.0, "citation_correct": 0.975}, "base": {"search_hit": 0.0, "citation_correct": 0.0}},
            40,
        ),
        "writing": ({"adapter": {"format_ok": 0.73}, "base": {"format_ok": 0.0}}, 100),
    }
    for agent, (figures, rows) in saved.items():
        (tmp_path / agent).mkdir()
        (tmp_path / agent / "eval.json").write_text(json.dumps({agent: figures, "test_rows": {agent: rows}}))
    monkeypatch.setenv("AGENTGRAPH_REGISTRY_PATH", str(tmp_path / "registry.toml"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval", "--collect", "--json"])
        (tmp_path / "writing" / "eval.json").unlink()
        missing = CliRunner().invoke(app, ["eval", "--collect"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {agent: figures for agent, (figures, _) in saved.items()}
    table = (tmp_path / "eval.md").read_text()
    assert "| router | agent_accuracy | 100.0% | 0.0% | 40 |" in table
    assert "| math | answer_correct | 75.0% | 1.0% | 100 |" in table
    assert json.loads((tmp_path / "eval.json").read_text())["test_rows"] == {agent: rows for agent, (_, rows) in saved.items()}
    assert (tmp_path / "eval.png").stat().st_size > 0
    message = " ".join(missing.output.replace("│", " ").split())  # unwrapped from the error panel
    assert missing.exit_code != 0 and "no saved results for writing" in message, message


def test_collect_of_adapter_only_results_leaves_the_base_blank(tmp_path, monkeypatch):
    (tmp_path / "math").mkdir()
    figures = {"adapter": {"tool_call_exact": 0.98, "answer_correct": 0.97}}
    (tmp_path / "math" / "eval.json").write_text(json.dumps({"math": figures, "test_rows": {"math": 100}}))
    monkeypatch.setenv("AGENTGRAPH_REGISTRY_PATH", str(tmp_path / "registry.toml"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval", "math", "--collect"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "| math | answer_correct | 97.0% | - | 100 |" in (tmp_path / "math" / "eval.md").read_text()
    assert (tmp_path / "math" / "eval.png").stat().st_size > 0
