"""`agentgraph finetune`: build the data, run `swift sft` / `swift rlhf` as a subprocess, export the
adapter (float16 LoRA weights only), write metrics.json and loss.png, and register it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentgraph.errors import AgentgraphError
from agentgraph.finetune.config import AGENTS, METHODS, TrainConfig, load_config
from agentgraph.finetune.export import export_adapter, find_checkpoint
from agentgraph.finetune.plots import plot_loss
from agentgraph.finetune.progress import LogEvent, LogFollower, read_log
from agentgraph.serving.prepare import PreparedModel
from agentgraph.serving.profile import ModelProfile
from agentgraph.settings import Settings
from agentgraph.toolrecord import reports_failure

if TYPE_CHECKING:
    from agentgraph.serving.registry import AdapterEntry

PLUGIN = Path(__file__).resolve().parent / "swift_plugin.py"
METRICS_FILE = "metrics.json"
LOSS_PLOT = "loss.png"
LOG_FILE = "swift.log"
RUN_FILE = "run.json"


class TrainingError(AgentgraphError):
    """ms-swift failed or left nothing to export."""


@dataclass(frozen=True)
class DataFiles:
    """The files one run trains and validates on, with their row counts and hash."""

    train: Path
    val: Path
    data_hash: str
    train_rows: int
    val_rows: int


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    adapter_dir: Path
    run_dir: Path
    metrics: dict[str, Any]
    registered: bool


def count_rows(path: Path) -> int:
    """Non-empty lines of a JSONL file."""
    with Path(path).open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def ensure_dataset(agent: str, settings: Settings, config: TrainConfig, rebuild: bool = False) -> DataFiles:
    """The agent's train/val files, built with the data builder unless the folder holds what the
    current builders make from the config's seed and train count, or files placed there by hand (used
    as they are; `rebuild` replaces them too)."""
    from agentgraph.finetune.datasets import build_dataset, is_current, is_placed_by_hand
    from agentgraph.finetune.datasets.common import files_hash
    from agentgraph.finetune.specs import TRAINING

    folder = Path(settings.finetune.data_dir) / agent
    train, val = folder / "train.jsonl", folder / "val.jsonl"
    n_train = TRAINING[agent].default_train if config.data.n_train is None else config.data.n_train
    if rebuild or not (is_current(folder, config.data.seed, n_train) or is_placed_by_hand(folder)):
        build_dataset(agent, folder, seed=config.data.seed, n_train=n_train)
    missing = [path.name for path in (train, val) if not path.is_file()]
    if missing:
        raise TrainingError(f"{folder} was placed by hand (no built.json) and has no {' or '.join(missing)}")
    return DataFiles(train, val, files_hash((train, val)), count_rows(train), count_rows(val))


def failed_call(name: str, response: str) -> bool:
    """True when a tool response given only as text reports that the call failed (see `reports_failure`)."""
    return reports_failure(name, response)


def mask_failed_calls(row: dict[str, Any]) -> dict[str, Any]:
    """The row with `"loss": false` on every call that the tool refused, so only the corrected call is
    learnt (the turns after the error still are). A call that says already whether it is learnt (rows
    exported from runs, marked from the calls' records) is left as it is; the others are judged by the
    text of their response."""
    messages = [dict(m) for m in row["messages"]]
    pending: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] == "tool_call":
            pending.append(message)
        elif message["role"] == "tool_response" and pending:
            call = pending.pop(0)
            name = json.loads(call["content"]).get("name", "")
            if "loss" not in call and failed_call(name, message["content"]):
                call["loss"] = False
    return {**row, "messages": messages}


def training_file(data: DataFiles, out_dir: Path, mask_failed: bool) -> DataFiles:
    """The training rows as ms-swift reads them: failed calls masked out of the loss when `mask_failed`."""
    if not mask_failed:
        return data
    rows = [json.loads(line) for line in data.train.read_text(encoding="utf-8").splitlines() if line.strip()]
    masked = [mask_failed_calls(row) for row in rows]
    if masked == rows:
        return data
    out_dir.mkdir(parents=True, exist_ok=True)
    train = out_dir / "train.jsonl"
    train.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in masked), encoding="utf-8")
    return DataFiles(train, data.val, data.data_hash, data.train_rows, data.val_rows)


def with_extra_rows(data: DataFiles, extra: list[Path], out_dir: Path) -> DataFiles:
    """The data with the rows of `extra` (e.g. exported traces) added to the training split, each file
    checked first: a bad row stops the run with its file and line."""
    from agentgraph.finetune.datasets.common import files_hash
    from agentgraph.finetune.rows import read_rows

    if not extra:
        return data
    rows = [row for path in extra for row in read_rows(path)]
    out_dir.mkdir(parents=True, exist_ok=True)
    train = out_dir / "train.jsonl"
    built = [line + "\n" for line in data.train.read_text(encoding="utf-8").splitlines() if line.strip()]
    train.write_text("".join(built + [json.dumps(row, ensure_ascii=False) + "\n" for row in rows]), encoding="utf-8")
    return DataFiles(train, data.val, files_hash((train, data.val)), data.train_rows + len(rows), data.val_rows)


def rows_after(data: DataFiles, skip: int, out_dir: Path) -> DataFiles:
    """The same data with only the training rows after the first `skip` (those an adapter was trained on)."""
    from agentgraph.finetune.datasets.common import files_hash

    lines = [line for line in data.train.read_text(encoding="utf-8").splitlines() if line.strip()][skip:]
    if not lines:
        raise TrainingError(f"no training rows after the first {skip}: raise [data] n_train (or --train-rows)")
    out_dir.mkdir(parents=True, exist_ok=True)
    train = out_dir / "train.jsonl"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return DataFiles(train, data.val, files_hash((train, data.val)), len(lines), data.val_rows)


def validation_subset(data: DataFiles, out_dir: Path, rows: int) -> DataFiles:
    """The same data with only the first `rows` validation rows (validation is slow on a CPU)."""
    if rows <= 0 or data.val_rows <= rows:
        return data
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [line for line in data.val.read_text(encoding="utf-8").splitlines() if line.strip()][:rows]
    val = out_dir / "val.jsonl"
    val.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return DataFiles(data.train, val, data.data_hash, data.train_rows, len(lines))


def swift_env() -> dict[str, str]:
    """The subprocess environment: no vLLM plugins, no hub look-ups, no tokenizer thread fights."""
    return {
        **os.environ,
        "VLLM_PLUGINS": "none",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
    }


def swift_command(
    config: TrainConfig,
    method: str,
    profile: ModelProfile,
    model: PreparedModel,
    data: DataFiles,
    run_dir: Path,
    init_adapter: Path | None = None,
) -> list[str]:
    """The `swift sft` or `swift rlhf` command line of one run."""
    if method not in METHODS:
        raise TrainingError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    sft = config.sft
    common = [
        "--model",
        str(model.path),
        "--model_type",
        profile.swift_model_type,
        "--template",
        profile.swift_template,
        "--agent_template",
        profile.swift_agent_template,
        "--custom_register_path",
        str(PLUGIN),
        "--tuner_type",
        "lora",
        "--lora_rank",
        str(sft.lora_rank),
        "--lora_alpha",
        str(sft.lora_alpha),
        "--lora_dropout",
        str(sft.lora_dropout),
        "--target_modules",
        *sft.target_modules.split(),
        "--torch_dtype",
        "float32",
        "--dataset",
        str(data.train),
        "--val_dataset",
        str(data.val),
        "--split_dataset_ratio",
        "0",
        "--output_dir",
        str(run_dir / "swift"),
        "--add_version",
        "false",
        "--seed",
        str(config.data.seed),
        "--data_seed",
        str(config.data.seed),
        "--save_only_model",
        "true",
        "--save_strategy",
        "steps",
        "--eval_strategy",
        "steps",
        "--dataloader_num_workers",
        "0",
        "--dataset_num_proc",
        "1",
        "--gradient_checkpointing",
        "false",
        "--report_to",
        "none",
        "--use_hf",
        "true",
    ]
    if method == "sft":
        stage = sft
        head = [sys.executable, "-m", "swift.cli.sft"]
        extra = ["--warmup_ratio", str(sft.warmup_ratio), "--weight_decay", str(sft.weight_decay)]
    else:
        stage = config.rlhf  # type: ignore[assignment]
        head = [sys.executable, "-m", "swift.cli.rlhf", "--rlhf_type", method, "--beta", str(config.rlhf.beta)]
        # The reference policy is the adapter the run starts from, not the bare base model.
        extra = ["--ref_adapters", str(init_adapter)] if init_adapter is not None else []
        if method == "dpo" and config.rlhf.rpo_alpha is not None:
            extra += ["--rpo_alpha", str(config.rlhf.rpo_alpha)]
    steps = ["--max_steps", str(stage.max_steps)] if stage.max_steps > 0 else []
    eval_steps = stage.eval_steps if stage.max_steps <= 0 else max(1, min(stage.eval_steps, stage.max_steps))
    schedule = [
        "--num_train_epochs",
        str(stage.epochs),
        *steps,
        "--per_device_train_batch_size",
        str(stage.batch_size),
        "--per_device_eval_batch_size",
        "4",
        "--gradient_accumulation_steps",
        str(getattr(stage, "grad_accum", 1)),
        "--learning_rate",
        str(stage.learning_rate),
        "--max_length",
        str(stage.max_length),
        "--logging_steps",
        str(stage.logging_steps),
        "--eval_steps",
        str(eval_steps),
        "--save_steps",
        str(eval_steps),
    ]
    keep = getattr(stage, "keep_checkpoints", 1)
    if keep > 0:
        schedule += ["--save_total_limit", str(keep)]
    adapters = ["--adapters", str(init_adapter)] if init_adapter is not None else []
    return head + common + schedule + extra + adapters


def export_step(config: TrainConfig, method: str, planned_steps: int) -> int | None:
    """The step whose checkpoint an SFT run exports: the config's `export_step` when the run gets that
    far (not on a shortened try with `--max-steps`), otherwise None, the latest."""
    chosen = config.sft.export_step if method == "sft" else 0
    return chosen if 0 < chosen <= planned_steps else None


def total_steps(config: TrainConfig, method: str, train_rows: int) -> int:
    """Optimizer steps the run will make (for the progress bar before ms-swift reports its own)."""
    stage = config.sft if method == "sft" else config.rlhf
    if stage.max_steps > 0:
        return stage.max_steps
    per_epoch = -(-train_rows // (stage.batch_size * getattr(stage, "grad_accum", 1)))
    return max(1, int(per_epoch * stage.epochs + 0.999))


def run_swift(command: list[str], run_dir: Path, on_event: Callable[[LogEvent], None] | None = None, poll_s: float = 1.0) -> list[LogEvent]:
    """Run ms-swift, following its logging.jsonl; its output goes to `run_dir/swift.log`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / LOG_FILE
    follower = LogFollower(run_dir / "swift" / "logging.jsonl")
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=swift_env(), cwd=run_dir)
        try:
            while process.poll() is None:
                for event in follower.poll():
                    if on_event is not None:
                        on_event(event)
                time.sleep(poll_s)
        except BaseException:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
    for event in follower.poll():
        if on_event is not None:
            on_event(event)
    if process.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise TrainingError(f"ms-swift exited with code {process.returncode}; end of {log_path}:\n{tail}")
    return follower.events


