"""The whole adapter pipeline in small, on the real stack: build 16 math rows, train 3 steps with ms-swift
on them and a row from another file, export and register the adapter in a temporary registry, serve it
with vLLM, evaluate it on test rows; then run fresh rows through the served adapter and train 2 DPO steps
on its mistakes.

About 6 minutes on 2 CPU cores (ms-swift and vLLM start-up dominate).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from safetensors import safe_open
from typer.testing import CliRunner

from agentgraph.serving.prepare import PreparedModel
from agentgraph.serving.registry import AdapterEntry, AdapterRegistry
from agentgraph.serving.server import stop_server
from agentgraph.settings import Settings, get_settings
from tests.finetune.rows import MATH_ROW

pytestmark = [pytest.mark.server, pytest.mark.model]

CONFIG = """
[data]
n_train = 16
val_rows = 4

[sft]
epochs = 1
batch_size = 4
learning_rate = 3e-4
eval_steps = 2
keep_checkpoints = 0

[rlhf]
n_pairs = 6
batch_size = 2
eval_steps = 2
rpo_alpha = 1.0
"""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def small_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prepared_model: PreparedModel, no_session_server: None
) -> Iterator[Settings]:
    """Settings pointing every folder, the registry and the server at temporary places (the session's
    server stopped: this test starts its own)."""
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "math.toml").write_text(CONFIG)
    values = {
        "AGENTGRAPH_FINETUNE__DATA_DIR": str(tmp_path / "data"),
        "AGENTGRAPH_FINETUNE__RUNS_DIR": str(tmp_path / "runs"),
        "AGENTGRAPH_FINETUNE__CONFIGS_DIR": str(configs),
        "AGENTGRAPH_FINETUNE__EVAL_CONCURRENCY": "4",
        "AGENTGRAPH_REGISTRY_PATH": str(tmp_path / "registry" / "registry.toml"),
        "AGENTGRAPH_SERVER__PORT": str(free_port()),
        "AGENTGRAPH_SERVER__STATE_DIR": str(tmp_path / "server"),
        "AGENTGRAPH_SERVER__MAX_LORAS": "1",
        "AGENTGRAPH_SERVER__URLS": "[]",
        "VLLM_PLUGINS": "none",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    try:
        yield settings
    finally:
        stop_server(settings)
        get_settings.cache_clear()


def test_train_serve_and_evaluate_a_tiny_math_adapter(small_env: Settings, tmp_path: Path, prepared_model: PreparedModel) -> None:
    from agentgraph.cli import app

    runner = CliRunner()
    adapter = tmp_path / "adapter"
    traces = tmp_path / "traces.jsonl"  # rows as `traces export` writes them, trained on beside the built ones
    traces.write_text(json.dumps(MATH_ROW) + "\n")
    trained = runner.invoke(app, ["finetune", "math", "--max-steps", "3", "--rows", str(traces), "--output", str(adapter), "--no-register"])
    assert trained.exit_code == 0, trained.output + repr(trained.exception)
    assert "3/3  loss" in trained.output  # no terminal: progress comes as plain lines

    assert sorted(p.name for p in adapter.iterdir()) == ["adapter_config.json", "adapter_model.safetensors", "loss.png", "metrics.json"]
    with safe_open(str(adapter / "adapter_model.safetensors"), framework="pt") as handle:
        assert handle.keys() and all(handle.get_tensor(k).dtype.itemsize == 2 for k in handle.keys())
        assert not any("modules_to_save" in k for k in handle.keys())
    metrics = json.loads((adapter / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["train_rows"] == 16 + 1 and metrics["val_rows"] == 4
    assert metrics["final_train_loss"] > 0 and metrics["final_val_loss"] > 0
    assert metrics["base_model_hash"] == prepared_model.base_model_hash and len(metrics["data_hash"]) == 16
    assert not AdapterRegistry.load(small_env.registry_path).entries  # --no-register

    # Every checkpoint was kept (keep_checkpoints = 0): an earlier one can be exported instead of the last.
    sft_run = next((tmp_path / "runs").glob("math-sft-*"))
    earlier = tmp_path / "adapter-step-2"
    exported = runner.invoke(
        app, ["finetune", "math", "--from-run", str(sft_run), "--checkpoint", "2", "--output", str(earlier), "--no-register"]
    )
    assert exported.exit_code == 0, exported.output + repr(exported.exception)
    assert json.loads((earlier / "metrics.json").read_text())["checkpoint"] == "checkpoint-2"

    AdapterRegistry.load(small_env.registry_path).register(
        AdapterEntry("math", adapter, 8, prepared_model.base_model_hash, data_hash=metrics["data_hash"])
    )
    evaluated = runner.invoke(app, ["eval", "math", "--limit", "3", "--json", "--out", str(tmp_path / "eval")])
    assert evaluated.exit_code == 0, evaluated.output + repr(evaluated.exception)
    results = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert set(results) == {"math"} and set(results["math"]) == {"adapter", "base"}
    for side in ("adapter", "base"):
        assert set(results["math"][side]) == {"tool_call_exact", "answer_correct"}
        assert all(0.0 <= value <= 1.0 for value in results["math"][side].values())
    assert (tmp_path / "eval" / "eval.png").stat().st_size > 0
    assert "| math | tool_call_exact |" in (tmp_path / "eval" / "eval.md").read_text()

    # The validation split, to choose a checkpoint without looking at the test split (the adapter alone:
    # the base model's figures do not change between checkpoints).
    validated = runner.invoke(app, ["eval", "math", "--split", "val", "--limit", "2", "--json", "--no-base"])
    assert validated.exit_code == 0, validated.output + repr(validated.exception)
    assert set(json.loads(validated.stdout.strip().splitlines()[-1])["math"]) == {"adapter"}
    runs = Path(small_env.finetune.runs_dir)
    val_table = (runs / "eval" / "val" / "math" / "eval.md").read_text()
    assert val_table.startswith("# Adapter on the validation split") and "| 2 |" in val_table
    assert all(line.split("|")[4].strip() == "-" for line in val_table.splitlines() if line.startswith("| math |"))
    checked = [json.loads(line) for line in (runs / "eval" / "math_val_details.jsonl").read_text().splitlines()]
    val_rows = [json.loads(line) for line in (Path(small_env.finetune.data_dir) / "math" / "val.jsonl").read_text().splitlines()][:2]
    val_truths = [[m["content"] for m in row["messages"] if m["role"] == "tool_response"][-1] for row in val_rows]
    assert [row["model"] for row in checked] == ["adapter", "adapter"] and [row["truth"] for row in checked] == val_truths

    # The hand-written requests no generator makes, on the same server and metrics.
    unseen = runner.invoke(app, ["eval", "math", "--unseen", "--limit", "2", "--json", "--out", str(tmp_path / "unseen")])
    assert unseen.exit_code == 0, unseen.output + repr(unseen.exception)
    assert set(json.loads(unseen.stdout.strip().splitlines()[-1])["math"]) == {"adapter", "base"}
    assert (tmp_path / "unseen" / "eval.md").read_text().startswith("# Adapter vs base on hand-written requests")
    asked = [
        json.loads(line) for line in (Path(small_env.finetune.runs_dir) / "eval" / "math_unseen_details.jsonl").read_text().splitlines()
    ]
    assert len(asked) == 4 and {row["truth"] for row in asked} == {"17400", "2"}  # the first two unseen questions

    # Preference tuning on the served adapter's own mistakes (fresh rows past the 16 it was trained on).
    tuned = tmp_path / "dpo"
    preferred = runner.invoke(
        app, ["finetune", "math", "--method", "dpo", "--mistakes", "4", "--max-steps", "2", "--output", str(tuned), "--no-register"]
    )
    assert preferred.exit_code == 0, preferred.output + repr(preferred.exception)
    dpo_metrics = json.loads((tuned / "metrics.json").read_text())
    assert dpo_metrics["method"] == "dpo" and dpo_metrics["steps"] == 2
    assert Path(dpo_metrics["init_adapter"]).resolve() == adapter.resolve()
    run = next((tmp_path / "runs").glob("math-dpo-*"))
    command = json.loads((run / "command.json").read_text())
    assert Path(command[command.index("--ref_adapters") + 1]).resolve() == adapter.resolve()  # the SFT adapter is the reference
    mistakes = [json.loads(line) for line in (run / "data" / "mistakes.jsonl").read_text().splitlines()]
    trained = [json.loads(line) for line in (Path(small_env.finetune.data_dir) / "math" / "train.jsonl").read_text().splitlines()]
    assert mistakes, "a 3-step adapter gets some of 4 fresh math rows wrong"
    for pair in mistakes:
        assert pair["messages"][1]["content"] not in {row["messages"][1]["content"] for row in trained}  # a fresh question
        assert pair["messages"][-1]["role"] == "assistant" and pair["rejected_response"] != pair["messages"][-1]["content"]
    pairs = [json.loads(line) for line in (run / "data" / "dpo_train.jsonl").read_text().splitlines()]
    assert pairs[: len(mistakes)] == mistakes and len(pairs) == 6
