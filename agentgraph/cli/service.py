"""`agentgraph service`: the HTTP service (agentgraph.service) in N uvicorn worker processes."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the service command to `app`."""
    app.command("service")(service)


def service(
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes (default: service.workers); more than one needs PostgreSQL."
    ),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Port (default: service.port)."),
    host: str | None = typer.Option(None, "--host", help="Interface (default: service.host; 0.0.0.0 for all)."),
    graph: str | None = typer.Option(
        None, "--graph", help="Graph builder `module:function` or `file.py:function` (default: graph.builder)."
    ),
    upgrade: bool = typer.Option(True, "--upgrade/--no-upgrade", help="Migrate the database schema before the workers start."),
) -> None:
    """Serve the graph over HTTP: threads, runs, state and history, from N worker processes."""
    import os

    import uvicorn

    from agentgraph.db import redact
    from agentgraph.db import upgrade as upgrade_schema
    from agentgraph.db.engine import is_sqlite
    from agentgraph.errors import ConfigError
    from agentgraph.loading import load_builder
    from agentgraph.settings import get_settings

    settings = get_settings()
    if graph is not None:
        load_builder(graph)  # a wrong reference fails here, once, not in every worker
        # The workers are new processes that read their settings again: they get the graph this way.
        os.environ["AGENTGRAPH_GRAPH__BUILDER"] = graph
        get_settings.cache_clear()
        settings = get_settings()
    count = workers or settings.service.workers
    if count > 1 and is_sqlite(settings.database_url):
        raise ConfigError(
            f"{count} workers need a database they can share: set database_url to PostgreSQL "
            "(AGENTGRAPH_DATABASE_URL=postgresql://USER@HOST/DB), or run one worker on SQLite"
        )
    if upgrade:
        upgrade_schema(settings.database_url)
    bind_host, bind_port = host or settings.service.host, port or settings.service.port
    typer.echo(
        f"agentgraph service: {count} worker(s) on http://{bind_host}:{bind_port}, "
        f"database {redact(settings.database_url)}, model servers {', '.join(settings.server.urls)}",
        err=True,
    )
    uvicorn.run(
        "agentgraph.service:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=count,
        timeout_graceful_shutdown=int(settings.service.shutdown_timeout_s),
        log_level="info",
        access_log=False,
    )
