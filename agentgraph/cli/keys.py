"""`agentgraph keys create | list | revoke`: the API keys of the HTTP service (stored hashed in the database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from agentgraph.apikeys import ApiKeys


def register(app: typer.Typer) -> None:
    """Add the `keys` command group to the CLI."""
    keys = typer.Typer(help="API keys of the HTTP service (settings: database_url).", no_args_is_help=True)
    keys.command("create")(create)
    keys.command("list")(list_keys)
    keys.command("revoke")(revoke)
    app.add_typer(keys, name="keys")


def create(
    name: str = typer.Option(..., "--name", help="A name for the key, unique (it appears in the tool audit)."),
    role: str = typer.Option(
        "user", "--role", help="user (its own threads), approver (also answers their approvals) or admin (every thread)."
    ),
    runs_per_minute: int | None = typer.Option(
        None, "--runs-per-minute", min=1, help="This key's limit of runs per minute (default: service.runs_per_minute)."
    ),
) -> None:
    """Create a key and print its token, once: only its hash is stored."""
    with _keys() as store:
        info, token = store.create(name, role, runs_per_minute)
    typer.echo(token)
    typer.echo(
        f"API key {info.name!r} ({info.role}, id {info.key_id}) created; the token above is not shown again. "
        "Send it as 'authorization: Bearer <token>'.",
        err=True,
    )


def list_keys() -> None:
    """List the keys: id, name, role, the start of the token, limit, created and revoked times."""
    with _keys() as store:
        infos = store.list_keys()
    if not infos:
        typer.echo("no API keys yet: agentgraph keys create --name NAME --role admin")
        return
    rows = [("id", "name", "role", "token", "runs/min", "created", "revoked")]
    for info in infos:
        rows.append(
            (
                info.key_id,
                info.name,
                info.role,
                info.prefix + "...",
                str(info.runs_per_minute) if info.runs_per_minute else "default",
                info.created_at.isoformat(timespec="seconds"),
                info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def revoke(name_or_id: str = typer.Argument(..., help="The key's name or id (see `agentgraph keys list`).")) -> None:
    """Revoke a key: the service refuses it from its next request on."""
    with _keys() as store:
        info, changed = store.revoke(name_or_id)
    typer.echo(f"API key {info.name!r} (id {info.key_id}) {'revoked' if changed else 'was revoked already'}")


@contextmanager
def _keys() -> Iterator[ApiKeys]:
    """The keys of the configured database (its schema must be current: `agentgraph db upgrade`)."""
    from agentgraph.apikeys import ApiKeys
    from agentgraph.db import check_schema, make_engine
    from agentgraph.settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        check_schema(engine)
        yield ApiKeys(engine)
    finally:
        engine.dispose()