def summarise(events: list[LogEvent]) -> dict[str, Any]:
    """Losses and runtime from a run's events."""
    train = [(e.step, e.loss) for e in events if e.kind == "train" and e.step is not None and e.loss is not None]
    val = [(e.step, e.loss) for e in events if e.kind == "eval" and e.step is not None and e.loss is not None]
    end = next((e for e in reversed(events) if e.kind == "end"), None)
    summary: dict[str, Any] = {
        "train_loss_curve": train,
        "val_loss_curve": val,
        "final_train_loss": train[-1][1] if train else None,
        "final_val_loss": val[-1][1] if val else None,
        "best_val_loss": min((v for _, v in val), default=None),
        "mean_train_loss": end.loss if end is not None else None,
        "steps": max((s for s, _ in train), default=0),
    }
    if end is not None and end.elapsed_s is not None:
        summary["train_runtime_s"] = float(end.elapsed_s)
    return summary


def next_version(registry_file: Path, name: str) -> str:
    """One more than the registered version of `name` (1 when it is new)."""
    from agentgraph.serving.registry import AdapterRegistry

    entry = AdapterRegistry.load(registry_file).entries.get(name)
    try:
        return str(int(entry.version) + 1) if entry is not None else "1"
    except ValueError:
        return "1"


def finetune(
    agent: str,
    settings: Settings,
    method: str = "sft",
    max_steps: int | None = None,
    train_rows: int | None = None,
    output: Path | None = None,
    register: bool = True,
    preferences: Path | None = None,
    mistakes: int = 0,
    extra_rows: list[Path] | None = None,
    on_event: Callable[[LogEvent], None] | None = None,
    on_stage: Callable[[str, int | None], None] | None = None,
) -> TrainResult:
    """Train `agent`'s adapter with `method` and write it (weights, metrics.json, loss.png) to `output`.

    dpo/kto with `mistakes`: that many fresh training-distribution rows are first run through the
    served adapter (the server is started if needed); its mistakes (kept in the run's
    data/mistakes.jsonl) lead the preference data. `extra_rows`: files of agent rows (e.g. from
    `agentgraph traces export --format swift`) trained on beside the built training split."""
    from agentgraph.serving.prepare import prepare_model
    from agentgraph.serving.profile import get_profile

    if agent not in AGENTS:
        raise TrainingError(f"unknown agent {agent!r}; use one of {', '.join(AGENTS)}")
    if extra_rows and method != "sft":
        raise TrainingError(f"extra rows are SFT rows; {method} takes a preference file (--preferences)")
    stage = on_stage or (lambda _text, _total: None)
    config = load_config(agent, settings.finetune.configs_dir).with_overrides(max_steps=max_steps, n_train=train_rows)
    profile = get_profile(settings.model.profile)
    stage("preparing the base model", None)
    model = prepare_model(settings, profile)
    stage("building the dataset", None)
    sft_data = ensure_dataset(agent, settings, config)
    adapter_dir = Path(output) if output is not None else Path(settings.registry_path).parent / agent
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(settings.finetune.runs_dir) / f"{agent}-{method}-{stamp}"
    init_adapter = None
    data = validation_subset(sft_data, run_dir / "data", config.data.val_rows)
    if method == "sft" and config.sft.continue_after:
        start = _registered_adapter(agent, settings)
        data = rows_after(data, config.sft.continue_after, run_dir / "data")
        _refuse_a_second_pass(start, data, config.sft.continue_after)
        init_adapter = start.path
    data = with_extra_rows(data, list(extra_rows or []), run_dir / "data")
    data = training_file(data, run_dir / "data", config.data.mask_failed_calls)
    if method != "sft":
        from agentgraph.finetune.preferences import preference_files

        init_adapter = _registered_adapter(agent, settings).path
        found: list[dict[str, Any]] = []
        if mistakes > 0:
            from agentgraph.finetune.datasets.common import write_jsonl
            from agentgraph.finetune.mistakes import fresh_rows, sample_mistakes
            from agentgraph.serving.runtime import ensure_server

            stage("starting the model server", None)
            ensure_server(settings, show_progress=False)
            stage("building fresh rows", None)
            folder = run_dir / "data" / "fresh"
            fresh = fresh_rows(agent, config.data.seed, sft_data.train_rows, mistakes, folder)
            stage(f"sampling {agent}'s mistakes", len(fresh))
            report = sample_mistakes(
                agent,
                settings,
                fresh,
                folder / "corpus" / "train",
                on_done=lambda done, total: on_event(LogEvent("sample", step=done, total=total)) if on_event else None,
            )
            found = report.pairs
            write_jsonl(run_dir / "data" / "mistakes.jsonl", found)
            stage(f"{report.mistakes} mistakes in {report.rows} fresh rows: {len(found)} pairs", None)
        data = preference_files(method, data, run_dir / "data", config.rlhf.n_pairs, config.data.seed, preferences, found)
    command = swift_command(config, method, profile, model, data, run_dir, init_adapter)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "command.json").write_text(json.dumps(command, indent=2) + "\n")
    run_info = {
        "agent": agent,
        "method": method,
        "base_model_hash": model.base_model_hash,
        "data_hash": data.data_hash,
        "train_rows": data.train_rows,
        "val_rows": data.val_rows,
        "config": config.to_dict(),
        "init_adapter": str(init_adapter) if init_adapter else None,
        "started_at": stamp,
        "planned_steps": total_steps(config, method, data.train_rows),
    }
    (run_dir / RUN_FILE).write_text(json.dumps(run_info, indent=2) + "\n")
    stage(f"training {agent} ({method})", run_info["planned_steps"])
    started = time.monotonic()
    run_swift(command, run_dir, on_event)
    wall = time.monotonic() - started
    stage("exporting the adapter", None)
    step = export_step(config, method, run_info["planned_steps"])
    return complete_run(run_dir, settings, adapter_dir, register=register, wall_time_s=wall, step=step)


