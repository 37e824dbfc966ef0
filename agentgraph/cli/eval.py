"""`agentgraph eval [AGENT]`: each agent's adapter against the base model on its held-out test split."""

from __future__ import annotations

import json
from pathlib import Path

import typer


TEST_ROWS = "test_rows"
"""Key of eval.json beside the agents' figures: how many test rows each agent was scored on."""


def eval_command(
    agent: str | None = typer.Argument(None, help="router, math, retrieval or writing (default: all four)."),
    as_json: bool = typer.Option(False, "--json", help="Print only the results as JSON."),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate only the first N test rows of each agent."),
    out: Path | None = typer.Option(None, "--out", help="Folder for eval.json, eval.md and eval.png (default: adapters/, or adapters/AGENT/)."),
    collect: bool = typer.Option(
        False, "--collect", help="Do not run: combine the saved per-agent results (adapters/AGENT/eval.json) into one table and chart."
    ),
    unseen: bool = typer.Option(
        False, "--unseen", help="Score the hand-written requests no generator makes (finetune/datasets/unseen.py) -> adapters/unseen/."
    ),
) -> None:
    """Run the test split (or, with --unseen, the hand-written requests) through the running server
    (started if needed), greedy, base vs adapter.

    Per-row replies and scores go to finetune/runs/eval/AGENT_details.jsonl (AGENT_unseen_details.jsonl)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agentgraph.finetune.evaluate import AGENT_METRICS, evaluate_agent, write_details
    from agentgraph.serving.runtime import ensure_server
    from agentgraph.settings import get_settings

    settings = get_settings()
    agents = [agent] if agent else list(AGENT_METRICS)
    unknown = [a for a in agents if a not in AGENT_METRICS]
    if unknown:
        raise typer.BadParameter(f"unknown agent {unknown[0]!r}; use one of {', '.join(AGENT_METRICS)}")
    err = Console(stderr=True, highlight=False)
    results: dict[str, dict[str, dict[str, float]]] = {}
    counts: dict[str, int] = {}
    saved_dir = Path(settings.registry_path).parent / ("unseen" if unseen else "")
    target = out or (saved_dir / agent if agent else saved_dir)
    if collect:
        for name in agents:
            saved = saved_dir / name / "eval.json"
            if not saved.is_file():
                again = f"agentgraph eval {name}" + (" --unseen" if unseen else "")
                raise typer.BadParameter(f"no saved results for {name} ({saved}); run `{again}` first")
            data = json.loads(saved.read_text())
            results[name] = data[name]
            if name in data.get(TEST_ROWS, {}):
                counts[name] = data[TEST_ROWS][name]
        _write(results, counts, target, as_json, err, unseen)
        return
    ensure_server(settings, show_progress=not as_json)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
        tasks: dict[str, int] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done)

        for name in agents:
            summary, details = evaluate_agent(name, settings, limit=limit, on_progress=on_progress, unseen=unseen)
            results[name] = summary
            counts[name] = len(details["adapter"])
            suffix = "_unseen" if unseen else ""
            write_details(Path(settings.finetune.runs_dir) / "eval" / f"{name}{suffix}_details.jsonl", details)
    _write(results, counts, target, as_json, err, unseen)


TEST_TITLE = "Adapter vs base on the held-out test split"
UNSEEN_TITLE = "Adapter vs base on hand-written requests that no data generator makes"


def _write(results: dict, counts: dict[str, int], target: Path, as_json: bool, err, unseen: bool = False) -> None:  # noqa: ANN001
    """eval.json, eval.md and eval.png in `target` (titled for the test split or the unseen requests)."""
    from rich.console import Console

    from agentgraph.finetune.evaluate import markdown_table
    from agentgraph.finetune.plots import plot_eval

    target.mkdir(parents=True, exist_ok=True)
    (target / "eval.json").write_text(json.dumps({**results, TEST_ROWS: counts}, indent=2) + "\n")
    table = markdown_table(results, counts, rows_label="requests" if unseen else "test rows")
    (target / "eval.md").write_text(f"# {UNSEEN_TITLE if unseen else TEST_TITLE}\n\n{table}")
    plot_eval(results, target / "eval.png", title="adapter vs base, hand-written requests" if unseen else "adapter vs base")
    if as_json:
        typer.echo(json.dumps(results))
    else:
        Console(highlight=False).print(table)
        err.print(f"written: {target / 'eval.json'}, {target / 'eval.md'}, {target / 'eval.png'}")


def register(app: typer.Typer) -> None:
    """Add the `eval` command."""
    app.command("eval")(eval_command)
