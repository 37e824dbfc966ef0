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
    out: Path | None = typer.Option(
        None, "--out", help="Folder for eval.json, eval.md and eval.png (default: adapters/, or adapters/AGENT/)."
    ),
    collect: bool = typer.Option(
        False, "--collect", help="Do not run: combine the saved per-agent results (adapters/AGENT/eval.json) into one table and chart."
    ),
    unseen: bool = typer.Option(
        False, "--unseen", help="Score the hand-written requests no generator makes (finetune/datasets/unseen.py) -> adapters/unseen/."
    ),
    split: str = typer.Option(
        "test", "--split", help="test, or val to choose between checkpoints without looking at the test split (-> finetune/runs/eval/val/)."
    ),
    base: bool = typer.Option(
        True,
        "--base/--no-base",
        help="Also score the base model; --no-base scores the adapter alone (the base's figures do not change between checkpoints).",
    ),
    field_set: Path | None = typer.Option(
        None, "--field", help="Ask a field set (requests.jsonl + corpus/) end to end through the graph -> adapters/field/."
    ),
    ids: str | None = typer.Option(None, "--ids", help="With --field: only these item ids, comma-separated."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="With --field: items asked at the same time."),
    graph: str | None = typer.Option(None, "--graph", help="With --field: the graph builder (default: graph.builder)."),
    custom: str | None = typer.Option(
        None, "--agent", help="A user's agent (module:attribute or file.py:attribute): its adapter and `tools` on its held-out examples."
    ),
) -> None:
    """Run the test split (or, with --unseen, the hand-written requests) through the running server
    (started if needed), greedy, base vs adapter.

    Per-row replies and scores go to finetune/runs/eval/AGENT[_unseen|_val]_details.jsonl."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agentgraph.finetune.evaluate import AGENT_METRICS, MODELS, SPLITS, evaluate_agent, write_details
    from agentgraph.serving.runtime import ensure_server
    from agentgraph.settings import get_settings

    settings = get_settings()
    if custom is not None:
        _eval_agent(settings, custom, out, limit, as_json)
        return
    if field_set is not None:
        _eval_field(
            settings,
            field_set,
            out,
            ids=ids.split(",") if ids else None,
            limit=limit,
            concurrency=concurrency,
            graph=graph,
            as_json=as_json,
        )
        return
    agents = [agent] if agent else list(AGENT_METRICS)
    unknown = [a for a in agents if a not in AGENT_METRICS]
    if unknown:
        raise typer.BadParameter(f"unknown agent {unknown[0]!r}; use one of {', '.join(AGENT_METRICS)}")
    if split not in SPLITS or (unseen and split != "test"):
        raise typer.BadParameter(f"--split takes one of {', '.join(SPLITS)}, and --unseen scores its own requests, not a split")
    err = Console(stderr=True, highlight=False)
    results: dict[str, dict[str, dict[str, float]]] = {}
    counts: dict[str, int] = {}
    on_val = split == "val"
    suffix = "_unseen" if unseen else "_val" if on_val else ""
    adapters_dir = Path(settings.registry_path).parent
    saved_dir = Path(settings.finetune.runs_dir) / "eval" / "val" if on_val else adapters_dir / ("unseen" if unseen else "")
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
        _write(results, counts, target, as_json, err, suffix)
        return
    ensure_server(settings, show_progress=not as_json)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
        tasks: dict[str, int] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done)

        for name in agents:
            summary, details = evaluate_agent(
                name, settings, models=MODELS if base else ("adapter",), limit=limit, on_progress=on_progress, unseen=unseen, split=split
            )
            results[name] = summary
            counts[name] = len(details["adapter"])
            write_details(Path(settings.finetune.runs_dir) / "eval" / f"{name}{suffix}_details.jsonl", details)
    _write(results, counts, target, as_json, err, suffix)


def _eval_field(settings, directory: Path, out: Path | None, *, ids, limit, concurrency: int, graph, as_json: bool) -> None:  # noqa: ANN001
    """Ingest the field set's corpus into its own collection, ask its requests through the graph, write the report."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agentgraph.finetune.field import FIELD_COLLECTION, graph_asker, load_field_set, run_field, write_report
    from agentgraph.loading import load_builder
    from agentgraph.retrieval import ingest
    from agentgraph.runtime import open_checkpointer, open_store
    from agentgraph.serving.runtime import ensure_server

    items = load_field_set(directory)
    settings = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"collection": FIELD_COLLECTION})})
    err = Console(stderr=True, highlight=False)
    ensure_server(settings, show_progress=not as_json)
    target = out or Path(settings.registry_path).parent / "field"
    with open_checkpointer(settings) as saver, open_store(settings) as store:
        report = ingest(store, directory / "corpus", FIELD_COLLECTION, prune=True)
        if not report.ok:
            raise typer.BadParameter(f"the field set's corpus did not ingest cleanly: {report.failed}")
        compiled = load_builder(graph or settings.graph.builder)(checkpointer=saver, store=store, settings=settings)
        with Progress(
            TextColumn("field set"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, disable=as_json
        ) as progress:
            task = progress.add_task("field set", total=None)
            results = run_field(
                directory,
                graph_asker(compiled),
                ids=ids,
                limit=limit,
                concurrency=concurrency,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    table = write_report(results, items, target)
    if as_json:
        typer.echo(json.dumps(table))
        return
    for kind, row in table.items():
        err.print(f"{kind:<10} {row['passed']:>3} / {row['asked']:<3} {row['accuracy']:.0%}")
    err.print(f"written: {target / 'eval.md'}, {target / 'eval.png'}, {target / 'misses.md'}")


SCORED_SETS = {
    "": ("on the held-out test split", "test rows", ""),
    "_unseen": ("on hand-written requests that no data generator makes", "requests", "hand-written requests"),
    "_val": ("on the validation split", "validation rows", "validation split"),
}
"""Per scored set (keyed by its details-file suffix): where the table's title says it was scored, what its
rows are, and the chart's note."""


def _write(results: dict, counts: dict[str, int], target: Path, as_json: bool, err, suffix: str = "") -> None:  # noqa: ANN001
    """eval.json, eval.md and eval.png in `target`, titled for the scored set `suffix` names (see SCORED_SETS)
    and for what was scored: the adapter alone, or the adapter beside the base model."""
    from rich.console import Console

    from agentgraph.finetune.evaluate import markdown_table
    from agentgraph.finetune.plots import plot_eval

    target.mkdir(parents=True, exist_ok=True)
    (target / "eval.json").write_text(json.dumps({**results, TEST_ROWS: counts}, indent=2) + "\n")
    where, rows_label, chart_note = SCORED_SETS[suffix]
    compared = "adapter vs base" if any("base" in result for result in results.values()) else "adapter"
    title, chart_title = f"{compared.capitalize()} {where}", ", ".join(filter(None, (compared, chart_note)))
    table = markdown_table(results, counts, rows_label=rows_label)
    (target / "eval.md").write_text(f"# {title}\n\n{table}")
    plot_eval(results, target / "eval.png", title=chart_title)
    if as_json:
        typer.echo(json.dumps(results))
    else:
        Console(highlight=False).print(table)
        err.print(f"written: {target / 'eval.json'}, {target / 'eval.md'}, {target / 'eval.png'}")


def _eval_agent(settings, reference: str, out: Path | None, limit: int | None, as_json: bool) -> None:  # noqa: ANN001
    """`agentgraph eval --agent MODULE:SPEC`: exact calls on the held-out examples -> adapters/NAME/eval.{json,md}."""
    from agentgraph.finetune.custom import eval_agent, load_agent
    from agentgraph.serving.runtime import ensure_server

    ensure_server(settings, show_progress=not as_json)
    results = eval_agent(reference, settings, limit=limit)
    target = out or Path(settings.registry_path).parent / load_agent(reference).adapter_name
    target.mkdir(parents=True, exist_ok=True)
    (target / "eval.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [f"# {results['agent']}: exact calls on {results['rows']} held-out rows", "", "| model | call_exact |", "|---|---|"]
    lines += [f"| {model} | {entry['call_exact']}% ({entry['right']}/{results['rows']}) |" for model, entry in results["models"].items()]
    (target / "eval.md").write_text("\n".join(lines) + "\n")
    summary = {model: entry["call_exact"] for model, entry in results["models"].items()}
    typer.echo(json.dumps(summary) if as_json else "\n".join(lines))


def register(app: typer.Typer) -> None:
    """Add the `eval` command."""
    app.command("eval")(eval_command)
