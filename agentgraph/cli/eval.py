"""`agentgraph eval [AGENT]`: each agent's adapter against the base model on its held-out test split."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def eval_command(
    agent: str | None = typer.Argument(None, help="router, math, retrieval or writing (default: all four)."),
    as_json: bool = typer.Option(False, "--json", help="Print only the results as JSON."),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate only the first N test rows of each agent."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for eval.json, eval.md, eval.png and per-row details (default: adapters/, or adapters/AGENT/)."
    ),
) -> None:
    """Run the test split through the running server (started if needed), greedy, base vs adapter."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agentgraph.finetune.evaluate import AGENT_METRICS, evaluate_agent, markdown_table, write_details
    from agentgraph.finetune.plots import plot_eval
    from agentgraph.serving.runtime import ensure_server
    from agentgraph.settings import get_settings

    settings = get_settings()
    agents = [agent] if agent else list(AGENT_METRICS)
    unknown = [a for a in agents if a not in AGENT_METRICS]
    if unknown:
        raise typer.BadParameter(f"unknown agent {unknown[0]!r}; use one of {', '.join(AGENT_METRICS)}")
    err = Console(stderr=True, highlight=False)
    ensure_server(settings, show_progress=not as_json)
    results: dict[str, dict[str, dict[str, float]]] = {}
    counts: dict[str, int] = {}
    target = out or (Path(settings.registry_path).parent / agent if agent else Path(settings.registry_path).parent)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
        tasks: dict[str, int] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done)

        for name in agents:
            summary, details = evaluate_agent(name, settings, limit=limit, on_progress=on_progress)
            results[name] = summary
            counts[name] = len(details["adapter"])
            write_details(target / f"eval_details_{name}.jsonl" if not agent else target / "eval_details.jsonl", details)
    target.mkdir(parents=True, exist_ok=True)
    (target / "eval.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown_table(results, counts)
    (target / "eval.md").write_text(f"# Adapter vs base on the held-out test split\n\n{table}")
    plot_eval(results, target / "eval.png")
    if as_json:
        typer.echo(json.dumps(results))
    else:
        Console(highlight=False).print(table)
        err.print(f"written: {target / 'eval.json'}, {target / 'eval.md'}, {target / 'eval.png'}")


def register(app: typer.Typer) -> None:
    """Add the `eval` command."""
    app.command("eval")(eval_command)
