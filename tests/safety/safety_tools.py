"""Side-effecting test tools: an outbox that records every e-mail it sends, and a ledger file that each call
appends one line to (so a call that runs twice shows)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool

from agentgraph.tool_policy import declare_tool


class Outbox:
    """`send_email(to, subject, body)`: side-effecting and sensitive; `sent` lists what it sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

        def send_email(to: str, subject: str, body: str) -> str:
            """Send an e-mail."""
            self.sent.append({"to": to, "subject": subject, "body": body})
            return f"sent to {to}"

        self.tool: BaseTool = declare_tool(StructuredTool.from_function(send_email), side_effect=True, sensitive=True)


class Ledger:
    """`record(text)`: appends `<tool call id>\\t<text>` to a file, once per call id when `idempotent`
    (it then dedupes on the id, as the framework may run a call cut off by a crash again), and logs every
    invocation to a second file."""

    def __init__(self, path: Path, *, idempotent: bool) -> None:
        self.path = Path(path)
        self.invocations = self.path.with_suffix(".invocations")

        def record(text: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
            """Record a line of text."""
            _append(self.invocations, f"{tool_call_id}\t{text}\n")
            if not (idempotent and self.path.exists() and f"{tool_call_id}\t" in self.path.read_text()):
                _append(self.path, f"{tool_call_id}\t{text}\n")
            return f"recorded {text}"

        self.tool: BaseTool = declare_tool(StructuredTool.from_function(record), side_effect=True, idempotent=idempotent)

    def lines(self) -> list[tuple[str, str]]:
        """(tool call id, text) of every recorded line."""
        return _read(self.path)

    def invoked(self) -> list[tuple[str, str]]:
        """(tool call id, text) of every invocation of the tool."""
        return _read(self.invocations)


def _append(path: Path, line: str) -> None:
    """One write of one line: a process killed around it leaves the line whole or absent."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _read(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split("\t", 1)) for line in path.read_text().splitlines()]  # type: ignore[misc]
