"""`agentgraph traces export`: turn the stored runs into training rows for one agent."""

from __future__ import annotations

from pathlib import Path

import typer

traces_app = typer.Typer(help="Training data from the runs stored in the checkpoint store.", no_args_is_help=True)


@traces_app.command("export")
def export_command(
    agent: str = typer.Option(..., "--agent", help="router, math, retrieval, writing (or another agent's node name)."),
    fmt: str = typer.Option("swift", "--format", help="swift (SFT rows), kto (approval labels) or dpo (edited-call pairs)."),
    out: Path | None = typer.Option(None, "--out", help="JSONL file to write (default: standard output)."),
    thread: str | None = typer.Option(None, "--thread", help="Only this thread (default: every thread)."),
) -> None:
    """Write the agent's model turns from the stored runs as ms-swift rows (or KTO / DPO preference rows)."""
    from rich.console import Console

    from agentgraph.finetune.traces import export_rows, write_rows
    from agentgraph.runtime import open_checkpointer
    from agentgraph.settings import get_settings

    with open_checkpointer(get_settings()) as saver:
        rows = export_rows(saver, agent, fmt, thread_id=thread)
    text = write_rows(rows, out)
    if text is not None:
        typer.echo(text, nl=False)
    else:
        Console(stderr=True, highlight=False).print(f"{len(rows)} {fmt} rows for {agent} written to {out}")


def register(app: typer.Typer) -> None:
    """Add the `traces` command group."""
    app.add_typer(traces_app, name="traces")
