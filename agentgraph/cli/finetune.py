"""`agentgraph finetune AGENT`: train an agent's LoRA adapter with ms-swift and register it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from agentgraph.finetune.progress import LogEvent


def finetune_command(
    agent: str | None = typer.Argument(None, help="router, math, retrieval, writing or tools (or --agent MODULE:SPEC)."),
    method: str = typer.Option("sft", "--method", help="sft (LoRA), or dpo / kto on top of the agent's SFT adapter."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many optimizer steps."),
    train_rows: int | None = typer.Option(None, "--train-rows", help="Rebuild the dataset with this many training rows."),
    output: Path | None = typer.Option(None, "--output", help="Adapter folder (default: adapters/AGENT/)."),
    register: bool = typer.Option(True, "--register/--no-register", help="Add the adapter to the registry."),
    preferences: Path | None = typer.Option(
        None, "--preferences", help="dpo/kto: a preference file (from `agentgraph traces export`); default: generated from the SFT data."
    ),
    mistakes: int = typer.Option(
        0, "--mistakes", help="dpo/kto: first run this many fresh rows through the served adapter; its mistakes lead the pairs."
    ),
    rows: list[Path] = typer.Option(
        [],
        "--rows",
        help="sft: a file of agent rows (e.g. from `agentgraph traces export --format swift`) to train on beside the built data; repeatable.",
    ),
    from_run: Path | None = typer.Option(
        None, "--from-run", help="Do not train: export and register the latest checkpoint of this earlier run (e.g. one that was stopped)."
    ),
    checkpoint: int | None = typer.Option(
        None, "--checkpoint", help="With --from-run: export the checkpoint of this step instead of the latest."
    ),
    custom: str | None = typer.Option(
        None,
        "--agent",
        help="A user's agent (module:attribute or file.py:attribute, an AgentSpec): trained on top of `tools` from --examples and its traces.",
    ),
    examples: Path | None = typer.Option(None, "--examples", help="With --agent: the example tasks (JSONL; see finetune/custom.py)."),
    traces: bool = typer.Option(True, "--traces/--no-traces", help="With --agent: also train on the agent's stored runs."),
) -> None:
    """Build the dataset if missing, train with `swift sft` / `swift rlhf` (config: finetune/configs/AGENT.toml),
    then write the float16 adapter, metrics.json and loss.png and register it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from agentgraph.finetune.train import complete_run, finetune
    from agentgraph.settings import get_settings

    err = Console(stderr=True, highlight=False)
    if custom is not None or agent is None:
        _finetune_agent(err, custom, examples, max_steps, output, register, traces)
        return
    if checkpoint is not None and from_run is None:
        raise typer.BadParameter("--checkpoint chooses a step of an earlier run; give the run with --from-run")
    if from_run is not None:
        done = complete_run(from_run, get_settings(), output, register=register, step=checkpoint)
        err.print(
            f"[green]adapter[/] {done.adapter_dir} from {done.metrics['checkpoint']} of {from_run}"
            + ("  (registered)" if done.registered else "")
        )
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("val {task.fields[val]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    state: dict[str, object] = {"task": None}
    lines = _LineReport(err) if not err.is_terminal else None

    def on_stage(text: str, total: int | None) -> None:
        if lines is not None:
            lines.stage(text, total)
        task = state["task"]
        if task is None:
            state["task"] = progress.add_task(text, total=total, loss="-", val="-")
        else:
            progress.update(task, description=text, total=total if total is not None else progress.tasks[0].total)  # type: ignore[arg-type]

    def on_event(event: LogEvent) -> None:
        if lines is not None:
            lines.event(event)
        task = state["task"]
        if task is None:
            return
        fields: dict[str, object] = {}
        if event.total:
            fields["total"] = event.total
        if event.step is not None and event.kind in ("train", "sample"):
            fields["completed"] = event.step
        if event.kind == "train" and event.loss is not None:
            fields["loss"] = f"{event.loss:.3f}"
        if event.kind == "eval" and event.loss is not None:
            fields["val"] = f"{event.loss:.3f}"
        progress.update(task, **fields)  # type: ignore[arg-type]

    with progress:
        result = finetune(
            agent,
            get_settings(),
            method=method,
            max_steps=max_steps,
            train_rows=train_rows,
            output=output,
            register=register,
            preferences=preferences,
            mistakes=mistakes,
            extra_rows=rows,
            on_event=on_event,
            on_stage=on_stage,
        )
    metrics = result.metrics
    err.print(
        f"[green]adapter[/] {result.adapter_dir}  train loss {metrics.get('final_train_loss')}  "
        f"val loss {metrics.get('final_val_loss')}  {metrics['train_rows']} rows  {metrics['train_runtime_s']} s"
        + ("  (registered)" if result.registered else "")
    )


def _finetune_agent(
    err: Console, reference: str | None, examples: Path | None, max_steps: int | None, output: Path | None, register: bool, traces: bool
) -> None:
    """`agentgraph finetune --agent MODULE:SPEC --examples FILE`."""
    from agentgraph.finetune.custom import finetune_agent
    from agentgraph.settings import get_settings

    if reference is None or examples is None:
        raise typer.BadParameter("give a shipped agent's name, or --agent MODULE:SPEC with --examples FILE")
    lines = _LineReport(err)
    result = finetune_agent(
        reference,
        examples,
        get_settings(),
        max_steps=max_steps,
        output=output,
        register=register,
        traces=traces,
        on_event=lines.event,
        on_stage=lines.stage,
    )
    metrics = result.metrics
    err.print(
        f"[green]adapter[/] {result.adapter_dir}  train loss {metrics.get('final_train_loss')}  val loss {metrics.get('final_val_loss')}  "
        f"{metrics['train_rows']} rows  {metrics['train_runtime_s']} s" + ("  (registered)" if result.registered else "")
    )


class _LineReport:
    """Progress as plain lines, for a log file or pipe (no terminal to draw a bar on): each stage, each
    validation loss, and the step count every twentieth of the way."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.shown = -1

    def stage(self, text: str, total: int | None) -> None:
        self.shown = -1
        self.console.print(text + (f" ({total})" if total else ""))

    def event(self, event: LogEvent) -> None:
        if event.kind == "eval" and event.loss is not None:
            self.console.print(f"step {event.step}: val loss {event.loss:.4f}")
            return
        if event.kind not in ("train", "sample") or event.step is None or not event.total:
            return
        every = max(1, event.total // 20)
        if event.step // every > self.shown // every or event.step == event.total:
            self.shown = event.step
            loss = f"  loss {event.loss:.4f}" if event.loss is not None else ""
            eta = f"  eta {event.eta_s:.0f} s" if event.eta_s is not None else ""
            self.console.print(f"{event.step}/{event.total}{loss}{eta}")


def register(app: typer.Typer) -> None:
    """Add the `finetune` command."""
    app.command("finetune")(finetune_command)
