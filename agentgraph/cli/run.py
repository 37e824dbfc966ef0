"""`agentgraph run | threads | history | fork | resume`: ask the graph, and inspect, branch or approve its threads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from agentgraph.errors import AgentgraphError
from agentgraph.loading import load_builder

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

GRAPH_OPTION = typer.Option(None, "--graph", help="Graph builder `module:function` or `file.py:function` (default: graph.builder).")
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object instead of the live view.")


def register(app: typer.Typer) -> None:
    """Add the run and thread commands to `app`."""
    app.command("run")(run)
    app.command("threads")(threads)
    app.command("history")(history)
    app.command("fork")(fork)
    app.command("resume")(resume)


def run(
    question: str | None = typer.Argument(None, help="The question; omit it with --thread to resume an unfinished thread."),
    thread: str | None = typer.Option(None, "--thread", help="Thread id: continue this conversation, or resume it."),
    json_out: bool = JSON_OPTION,
    graph: str | None = GRAPH_OPTION,
) -> None:
    """Ask the agents a question, streaming each agent's steps live."""
    import uuid

    from agentgraph.runrequest import checked_question, question_input, resume_input
    from agentgraph.settings import get_settings
    from agentgraph.threads import current_state

    if question is None and thread is None:
        raise AgentgraphError("give a question, or --thread ID to resume an unfinished thread")
    if question is not None:
        question = checked_question(question, get_settings().policy.max_question_chars)
    thread_id = thread or str(uuid.uuid4())
    with open_graph(graph) as compiled:
        if question is not None:
            _execute(compiled, question_input(question), thread_id, json_out)
            return
        _execute(compiled, resume_input(thread_id, current_state(compiled, thread_id)), thread_id, json_out)


def resume(
    thread_id: str = typer.Argument(..., help="The thread waiting for an approval."),
    approve: bool = typer.Option(False, "--approve", help="Run the tool call."),
    reject: bool = typer.Option(False, "--reject", help="Do not run it; the agent is told a person rejected it."),
    edit: str | None = typer.Option(None, "--edit", help="With --approve: the arguments to run it with, as a JSON object."),
    json_out: bool = JSON_OPTION,
    graph: str | None = GRAPH_OPTION,
) -> None:
    """Answer the approval a thread is waiting for, and continue the run."""
    from agentgraph.runrequest import Decision, resume_input
    from agentgraph.threads import current_state

    if approve == reject:
        raise AgentgraphError("give exactly one of --approve and --reject")
    args: dict[str, Any] | None = None
    if edit is not None:
        if reject:
            raise AgentgraphError("--edit goes with --approve")
        try:
            args = json.loads(edit)
        except json.JSONDecodeError as exc:
            raise AgentgraphError(f"--edit is not valid JSON: {exc}") from None
        if not isinstance(args, dict):
            raise AgentgraphError("--edit must be a JSON object of the tool's arguments")
    decision = Decision(action="approve" if approve else "reject", args=args)
    with open_graph(graph) as compiled:
        _execute(compiled, resume_input(thread_id, current_state(compiled, thread_id), decision), thread_id, json_out)


def threads(
    limit: int = typer.Option(20, "--limit", min=1, help="How many threads, newest first."),
    graph: str | None = GRAPH_OPTION,
) -> None:
    """List the most recent threads."""
    from rich.console import Console
    from rich.table import Table

    from agentgraph.threads import list_threads

    with open_graph(graph, with_saver=True) as (compiled, saver):
        infos = list_threads(compiled, saver, limit)
    table = Table("thread", "updated", "status", "checkpoints", "last question")
    for info in infos:
        table.add_row(info.thread_id, info.updated_at[:19], info.status, str(info.checkpoints), info.question[:60])
    Console().print(table if infos else "no threads yet")


def history(
    thread_id: str = typer.Argument(..., help="The thread."),
    json_out: bool = JSON_OPTION,
    graph: str | None = GRAPH_OPTION,
) -> None:
    """A thread's checkpoints, oldest first, with the node(s) that wrote each."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from agentgraph.threads import history as thread_history

    with open_graph(graph) as compiled:
        infos = thread_history(compiled, thread_id)
    if json_out:
        typer.echo(json.dumps([asdict(info) for info in infos], ensure_ascii=False))
        return
    table = Table("step", "written by", "next", "done")
    table.add_column("checkpoint", no_wrap=True, min_width=36)
    for info in infos:
        done = sum(entry.endswith((":done", ":failed")) for entry in info.plan)
        progress = f"{done}/{len(info.plan)}" if info.plan else ""
        table.add_row(str(info.step), ", ".join(info.written_by), ", ".join(info.next), progress, info.checkpoint_id)
    Console().print(table)


def fork(
    thread_id: str = typer.Argument(..., help="The thread to branch from."),
    checkpoint: str = typer.Option(..., "--checkpoint", help="The checkpoint to start the new thread at (see `history`)."),
) -> None:
    """Start a new thread at one checkpoint of another; prints the new thread's id."""
    from agentgraph.runtime import open_checkpointer
    from agentgraph.settings import get_settings
    from agentgraph.threads import fork_thread

    with open_checkpointer(get_settings()) as saver:
        typer.echo(fork_thread(saver, thread_id, checkpoint))


@contextmanager
def open_graph(reference: str | None, *, with_saver: bool = False) -> Iterator[Any]:
    """The configured graph on the configured saver and store (and the saver, if asked)."""
    from agentgraph.runtime import open_checkpointer, open_store
    from agentgraph.settings import get_settings

    settings = get_settings()
    builder = load_builder(reference or settings.graph.builder)
    with open_checkpointer(settings) as saver, open_store(settings) as store:
        compiled = builder(checkpointer=saver, store=store, settings=settings)
        yield (compiled, saver) if with_saver else compiled


def _execute(graph: CompiledStateGraph, payload: Any, thread_id: str, json_out: bool) -> None:
    """Run (or continue) a thread, live or silently, then print its outcome."""
    from rich.console import Console

    from agentgraph.threads import run_summary, thread_config

    config = thread_config(thread_id)
    console = Console()
    if json_out:
        for _ in graph.stream(payload, config, stream_mode="updates"):
            pass
    else:
        from agentgraph.cli.live import LiveView

        with LiveView(console) as view:
            for namespace, mode, data in graph.stream(payload, config, stream_mode=["updates", "messages"], subgraphs=True):
                view.handle(namespace, mode, data)
    state = graph.get_state(config)
    summary = run_summary(thread_id, state.values, state.interrupts)
    if json_out:
        typer.echo(json.dumps(summary, ensure_ascii=False, default=str))
        return
    if summary["interrupts"]:
        console.print(
            f"[yellow]waiting for approval[/]: agentgraph resume {thread_id} --approve [--edit JSON] | --reject",
            highlight=False,
        )
    console.print(f"thread: {thread_id}", highlight=False)
