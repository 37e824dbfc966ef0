"""Adapter export: float16 LoRA weights and config only, accepted by the registry's serving checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from agentgraph.errors import ConfigError
from agentgraph.finetune.export import ExportError, export_adapter, find_checkpoint
from agentgraph.serving.registry import AdapterEntry, check_adapter

PREFIX = "base_model.model.model.layers.0.self_attn.q_proj"


def fake_checkpoint(folder: Path, step: int, extra: dict[str, torch.Tensor] | None = None) -> Path:
    """A checkpoint as ms-swift writes it: fp32 LoRA weights, config, trainer files, optimizer state."""
    checkpoint = folder / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    tensors = {
        f"{PREFIX}.lora_A.weight": torch.randn(8, 640, dtype=torch.float32),
        f"{PREFIX}.lora_B.weight": torch.randn(1024, 8, dtype=torch.float32),
        **(extra or {}),
    }
    save_file(tensors, str(checkpoint / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "r": 8,
        "lora_alpha": 32,
        "target_modules": ["q_proj"],
        "modules_to_save": ["lm_head"],
        "base_model_name_or_path": "/root/private/path",
        "inference_mode": False,
    }
    (checkpoint / "adapter_config.json").write_text(json.dumps(config))
    for name in ("optimizer.pt", "scheduler.pt", "trainer_state.json", "training_args.bin"):
        (checkpoint / name).write_bytes(b"state")
    return checkpoint


def test_export_writes_fp16_lora_weights_only(tmp_path: Path) -> None:
    saved = {"base_model.model.lm_head.modules_to_save.default.weight": torch.ones(4, 4)}
    checkpoint = fake_checkpoint(tmp_path / "run", 6, saved)
    out = export_adapter(checkpoint, tmp_path / "adapter")
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    with safe_open(str(out / "adapter_model.safetensors"), framework="pt") as handle:
        names = list(handle.keys())
        assert sorted(names) == [f"{PREFIX}.lora_A.weight", f"{PREFIX}.lora_B.weight"]
        assert all(handle.get_tensor(name).dtype == torch.float16 for name in names)
        from safetensors.torch import load_file

        source = load_file(str(checkpoint / "adapter_model.safetensors"))
        assert torch.allclose(handle.get_tensor(f"{PREFIX}.lora_A.weight").float(), source[f"{PREFIX}.lora_A.weight"], atol=1e-2)
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["modules_to_save"] is None and config["r"] == 8 and config["inference_mode"] is True
    assert config["base_model_name_or_path"] is None
    check_adapter(AdapterEntry("math", out, 8, "abc"), max_lora_rank=8, base_model_hash="abc")


def test_half_the_size_of_the_checkpoint(tmp_path: Path) -> None:
    checkpoint = fake_checkpoint(tmp_path / "run", 1)
    out = export_adapter(checkpoint, tmp_path / "adapter")
    exported = (out / "adapter_model.safetensors").stat().st_size
    assert exported < 0.6 * (checkpoint / "adapter_model.safetensors").stat().st_size


def test_registry_refuses_an_unexported_checkpoint(tmp_path: Path) -> None:
    checkpoint = fake_checkpoint(tmp_path / "run", 1, {"base_model.model.lm_head.modules_to_save.default.weight": torch.ones(2, 2)})
    with pytest.raises(ConfigError, match="modules_to_save"):
        check_adapter(AdapterEntry("math", checkpoint, 8, "abc"), max_lora_rank=8, base_model_hash="abc")


def test_find_checkpoint_is_the_highest_step(tmp_path: Path) -> None:
    for step in (5, 40, 12):
        fake_checkpoint(tmp_path / "swift", step)
    (tmp_path / "swift" / "checkpoint-99").mkdir()  # no weights: not a usable checkpoint
    assert find_checkpoint(tmp_path).name == "checkpoint-40"
    assert find_checkpoint(tmp_path, step=12).name == "checkpoint-12"
    with pytest.raises(ExportError, match=r"no checkpoint-99 .* kept steps 5, 12, 40"):
        find_checkpoint(tmp_path, step=99)


def test_no_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no checkpoint"):
        find_checkpoint(tmp_path)
