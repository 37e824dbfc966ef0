"""`agentgraph eval --field` on the real server: a few items of the field set asked end to end through the graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import Cli

from tests.finetune.test_field import FIELD, needs_field

pytestmark = [pytest.mark.server, needs_field]


def test_a_few_field_items_through_the_real_graph(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "field"
    table = cli.run_json("eval", "--field", str(FIELD), "--ids", "m02,w03,f03", "--concurrency", "3", "--out", str(out))
    assert table["all"]["asked"] == 3
    report = json.loads((out / "eval.json").read_text())
    assert {r["id"] for r in report["items"]} == {"m02", "w03", "f03"}
    for r in report["items"]:  # each item ran through the graph: agents ran, and what came back is recorded
        assert r["agents"] and r["thread_id"].startswith(f"field-{r['id']}-") and "answer" in r["checks"]
    followup = next(r for r in report["items"] if r["id"] == "f03")
    assert followup["answer"]  # the last of its turns was answered in the same thread
    assert (out / "eval.png").stat().st_size > 0 and (out / "misses.md").is_file()
