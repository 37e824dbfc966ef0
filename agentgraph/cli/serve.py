"""`agentgraph serve`: the vLLM server with the base model and every registered adapter."""

from __future__ import annotations

import typer


def serve(
    stop: bool = typer.Option(False, "--stop", help="Stop the server agentgraph started."),
    url: str | None = typer.Option(None, "--url", help="Attach to a server already running at this URL."),
    port: int | None = typer.Option(None, "--port", help="Listen on this port instead of server.port."),
) -> None:
    """Start (or reuse) the vLLM server, wait until it is ready and print its URL."""
    from agentgraph.serving.runtime import ensure_server
    from agentgraph.serving.server import attach_server, stop_server
    from agentgraph.settings import get_settings

    settings = get_settings()
    if stop:
        stopped = stop_server(settings)
        typer.echo(f"stopped the server at {stopped.url}" if stopped else "no server was running")
        return
    if url is not None:
        from agentgraph.serving.registry import AdapterRegistry

        names = list(AdapterRegistry.load(settings.registry_path).entries)
        info = attach_server(settings, url, names)
    else:
        info = ensure_server(settings, port=port)
    typer.echo(f"serving {', '.join(info.models)} at {info.url}")


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""
    app.command("serve")(serve)
