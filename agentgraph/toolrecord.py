"""What happened to one tool call, kept on the `ToolMessage` that answers it.

The runtime writes a `ToolCallOutcome` on every reply it makes (`with_record`); the answer's notes, the
agent's result, the tool audit, the trace export and training read it back (`record_of`). It is stored
as a plain dict under one `additional_kwargs` key, so it survives checkpoint serialization; replies
saved before the record existed carry its fields as separate keys and are read too.

The wording of the runtime's own refusals and failures is made here as well (`not_run`, `failed`), for
the one reader that has no record to go by: training rows in files, which carry only the text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import ToolMessage

from agentgraph.audit import OUTCOMES, Outcome

__all__ = [
    "RECORD_KEY",
    "ToolCallOutcome",
    "failed",
    "not_run",
    "record_of",
    "reports_failure",
    "with_record",
]

RECORD_KEY = "tool_call_outcome"
"""The `ToolMessage.additional_kwargs` key holding the call's record."""

_LEGACY_KEYS = ("outcome", "malformed", "note", "edited_args", "flagged")
"""The separate keys a reply carried before the record (checkpoints written by earlier versions)."""

_NOT_RUN = " was not run: "
_FAILED = " failed: "


@dataclass(frozen=True)
class ToolCallOutcome:
    """What happened to one tool call."""

    outcome: Outcome
    """As in the tool audit: ok, error, refused, rejected or limit."""
    malformed: bool = False
    """The model got the call wrong (unreadable, unknown tool, invalid arguments): a repair turn counts it."""
    note: bool = True
    """Whether a refused or limited call is stated in the answer."""
    edited_args: dict[str, Any] | None = None
    """The arguments a person gave in place of the model's, when the call ran with them."""
    flagged: tuple[str, ...] = field(default=())
    """Instruction-like text and control tokens removed from the result before the model saw it."""

    @property
    def ran_ok(self) -> bool:
        """Whether the tool ran and succeeded."""
        return self.outcome == "ok"


def record_of(reply: ToolMessage) -> ToolCallOutcome:
    """The record of `reply`; a reply without one is `ok` or `error` by its status."""
    kwargs = reply.additional_kwargs
    stored = kwargs.get(RECORD_KEY)
    if not isinstance(stored, Mapping):
        stored = {key: kwargs[key] for key in _LEGACY_KEYS if key in kwargs}  # saved before the record existed
    outcome = stored.get("outcome")
    edited = stored.get("edited_args")
    return ToolCallOutcome(
        outcome=outcome if outcome in OUTCOMES else ("error" if reply.status == "error" else "ok"),
        malformed=bool(stored.get("malformed", False)),
        note=bool(stored.get("note", True)),
        edited_args=dict(edited) if isinstance(edited, Mapping) else None,
        flagged=tuple(stored.get("flagged") or ()),
    )


def with_record(reply: ToolMessage, **changes: Any) -> ToolMessage:
    """`reply` with its record written, changed by `changes` (fields of `ToolCallOutcome`)."""
    record = dataclasses.replace(record_of(reply), **changes)
    stored = dataclasses.asdict(record)
    stored["flagged"] = list(record.flagged)
    reply.additional_kwargs[RECORD_KEY] = stored
    return reply


def not_run(tool: str, reason: str) -> str:
    """The reply text of a call the runtime did not run."""
    return f"{tool}{_NOT_RUN}{reason}"


def failed(tool: str, exc: BaseException) -> str:
    """The reply text of a call whose tool raised `exc`."""
    return f"{tool}{_FAILED}{type(exc).__name__}: {exc}"


def reports_failure(tool: str, text: str) -> bool:
    """Whether a tool response given only as text (a training row) reports a failed call: the tool's own
    error (`tool: ...`) or the runtime's (`not_run`, `failed`)."""
    text = text.strip()
    return text.startswith(f"{tool}: ") or (text.startswith(tool) and any(marker in text for marker in (_NOT_RUN, _FAILED)))
