"""`agentgraph ingest DIR`: index a folder of .md, .txt and .pdf files for the retrieval agent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from agentgraph.retrieval import IngestReport


def ingest_command(
    directory: Path = typer.Argument(..., help="Folder of documents; source ids are paths relative to it."),
    collection: str | None = typer.Option(
        None, "--collection", "-c", help="Collection to fill (default: the retrieval.collection setting)."
    ),
    prune: bool = typer.Option(False, "--prune", help="Remove indexed files that are no longer in the folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Index documents into the configured database for the retrieval agent's `search` tool.

    Unchanged files are skipped and changed ones replaced; hidden files and symlinks leading out of the
    folder are not read. Files that cannot be read are listed at the end and the exit code is 1; the
    other files are still indexed.
    """
    import logging

    from rich.console import Console

    from agentgraph.retrieval import corpus_index_config, ingest
    from agentgraph.settings import get_settings
    from agentgraph.store import SQLAlchemyStore

    settings = get_settings()
    collection = collection or settings.retrieval.collection
    err = Console(stderr=True, highlight=False)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged PDFs are reported once, below
    out = Console(highlight=False)
    with SQLAlchemyStore.from_conn_string(settings.database_url, index=corpus_index_config()) as store:
        store.setup()
        with _RichProgress(err, visible=not quiet) as progress:
            report = ingest(store, directory, collection, prune=prune, progress=progress)
    _print_report(out, err, report)
    if not report.ok:
        raise typer.Exit(1)


class _RichProgress:
    """Shows ingest progress as rich progress bars (files, chunks, embedding), unless not `visible`."""

    LABELS = {"files": "reading files", "chunks": "chunks", "embedding": "embedding"}

    def __init__(self, console: Console, *, visible: bool = True) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not visible,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, stage: str, total: int | None) -> None:
        """A stage begins."""
        if stage == "embedding" and total:
            _quiet_model_loading()
        if stage in self._tasks:
            self._progress.update(self._tasks[stage], total=total)
        else:
            self._tasks[stage] = self._progress.add_task(self.LABELS.get(stage, stage), total=total)
        if stage == "embedding" and "chunks" in self._tasks:
            done = self._progress.tasks[self._tasks["chunks"]].completed
            self._progress.update(self._tasks["chunks"], total=done)

    def advance(self, stage: str, amount: int = 1) -> None:
        """A stage moved on."""
        if stage not in self._tasks:
            self.start(stage, None)
        self._progress.advance(self._tasks[stage], amount)


def _quiet_model_loading() -> None:
    """Keeps the model loader's own progress bar from breaking the rich display."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - a dependency of sentence-transformers
        return
    hf_logging.disable_progress_bar()


def _print_report(out: Console, err: Console, report: IngestReport) -> None:
    from rich.markup import escape

    counts = f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, {len(report.removed)} removed"
    out.print(f"collection [bold]{escape(report.collection)}[/]: {counts}")
    out.print(
        f"chunks: {report.chunks_written} written, {report.chunks_deleted} deleted; "
        f"now {report.total_files} files, {report.total_chunks} chunks"
    )
    for source in report.empty:
        err.print(f"[yellow]warning:[/] {escape(source)}: no text found (indexed with no chunks)", soft_wrap=True)
    if report.missing:
        listed = ", ".join(report.missing[:10]) + (" ..." if len(report.missing) > 10 else "")
        err.print(
            f"[yellow]note:[/] {len(report.missing)} indexed file(s) no longer in {escape(str(report.directory))} "
            f"are still searchable: {escape(listed)} (use --prune to remove them)",
            soft_wrap=True,
        )
    if report.failed:
        err.print(f"[bold red]{len(report.failed)} file(s) failed[/] (earlier versions, if any, stay indexed):")
        for source, reason in sorted(report.failed.items()):
            err.print(f"  {escape(source)}: {escape(reason)}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `ingest` command."""
    app.command("ingest")(ingest_command)
