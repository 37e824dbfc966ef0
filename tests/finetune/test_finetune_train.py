"""Training-side data handling: refused calls carry no loss, the validation subset, dataset sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgraph.finetune.train import (
    DataFiles,
    TrainingError,
    failed_call,
    mask_failed_calls,
    rows_after,
    training_file,
    validation_subset,
)


def call(name: str, **args: str) -> dict:
    return {"role": "tool_call", "content": json.dumps({"name": name, "arguments": args})}


RETRY = {
    "messages": [
        {"role": "user", "content": "What is 8x = 320?"},
        call("calculator", expression="8*x=320"),
        {"role": "tool_response", "content": "calculator: '8*x=320' has unknowns (x); use solve for equations"},
        call("solve", equations="8*x=320"),
        {"role": "tool_response", "content": "x: 40"},
        {"role": "assistant", "content": "The answer is x: 40."},
    ]
}


def test_failed_calls() -> None:
    assert failed_call("calculator", "calculator: not a mathematical expression: '$1'")
    assert failed_call("search", "search was not run: rejected by a person")
    assert failed_call("search", "search failed: TimeoutError: slow")
    assert not failed_call("calculator", "5535")
    assert not failed_call("search", "[notes.md] the calculator: was not run here")


def test_refused_call_is_masked_and_the_rest_kept() -> None:
    masked = mask_failed_calls(RETRY)
    assert [m.get("loss") for m in masked["messages"]] == [None, False, None, None, None, None]
    assert "loss" not in RETRY["messages"][1]  # the input row is not changed


def test_training_file_is_rewritten_only_when_something_is_masked(tmp_path: Path) -> None:
    plain = {
        "messages": [
            {"role": "user", "content": "q"},
            call("calculator", expression="1+1"),
            {"role": "tool_response", "content": "2"},
            {"role": "assistant", "content": "The answer is 2."},
        ]
    }
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps(plain) + "\n")
    data = DataFiles(train, tmp_path / "val.jsonl", "h", 1, 0)
    assert training_file(data, tmp_path / "run", True) is data
    train.write_text(json.dumps(plain) + "\n" + json.dumps(RETRY) + "\n")
    out = training_file(DataFiles(train, tmp_path / "val.jsonl", "h", 2, 0), tmp_path / "run", True)
    rows = [json.loads(line) for line in out.train.read_text().splitlines()]
    assert out.train != train and out.data_hash == "h" and rows[0] == plain and rows[1]["messages"][1]["loss"] is False
    assert training_file(data, tmp_path / "other", False) is data


def test_validation_subset_keeps_the_first_rows(tmp_path: Path) -> None:
    val = tmp_path / "val.jsonl"
    val.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(10)))
    data = DataFiles(tmp_path / "train.jsonl", val, "h", 5, 10)
    small = validation_subset(data, tmp_path / "run", 4)
    assert small.val_rows == 4 and [json.loads(x)["i"] for x in small.val.read_text().splitlines()] == [0, 1, 2, 3]
    assert validation_subset(data, tmp_path / "run", 0) is data
    assert validation_subset(data, tmp_path / "run", 20) is data


def test_a_continued_run_trains_on_the_rows_after_those_already_learnt(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(10)))
    (tmp_path / "val.jsonl").write_text(json.dumps({"i": -1}) + "\n")
    data = DataFiles(train, tmp_path / "val.jsonl", "h", 10, 1)
    later = rows_after(data, 7, tmp_path / "run")
    assert [json.loads(x)["i"] for x in later.train.read_text().splitlines()] == [7, 8, 9]
    assert later.train_rows == 3 and later.data_hash != "h" and train.read_text().count("\n") == 10
    with pytest.raises(TrainingError, match="no training rows after the first 10"):
        rows_after(data, 10, tmp_path / "run")


def test_a_continued_run_refuses_an_adapter_already_trained_on_its_rows(tmp_path: Path) -> None:
    from agentgraph.finetune.train import _refuse_a_second_pass
    from agentgraph.serving.registry import AdapterEntry

    data = DataFiles(tmp_path / "train.jsonl", tmp_path / "val.jsonl", "later-rows", 3, 1)
    _refuse_a_second_pass(AdapterEntry("math", tmp_path / "math", 8, "base", version="9", data_hash="first-rows"), data, 7)
    with pytest.raises(TrainingError, match=r"\(v10\) was already trained on the rows after the first 7"):
        _refuse_a_second_pass(AdapterEntry("math", tmp_path / "math", 8, "base", version="10", data_hash="later-rows"), data, 7)


def test_training_data_is_rebuilt_when_its_seed_count_or_builders_change(tmp_path: Path) -> None:
    from dataclasses import replace

    from agentgraph.finetune.config import load_config
    from agentgraph.finetune.datasets import STAMP
    from agentgraph.finetune.train import ensure_dataset
    from agentgraph.settings import Settings

    settings = Settings(finetune={"data_dir": tmp_path})
    config = load_config("router", settings.finetune.configs_dir).with_overrides(n_train=12)
    train = tmp_path / "router" / "train.jsonl"

    def rebuilt(config_now) -> bool:
        with train.open("a") as handle:
            handle.write("{}\n")  # a marker line only a rebuild removes
        ensure_dataset("router", settings, config_now)
        return not train.read_text().endswith("{}\n")

    first = ensure_dataset("router", settings, config)
    assert first.train_rows == 12 and (tmp_path / "router" / STAMP).is_file()
    assert not rebuilt(config), "current data is kept"
    assert rebuilt(replace(config, data=replace(config.data, seed=config.data.seed + 1)))
    assert rebuilt(config.with_overrides(n_train=13))
    stamp = tmp_path / "router" / STAMP
    stamp.write_text(stamp.read_text().replace('"builders": "', '"builders": "0'))
    assert rebuilt(config.with_overrides(n_train=13)), "data from older builders is rebuilt"
    stamp.write_text("not json")
    assert rebuilt(config.with_overrides(n_train=13)), "an unreadable stamp means a rebuild"
    stamp.write_text(stamp.read_text().replace('"row_sources": "', '"row_sources": "0'))
    assert rebuilt(config.with_overrides(n_train=13)), "data made with other prompts or tools is rebuilt"


def test_the_card_names_the_data_hash_a_trained_adapter_is_registered_with(tmp_path: Path) -> None:
    from agentgraph.finetune.config import load_config
    from agentgraph.finetune.datasets import build_dataset, write_card
    from agentgraph.finetune.train import ensure_dataset
    from agentgraph.settings import Settings

    settings = Settings(finetune={"data_dir": tmp_path / "data"})
    config = load_config("router", settings.finetune.configs_dir).with_overrides(n_train=12)
    registered = ensure_dataset("router", settings, config).data_hash
    info = build_dataset("router", tmp_path / "elsewhere", seed=config.data.seed, n_train=12)
    card = write_card(info, cards_dir=tmp_path / "cards").read_text()
    assert info.training_hash == registered != info.data_hash
    assert f"`{registered}`" in card and f"`{info.data_hash}`" in card


def _module_of(module: str, name: str) -> str:
    """`from module import name`: the module `name` is, or else `module` itself."""
    import importlib.util

    try:
        return f"{module}.{name}" if importlib.util.find_spec(f"{module}.{name}") else module
    except ModuleNotFoundError:
        return module


def test_the_stamp_covers_every_agentgraph_module_the_builders_take_rows_from() -> None:
    """A prompt or tool edited outside the builders makes their data stale too."""
    import ast

    from agentgraph.finetune import datasets

    imported: set[str] = set()
    for path in Path(datasets.__file__).parent.glob("*.py"):
        if path.name == "unseen.py":  # the hand-written set is not built data
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agentgraph"):
                imported.update(_module_of(node.module, alias.name) for alias in node.names)
    # settings name the data folder, serving the tokenizer that counts tokens for the cards: neither shapes rows
    outside = {n for n in imported if not n.startswith(("agentgraph.finetune", "agentgraph.settings", "agentgraph.serving"))}
    assert outside and outside <= set(datasets.ROW_SOURCES), outside - set(datasets.ROW_SOURCES)


def test_eval_rebuilds_a_stale_built_test_split_and_keeps_one_placed_by_hand(tmp_path: Path) -> None:
    import pytest

    from agentgraph.finetune.datasets import STAMP
    from agentgraph.finetune.evaluate import EvalError, load_split_rows
    from agentgraph.settings import Settings

    settings = Settings(finetune={"data_dir": tmp_path})
    folder = tmp_path / "math"
    folder.mkdir()
    (folder / "test.jsonl").write_text(json.dumps(RETRY) + "\n")
    assert load_split_rows("math", settings) == [RETRY], "a split placed by hand is used as it is"
    (folder / STAMP).write_text(json.dumps({"seed": 99, "n_train": 1, "builders": "older"}))
    rebuilt = load_split_rows("math", settings)
    assert len(rebuilt) == 100 and RETRY not in rebuilt
    validation = load_split_rows("math", settings, "val")
    assert len(validation) == 100 and not {json.dumps(r) for r in validation} & {json.dumps(r) for r in rebuilt}
    with pytest.raises(EvalError, match="unknown split 'train'"):
        load_split_rows("math", settings, "train")


def test_training_uses_data_placed_by_hand_as_it_is_and_names_a_missing_split(tmp_path: Path) -> None:
    import pytest

    from agentgraph.finetune.config import load_config
    from agentgraph.finetune.evaluate import EvalError, load_split_rows
    from agentgraph.finetune.train import TrainingError, ensure_dataset
    from agentgraph.settings import Settings

    settings = Settings(finetune={"data_dir": tmp_path})
    config = load_config("math", settings.finetune.configs_dir).with_overrides(n_train=12)
    folder = tmp_path / "math"
    folder.mkdir()
    (folder / "train.jsonl").write_text(json.dumps(RETRY) + "\n")
    with pytest.raises(TrainingError, match=r"math was placed by hand \(no built.json\) and has no val.jsonl"):
        ensure_dataset("math", settings, config)
    with pytest.raises(EvalError, match="has no test.jsonl"):
        load_split_rows("math", settings)
    (folder / "val.jsonl").write_text(json.dumps(RETRY) + "\n")
    data = ensure_dataset("math", settings, config)
    assert (data.train_rows, data.val_rows) == (1, 1) and json.loads(data.train.read_text()) == RETRY, "never overwritten"
    assert ensure_dataset("math", settings, config, rebuild=True).train_rows == 12
