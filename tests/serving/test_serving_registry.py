"""The adapter registry and the checks it makes before anything is served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from agentgraph.errors import ConfigError
from agentgraph.serving.registry import AdapterEntry, AdapterRegistry

BASE = "base-hash"


def make_adapter(folder: Path, rank: int = 8, modules_to_save: list[str] | None = None, extra_key: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "modules_to_save": modules_to_save, "peft_type": "LORA"}))
    tensors = {"base_model.model.layers.0.q_proj.lora_A.weight": torch.zeros(rank, 4, dtype=torch.float16)}
    if extra_key:
        tensors[extra_key] = torch.zeros(2, 2, dtype=torch.float16)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    return folder


def registry_with(tmp_path: Path, **adapters: AdapterEntry) -> AdapterRegistry:
    registry = AdapterRegistry(tmp_path / "registry.toml")
    for entry in adapters.values():
        registry.register(entry)
    return AdapterRegistry.load(tmp_path / "registry.toml")


def test_round_trip_keeps_paths_relative(tmp_path):
    path = make_adapter(tmp_path / "math")
    registry = registry_with(tmp_path, math=AdapterEntry("math", path, 8, BASE, "2", "datahash", {"acc": 0.9}))
    assert 'path = "math"' in (tmp_path / "registry.toml").read_text()
    entry = registry.entries["math"]
    assert entry.path == path.resolve() and entry.version == "2" and entry.metrics == {"acc": 0.9}
    assert [e.name for e in registry.validate(max_lora_rank=8, base_model_hash=BASE)] == ["math"]


@pytest.mark.parametrize(
    ("kwargs", "max_rank", "base", "message"),
    [
        ({"rank": 16}, 8, BASE, "rank 16 is above the server's max_lora_rank 8"),
        ({"modules_to_save": ["lm_head"]}, 8, BASE, "modules_to_save"),
        ({"extra_key": "base_model.model.lm_head.modules_to_save.default.weight"}, 8, BASE, "modules_to_save"),
        ({}, 8, "another-base", "trained on base model base-hash"),
    ],
)
def test_validation_names_the_adapter(tmp_path, kwargs, max_rank, base, message):
    path = make_adapter(tmp_path / "writing", **kwargs)
    registry = registry_with(tmp_path, writing=AdapterEntry("writing", path, kwargs.get("rank", 8), BASE))
    with pytest.raises(ConfigError, match="adapter 'writing'") as error:
        registry.validate(max_lora_rank=max_rank, base_model_hash=base)
    assert message in str(error.value)


def test_missing_weights_file(tmp_path):
    path = make_adapter(tmp_path / "router")
    (path / "adapter_model.safetensors").unlink()
    registry = registry_with(tmp_path, router=AdapterEntry("router", path, 8, BASE))
    with pytest.raises(ConfigError, match="adapter 'router'.*missing adapter_model.safetensors"):
        registry.validate(8, BASE)


def test_corrupt_weights_and_registry_files(tmp_path):
    path = make_adapter(tmp_path / "math")
    (path / "adapter_model.safetensors").write_bytes(b"\x00garbage")
    registry = registry_with(tmp_path, math=AdapterEntry("math", path, 8, BASE))
    with pytest.raises(ConfigError, match="not a readable safetensors"):
        registry.validate(8, BASE)
    (tmp_path / "registry.toml").write_text("[adapters.math\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        AdapterRegistry.load(tmp_path / "registry.toml")
    (tmp_path / "registry.toml").write_text("[adapters.math]\nrank = 8\n")
    with pytest.raises(ConfigError, match="adapter 'math'.*missing or has a bad field"):
        AdapterRegistry.load(tmp_path / "registry.toml")
