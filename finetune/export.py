"""Export a trained LoRA checkpoint as a small servable adapter: float16 LoRA weights and their config only."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from agentgraph.errors import AgentgraphError
from agentgraph.serving.registry import ADAPTER_CONFIG, ADAPTER_WEIGHTS

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_LORA_KEY = re.compile(r"\.lora_(A|B|embedding_A|embedding_B)\b|\.lora_magnitude_vector\b")


class ExportError(AgentgraphError):
    """A training run left no checkpoint that can be exported."""


def find_checkpoint(run_dir: Path, step: int | None = None) -> Path:
    """The `checkpoint-N` folder under `run_dir` (searched recursively) with N = `step`, by default the highest N."""
    found = [(int(m.group(1)), p) for p in Path(run_dir).rglob("checkpoint-*") if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    found = [(n, p) for n, p in found if (p / ADAPTER_WEIGHTS).is_file()]
    if not found:
        raise ExportError(f"no checkpoint with {ADAPTER_WEIGHTS} under {run_dir}; see the training log there")
    if step is None:
        return max(found)[1]
    chosen = [p for n, p in found if n == step]
    if not chosen:
        kept = ", ".join(str(n) for n, _ in sorted(found))
        raise ExportError(f"no checkpoint-{step} under {run_dir}; the run kept steps {kept}")
    return chosen[0]


def export_adapter(checkpoint: Path, out_dir: Path) -> Path:
    """Write `checkpoint`'s LoRA weights in float16 (no optimizer state, no modules_to_save) to `out_dir`."""
    import torch
    from safetensors.torch import load_file, save_file

    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    tensors = load_file(str(checkpoint / ADAPTER_WEIGHTS))
    kept = {
        name: tensor.to(torch.float16).contiguous()
        for name, tensor in tensors.items()
        if "modules_to_save" not in name and _LORA_KEY.search(name)
    }
    if not kept:
        raise ExportError(f"{checkpoint / ADAPTER_WEIGHTS} holds no LoRA weights")
    config = json.loads((checkpoint / ADAPTER_CONFIG).read_text())
    config["modules_to_save"] = None
    config["inference_mode"] = True
    config["base_model_name_or_path"] = None
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])  # PEFT keeps them in a set's order
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".{ADAPTER_WEIGHTS}.tmp"
    save_file(kept, str(staging), metadata={"format": "pt"})
    staging.replace(out_dir / ADAPTER_WEIGHTS)
    (out_dir / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for leftover in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json", "training_args.bin"):
        (out_dir / leftover).unlink(missing_ok=True)
    return out_dir


def copy_file(source: Path, target: Path) -> None:
    """Copy one file, creating the target's folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
