"""The `agentgraph` command line: one module per command group, each exposing `register(app)`.

Command modules import their heavy dependencies inside the commands, so `agentgraph --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = ("model", "serve", "db", "run", "ingest", "finetune", "traces", "eval", "service", "keys", "memory")

app = typer.Typer(
    name="agentgraph",
    help="Multi-agent LangGraph graphs on LoRA adapters served by one vLLM server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"agentgraph.cli.{name}").register(app)


_register_all()


def main() -> None:
    """Entry point of the `agentgraph` console script; known errors print as one clear line."""
    from rich.console import Console

    from agentgraph.errors import AgentgraphError

    try:
        app()
    except AgentgraphError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        raise SystemExit(1) from None