def complete_run(
    run_dir: Path,
    settings: Settings,
    adapter_dir: Path | None = None,
    register: bool = True,
    wall_time_s: float | None = None,
    step: int | None = None,
) -> TrainResult:
    """Export a run's checkpoint at `step` (default: its latest, also of a run that was stopped), write
    metrics.json and loss.png, register it."""
    from agentgraph.serving.registry import AdapterEntry, AdapterRegistry

    run_dir = Path(run_dir)
    info_file = run_dir / RUN_FILE
    if not info_file.is_file():
        raise TrainingError(f"{run_dir} is not a training run (no {RUN_FILE})")
    info = json.loads(info_file.read_text())
    agent = info["agent"]
    adapter_dir = Path(adapter_dir) if adapter_dir is not None else Path(settings.registry_path).parent / agent
    checkpoint = find_checkpoint(run_dir / "swift", step)
    export_adapter(checkpoint, adapter_dir)
    steps = int(checkpoint.name.rsplit("-", 1)[1])
    events = read_log(run_dir / "swift" / "logging.jsonl")
    summary = summarise([e for e in events if e.step is None or e.step <= steps])
    config = info["config"]
    stage_config = config["sft"] if info["method"] == "sft" else config["rlhf"]
    rows_seen = steps * stage_config["batch_size"] * stage_config.get("grad_accum", 1)
    runtime = summary.get("train_runtime_s") or wall_time_s or _last_elapsed(run_dir)
    metrics: dict[str, Any] = {
        "agent": agent,
        "method": info["method"],
        "base_model_hash": info["base_model_hash"],
        "data_hash": info["data_hash"],
        "train_rows": info["train_rows"],
        "val_rows": info["val_rows"],
        "seed": config["data"]["seed"],
        "steps": steps,
        "planned_steps": info["planned_steps"],
        "rows_seen": rows_seen,
        "train_runtime_s": round(runtime, 1) if runtime else None,
        "wall_time_s": round(wall_time_s, 1) if wall_time_s else None,
        "seconds_per_row": round(runtime / rows_seen, 2) if runtime and rows_seen else None,
        "final_train_loss": summary["final_train_loss"],
        "final_val_loss": summary["final_val_loss"],
        "best_val_loss": summary["best_val_loss"],
        "mean_train_loss": summary["mean_train_loss"],
        "train_loss_curve": summary["train_loss_curve"],
        "val_loss_curve": summary["val_loss_curve"],
        "config": config,
        "init_adapter": info["init_adapter"],
        "checkpoint": checkpoint.name,
        "started_at": info["started_at"],
    }
    (adapter_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    plot_loss(summary["train_loss_curve"], summary["val_loss_curve"], adapter_dir / LOSS_PLOT, f"{agent} adapter ({info['method']})")
    registered = False
    if register:
        scalar = {k: float(metrics[k]) for k in ("final_train_loss", "final_val_loss") if metrics.get(k) is not None}
        AdapterRegistry.load(settings.registry_path).register(
            AdapterEntry(
                name=agent,
                path=adapter_dir.resolve(),
                rank=int(config["sft"]["lora_rank"]),
                base_model_hash=info["base_model_hash"],
                version=next_version(settings.registry_path, agent),
                data_hash=info["data_hash"],
                metrics=scalar,
            )
        )
        registered = True
    return TrainResult(adapter_dir=adapter_dir, run_dir=run_dir, metrics=metrics, registered=registered)


def _last_elapsed(run_dir: Path) -> float | None:
    elapsed = [e.elapsed_s for e in read_log(run_dir / "swift" / "logging.jsonl") if e.elapsed_s is not None]
    return float(elapsed[-1]) if elapsed else None


def _refuse_a_second_pass(entry: AdapterEntry, data: DataFiles, skip: int) -> None:
    """Stop a continued run whose starting adapter was already trained on the rows it would train on."""
    if entry.data_hash == data.data_hash:
        raise TrainingError(
            f"{entry.name}'s registered adapter (v{entry.version}) was already trained on the rows after the first {skip}; "
            f"a continued run starts from the adapter trained on the first {skip} (see finetune/configs/{entry.name}.toml)"
        )


def _registered_adapter(agent: str, settings: Settings) -> AdapterEntry:
    """The agent's registered adapter (SFT, or an earlier preference round), its weights on disk."""
    from agentgraph.serving.registry import ADAPTER_WEIGHTS, AdapterRegistry

    entry = AdapterRegistry.load(settings.registry_path).entries.get(agent)
    if entry is None or not (entry.path / ADAPTER_WEIGHTS).is_file():
        raise TrainingError(
            f"preference tuning and continued SFT start from {agent}'s registered adapter and there is none: "
            f"run `agentgraph finetune {agent}` (SFT) first"
        )
    return entry
