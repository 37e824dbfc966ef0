"""The adapter registry: which LoRA adapter backs which agent, checked before it is served.

It is a TOML file (`adapters/registry.toml` by default) with one table per adapter:

    [adapters.math]
    path = "math"                 # folder, relative to the registry file
    rank = 8
    base_model_hash = "eb487e2f2bbecba0"
    version = "1"
    data_hash = "..."
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomli_w

from agentgraph.errors import ConfigError

__all__ = ["ADAPTER_CONFIG", "ADAPTER_WEIGHTS", "AdapterEntry", "AdapterRegistry", "check_adapter"]

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


@dataclass(frozen=True)
class AdapterEntry:
    """One registered adapter."""

    name: str
    path: Path
    rank: int
    base_model_hash: str
    version: str = "1"
    data_hash: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


class AdapterRegistry:
    """The registered adapters, read from and written to one TOML file."""

    def __init__(self, file: Path, entries: dict[str, AdapterEntry] | None = None) -> None:
        self.file = Path(file)
        self.entries: dict[str, AdapterEntry] = dict(entries or {})

    @classmethod
    def load(cls, file: Path) -> AdapterRegistry:
        """The registry in `file`; an empty one if the file does not exist."""
        file = Path(file)
        if not file.is_file():
            return cls(file)
        try:
            data = tomllib.loads(file.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"the adapter registry {file} is not valid TOML: {exc}") from exc
        entries = {}
        for name, raw in data.get("adapters", {}).items():
            try:
                entries[name] = AdapterEntry(
                    name=name,
                    path=(file.parent / raw["path"]).resolve(),
                    rank=int(raw["rank"]),
                    base_model_hash=str(raw["base_model_hash"]),
                    version=str(raw.get("version", "1")),
                    data_hash=str(raw.get("data_hash", "")),
                    metrics={k: float(v) for k, v in raw.get("metrics", {}).items()},
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"adapter {name!r} in {file} is missing or has a bad field: {exc}") from exc
        return cls(file, entries)

    def save(self) -> None:
        """Write the registry back to its file, paths relative to it."""
        tables = {}
        for name, entry in sorted(self.entries.items()):
            row = {k: v for k, v in asdict(entry).items() if k not in ("name", "path") and v not in ("", {})}
            tables[name] = {"path": _relative(entry.path, self.file.parent), **row}
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.write_text(tomli_w.dumps({"adapters": tables}))

    def register(self, entry: AdapterEntry) -> None:
        """Add or replace an adapter and save the registry."""
        self.entries[entry.name] = entry
        self.save()

    def validate(self, max_lora_rank: int, base_model_hash: str) -> list[AdapterEntry]:
        """Every adapter, checked for what vLLM would refuse; the first problem is a ConfigError naming it."""
        for entry in self.entries.values():
            check_adapter(entry, max_lora_rank, base_model_hash)
        return list(self.entries.values())


def check_adapter(entry: AdapterEntry, max_lora_rank: int, base_model_hash: str) -> None:
    """Raise a ConfigError naming `entry` if vLLM could not serve it on this base model."""
    where = f"adapter {entry.name!r} ({entry.path})"
    config_file, weights_file = entry.path / ADAPTER_CONFIG, entry.path / ADAPTER_WEIGHTS
    for file in (config_file, weights_file):
        if not file.is_file():
            raise ConfigError(f"{where}: missing {file.name}; retrain it with `agentgraph finetune {entry.name}`")
    try:
        config = json.loads(config_file.read_text())
    except ValueError as exc:
        raise ConfigError(f"{where}: {ADAPTER_CONFIG} is not valid JSON: {exc}") from exc
    rank = int(config.get("r", entry.rank))
    if rank > max_lora_rank:
        raise ConfigError(f"{where}: rank {rank} is above the server's max_lora_rank {max_lora_rank}")
    if config.get("modules_to_save") or any("modules_to_save" in key for key in _weight_names(weights_file)):
        raise ConfigError(f"{where}: has modules_to_save weights, which vLLM cannot serve; train LoRA weights only")
    if entry.base_model_hash != base_model_hash:
        raise ConfigError(
            f"{where}: trained on base model {entry.base_model_hash}, but the server's base model is "
            f"{base_model_hash}; retrain it with `agentgraph finetune {entry.name}`"
        )


def _weight_names(file: Path) -> list[str]:
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt") as handle:
            return list(handle.keys())
    except Exception as exc:  # safetensors raises its own error types for a corrupt header
        raise ConfigError(f"{file} is not a readable safetensors file: {exc}") from exc


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
