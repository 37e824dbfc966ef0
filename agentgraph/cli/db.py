"""`agentgraph db`: migrate the store's database, show its schema revision, prune old checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the CLI."""
    db = typer.Typer(help="The checkpoint and memory store database (settings: database_url).", no_args_is_help=True)

    @db.command()
    def upgrade() -> None:
        """Create or migrate the tables to the latest schema (Alembic upgrade head)."""
        from rich.console import Console

        from agentgraph.db import current, redact
        from agentgraph.db import upgrade as run_upgrade
        from agentgraph.settings import get_settings

        url = get_settings().database_url
        run_upgrade(url)
        Console().print(f"{redact(url)} is at revision {', '.join(current(url))}", highlight=False, soft_wrap=True)

    @db.command("current")
    def current_revision() -> None:
        """Show the schema revision of the database and whether it needs an upgrade."""
        from rich.console import Console

        from agentgraph.db import current, head_revisions, redact
        from agentgraph.settings import get_settings

        url = get_settings().database_url
        found, expected = current(url), head_revisions()
        state = "up to date" if found == expected else "needs `agentgraph db upgrade`"
        shown = ", ".join(found) or "none (empty database)"
        Console().print(f"{redact(url)}: revision {shown}; latest {', '.join(expected)} ({state})", highlight=False, soft_wrap=True)
        if found != expected:
            raise typer.Exit(1)

    @db.command()
    def prune(
        keep_last: int | None = typer.Option(
            None, "--keep-last", min=1, help="Keep the N newest checkpoints of each thread and namespace."
        ),
        older_than: float | None = typer.Option(
            None,
            "--older-than",
            min=0,
            help="Remove checkpoints older than DAYS days (the newest of each thread and namespace is kept).",
        ),
        thread: str | None = typer.Option(None, "--thread", help="Only this thread ID."),
        export: Path | None = typer.Option(None, "--export", help="Append every removed checkpoint to this JSONL file before deleting it."),
    ) -> None:
        """Remove old checkpoints (and the values only they used), optionally exporting them first."""
        from rich.console import Console

        from agentgraph.checkpoint.retention import prune_database, retention_for
        from agentgraph.settings import get_settings

        if (keep_last is None) == (older_than is None):
            raise typer.BadParameter("give exactly one of --keep-last N and --older-than DAYS")
        result = prune_database(get_settings().database_url, retention_for(keep_last, older_than), thread_id=thread, export=export)
        line = (
            f"removed {result.checkpoints} checkpoints, {result.writes} writes and {result.blobs} stored values "
            f"from {result.threads} threads"
        )
        if export is not None:
            line += f"; exported {result.exported} checkpoints to {export}"
        Console().print(line, highlight=False, soft_wrap=True)

    app.add_typer(db, name="db")
