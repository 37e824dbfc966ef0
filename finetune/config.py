"""Training configurations: one checked-in TOML file per agent (`finetune/configs/<agent>.toml`).

A file has three optional tables, each defaulting to the values of the dataclasses below:

    [data]              # what `build_dataset` makes
    n_train = 240       # training rows (None: the builder's default)
    seed = 0

    [sft]               # `swift sft` (LoRA)
    epochs = 2
    learning_rate = 2e-4
    ...

    [rlhf]              # `swift rlhf --rlhf_type dpo|kto`, started from the SFT adapter
    beta = 0.1
    ...
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from agentgraph.errors import ConfigError
from agentgraph.finetune.specs import AGENTS

__all__ = [
    "AGENTS",
    "CONFIG_DIR",
    "METHODS",
    "DataConfig",
    "Method",
    "RlhfConfig",
    "SftConfig",
    "TrainConfig",
    "load_config",
    "parse_config",
]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
Method = Literal["sft", "dpo", "kto"]
METHODS: tuple[str, ...] = ("sft", "dpo", "kto")


@dataclass(frozen=True)
class DataConfig:
    """Which dataset to build."""

    n_train: int | None = None
    seed: int = 0
    val_rows: int = 20
    """Validation rows used during training (the first ones of the val split; 0: all)."""
    mask_failed_calls: bool = True
    """Train no loss on tool calls the tool refused (rows that show a retry teach the recovery, not the mistake)."""


@dataclass(frozen=True)
class SftConfig:
    """LoRA supervised fine-tuning hyperparameters."""

    epochs: float = 2.0
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run the epochs)."""
    batch_size: int = 4
    grad_accum: int = 1
    learning_rate: float = 2e-4
    lora_rank: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str = "all-linear"
    max_length: int = 512
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    eval_steps: int = 20
    """Validation loss every this many steps (and once at the end)."""
    logging_steps: int = 1
    keep_checkpoints: int = 1
    """Checkpoints kept on disk (saved every `eval_steps`; 0: all, to choose one afterwards with `--from-run --checkpoint`)."""
    export_step: int = 0
    """Export the checkpoint of this step (one chosen on the validation split) instead of the latest (0)."""
    continue_after: int = 0
    """Start from the registered adapter, trained on the first this many train rows, and train on the rows
    after them (0: a new adapter from the base model)."""


@dataclass(frozen=True)
class RlhfConfig:
    """Preference tuning (DPO or KTO) hyperparameters, applied on top of the SFT adapter."""

    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 2
    grad_accum: int = 1
    learning_rate: float = 5e-5
    beta: float = 0.1
    max_length: int = 512
    eval_steps: int = 20
    logging_steps: int = 1
    n_pairs: int = 64
    """Preference rows generated from the SFT data when no exported file is given."""
    rpo_alpha: float | None = None
    """DPO only: weight of the chosen replies' SFT loss added to the preference loss (None: none)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides one agent's training run."""

    agent: str
    data: DataConfig = field(default_factory=DataConfig)
    sft: SftConfig = field(default_factory=SftConfig)
    rlhf: RlhfConfig = field(default_factory=RlhfConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as stored in metrics.json."""
        return asdict(self)

    def with_overrides(self, max_steps: int | None = None, n_train: int | None = None) -> TrainConfig:
        """The same config with the command line's overrides applied."""
        config = self
        if max_steps is not None:
            config = replace(config, sft=replace(config.sft, max_steps=max_steps), rlhf=replace(config.rlhf, max_steps=max_steps))
        if n_train is not None:
            config = replace(config, data=replace(config.data, n_train=n_train))
        return config


def _section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**raw)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def parse_config(agent: str, text: str, source: str = "<string>") -> TrainConfig:
    """A TrainConfig from TOML text; unknown tables or keys are a ConfigError naming them."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    unknown = sorted(set(raw) - {"data", "sft", "rlhf"})
    if unknown:
        raise ConfigError(f"{source}: unknown table(s) {', '.join(unknown)}; known: data, sft, rlhf")
    config = TrainConfig(
        agent=agent,
        data=_section(DataConfig, raw.get("data"), f"{source} [data]"),
        sft=_section(SftConfig, raw.get("sft"), f"{source} [sft]"),
        rlhf=_section(RlhfConfig, raw.get("rlhf"), f"{source} [rlhf]"),
    )
    _check(config, source)
    return config


def _check(config: TrainConfig, source: str) -> None:
    sft = config.sft
    if sft.lora_rank < 1 or sft.batch_size < 1 or sft.grad_accum < 1 or sft.learning_rate <= 0:
        raise ConfigError(f"{source}: lora_rank, batch_size and grad_accum must be >= 1 and learning_rate > 0")
    if sft.epochs <= 0 and sft.max_steps <= 0:
        raise ConfigError(f"{source}: set [sft] epochs > 0 or max_steps > 0")
    if config.data.n_train is not None and config.data.n_train < 1:
        raise ConfigError(f"{source}: [data] n_train must be >= 1")
    if sft.continue_after and (config.data.n_train is None or not 0 < sft.continue_after < config.data.n_train):
        raise ConfigError(
            f"{source}: [sft] continue_after {sft.continue_after} must be below [data] n_train "
            f"({config.data.n_train}): the run trains on the rows after it"
        )
    if sft.export_step and (sft.keep_checkpoints != 0 or sft.export_step % sft.eval_steps):
        raise ConfigError(
            f"{source}: [sft] export_step {sft.export_step} needs keep_checkpoints = 0 and a multiple of eval_steps "
            f"({sft.eval_steps}): checkpoints are saved every eval_steps and otherwise rotated away"
        )


def load_config(agent: str, config_dir: Path = CONFIG_DIR) -> TrainConfig:
    """The checked-in config of `agent` (defaults when its file does not exist)."""
    path = Path(config_dir) / f"{agent}.toml"
    if not path.is_file():
        return TrainConfig(agent=agent)
    return parse_config(agent, path.read_text(), source=str(path))
