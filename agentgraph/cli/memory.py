"""`agentgraph memory list | forget`: the facts a user asked the agents to remember, across threads."""

from __future__ import annotations

import json

import typer

from agentgraph.errors import AgentgraphError

USER_OPTION = typer.Option(None, "--user", help="The user (default: graph.default_user, the user of CLI threads).")


def register(app: typer.Typer) -> None:
    """Add the `memory` command group to the CLI."""
    memory = typer.Typer(help="A user's memories, shared by all of that user's threads (settings: database_url).", no_args_is_help=True)
    memory.command("list")(list_command)
    memory.command("forget")(forget_command)
    app.add_typer(memory, name="memory")


def _user(user: str | None) -> str:
    from agentgraph.settings import get_settings

    if user is not None and not user.strip():
        raise AgentgraphError("--user is empty: give a user id")
    return user if user is not None else get_settings().graph.default_user


def list_command(
    user: str | None = USER_OPTION,
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list of {id, text, created_at}."),
) -> None:
    """List a user's memories, oldest first."""
    from rich.console import Console
    from rich.table import Table

    from agentgraph.memory import list_memories
    from agentgraph.runtime import open_store

    who = _user(user)
    with open_store() as store:
        memories = list_memories(store, who)
    if json_out:
        typer.echo(json.dumps([{"id": m.id, "text": m.text, "created_at": m.created_at.isoformat()} for m in memories]))
        return
    table = Table("id", "remembered", "fact", title=f"memories of {who}")
    for m in memories:
        table.add_row(m.id, m.created_at.isoformat(timespec="seconds"), m.text)
    Console().print(table if memories else f"no memories of user {who!r}")


def forget_command(
    memory_id: str | None = typer.Argument(None, help="The memory's id (see `agentgraph memory list`)."),
    forget_all: bool = typer.Option(False, "--all", help="Forget all of the user's memories."),
    user: str | None = USER_OPTION,
) -> None:
    """Forget one memory of a user, or all of them."""
    from agentgraph.memory import forget
    from agentgraph.memory import forget_all as forget_everything
    from agentgraph.runtime import open_store

    if (memory_id is None) == (not forget_all):
        raise AgentgraphError("give exactly one of a memory id and --all")
    who = _user(user)
    with open_store() as store:
        if forget_all:
            count = forget_everything(store, who)
            typer.echo(f"forgot {count} memor{'y' if count == 1 else 'ies'} of user {who!r}")
            return
        if not forget(store, who, memory_id):  # type: ignore[arg-type]
            raise AgentgraphError(f"user {who!r} has no memory {memory_id!r}: `agentgraph memory list --user {who}` lists them")
    typer.echo(f"forgot memory {memory_id} of user {who!r}")
