"""Reading training rows from JSONL files made elsewhere (`agentgraph traces export`, hand-written files),
each checked against ms-swift's agent format so a bad row is named before a training run starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentgraph.errors import AgentgraphError

ROLES = ("system", "user", "assistant", "tool_call", "tool_response")
LEARNT = ("assistant", "tool_call")


class RowError(AgentgraphError):
    """A row file that is missing, unreadable or not in ms-swift's agent format."""


def row_problem(row: Any, need: str | None = None) -> str | None:
    """What makes `row` unusable as an ms-swift agent row (with the `need` key, e.g. `label`); None when usable."""
    if not isinstance(row, dict):
        return f"a {type(row).__name__}, not a JSON object"
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        return "no 'messages' list"
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            return f"message {position} needs a role ({', '.join(ROLES)}) and a text content"
        if message["role"] == "tool_call" and not _is_call(message["content"]):
            return f"message {position} (tool_call) is not JSON with 'name' and 'arguments'"
    if not any(message["role"] in LEARNT for message in messages):
        return "no assistant or tool_call message to learn"
    tools = row.get("tools")
    if tools is not None and not isinstance(_decoded(tools), list):
        return "'tools' is not a list of tool schemas (or that list as a JSON string)"
    if need is not None and need not in row:
        return f"no {need!r}"
    return None


def read_rows(path: Path, need: str | None = None) -> list[dict[str, Any]]:
    """The rows of a JSONL file; RowError naming the file and line of the first bad one."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RowError(f"cannot read rows from {path}: {exc}") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise RowError(f"{path}:{number}: not JSON ({exc})") from exc
        problem = row_problem(row, need)
        if problem:
            raise RowError(f"{path}:{number}: {problem}")
        rows.append(row)
    if not rows:
        raise RowError(f"{path} has no rows")
    return rows


def _decoded(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


def _is_call(content: str) -> bool:
    call = _decoded(content)
    return isinstance(call, dict) and isinstance(call.get("name"), str) and isinstance(call.get("arguments"), (dict, str))
