"""Where an agent's tool calls are checked and run: the allow-list, argument validation, untrusted
arguments, approvals, rate limits, idempotency records and the audit.

Every function here answers a tool call with exactly one `ToolMessage`; a refused call never runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from agentgraph.agent import AgentSpec
from agentgraph.audit import AuditEntry, AuditLog
from agentgraph.db.engine import redact
from agentgraph.db.shared import shared_engine
from agentgraph.idempotency import ToolResults
from agentgraph.runrequest import Decision, parse_decision  # noqa: F401 - the approval decision, read here by the agent node
from agentgraph.settings import PolicySettings
from agentgraph.threads import run_principal
from agentgraph.toolrecord import failed, not_run, record_of, with_record
from agentgraph.untrusted import borrowed_words, copied_passage, foreign_destinations, neutralise

__all__ = [
    "approval_request",
    "as_data",
    "CallContext",
    "calls_per_minute",
    "Concern",
    "declare_tool",
    "error_reply",
    "invalid_arguments",
    "refusal",
    "REJECTED_BY_PERSON",
    "run_tool",
    "ToolRunner",
    "ToolTraits",
    "traits",
    "untrusted_arguments",
]

log = logging.getLogger(__name__)

REJECTED_BY_PERSON = "rejected by a person"


def error_reply(call: Mapping[str, Any], text: str) -> ToolMessage:
    """The error `ToolMessage` answering `call`."""
    return ToolMessage(content=text, tool_call_id=call["id"], name=call.get("name") or "", status="error")


def refusal(spec: AgentSpec, call: Mapping[str, Any]) -> str | None:
    """Why `spec` may not run `call` as given (tool not on the allow-list, invalid arguments), or None."""
    tool = spec.tool(call["name"])
    if tool is None:
        allowed = ", ".join(t.name for t in spec.tools) or "none"
        return f"tool {call['name']!r} is not allowed for the {spec.name} agent; allowed tools: {allowed}"
    problem = invalid_arguments(tool, call.get("args"))
    return f"invalid arguments for {tool.name}: {problem}" if problem else None


def invalid_arguments(tool: BaseTool, args: Any) -> str | None:
    """What is wrong with `args` for `tool`'s schema, or None when they validate."""
    if not isinstance(args, dict):
        return f"arguments must be an object, got {type(args).__name__}"
    schema = tool.tool_call_schema  # the arguments the model gives: without those the framework injects
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
    elif isinstance(schema, dict):
        import jsonschema

        try:
            jsonschema.validate(args, schema)
        except jsonschema.ValidationError as exc:
            return exc.message
    return None


def run_tool(tool: BaseTool, call: Mapping[str, Any]) -> ToolMessage:
    """Run an allowed, validated call; a failure of the tool becomes an error `ToolMessage`."""
    tool_call = ToolCall(name=tool.name, args=dict(call["args"]), id=call["id"], type="tool_call")
    try:
        reply = tool.invoke(tool_call)
    except Exception as exc:  # a broken tool must not end the run: the model sees the failure
        return error_reply(call, failed(tool.name, exc))
    if isinstance(reply, ToolMessage):
        return reply
    return ToolMessage(content=str(reply), tool_call_id=call["id"], name=tool.name)


def approval_request(agent: str, subtask: str, call: Mapping[str, Any], reason: str | None = None) -> dict:
    """The value an approval interrupt carries: which agent wants to run which tool with which arguments,
    and why a person is asked (when it is not simply a tool that always needs approval)."""
    request = {"agent": agent, "subtask": subtask, "tool": call["name"], "args": dict(call["args"]), "tool_call_id": call["id"]}
    if reason:
        request["reason"] = reason
    return request


# -- what a tool declares about itself ------------------------------------------------------------


@dataclass(frozen=True)
class ToolTraits:
    """What a tool declares about itself (in its `metadata`), which decides how carefully it is run."""

    side_effect: bool = False
    """It changes something outside the run (sends, writes, pays): it gets an idempotency record, and its
    arguments are checked for content taken from tool results."""
    sensitive: bool = False
    """Data given to it leaves the system: its arguments are checked for content taken from tool results."""
    idempotent: bool = False
    """Running it again with the same tool call id has no further effect (it dedupes on the id), so a call
    cut off by a crash may be run again."""
    memory_write: bool = False
    """It writes the user's long-term memory: a call whose arguments copy text from tool results or from facts
    given to the agent (`policy.memory_copied_words` words in a row, a short argument whole, or any word only
    that text uses, not the task) is always refused, whatever `policy.untrusted_copies` says."""

    @property
    def guarded(self) -> bool:
        """Whether its arguments must not come from untrusted content."""
        return self.side_effect or self.sensitive or self.memory_write


def declare_tool(
    tool: BaseTool, *, side_effect: bool = False, sensitive: bool = False, idempotent: bool = False, memory_write: bool = False
) -> BaseTool:
    """Record `tool`'s traits in its metadata; returns the tool."""
    declared = {"side_effect": side_effect, "sensitive": sensitive, "idempotent": idempotent, "memory_write": memory_write}
    tool.metadata = {**(tool.metadata or {}), **declared}
    return tool


def traits(tool: BaseTool) -> ToolTraits:
    """The traits `tool` declares (none: an ordinary read-only tool)."""
    meta = tool.metadata or {}
    return ToolTraits(
        bool(meta.get("side_effect")), bool(meta.get("sensitive")), bool(meta.get("idempotent")), bool(meta.get("memory_write"))
    )


# -- arguments taken from untrusted content ---------------------------------------------------------


@dataclass(frozen=True)
class Concern:
    """Why a call's arguments look taken from untrusted content, and whether to refuse it or ask a person."""

    action: Literal["refuse", "approve"]
    reason: str


def untrusted_arguments(
    tool: BaseTool, args: Mapping[str, Any], *, trusted: str, untrusted: Sequence[str], policy: PolicySettings
) -> Concern | None:
    """A concern about `args` of a guarded tool: addresses or links the trusted text (task, instructions)
    does not name, or a passage copied from untrusted text (tool results, other agents' answers). A memory
    write that copies untrusted text is always refused."""
    if not traits(tool).guarded:
        return None
    if traits(tool).memory_write and (taken := _memory_copy(args, untrusted, trusted, policy)):
        reason = f"{tool.name} was called with {taken}; memory keeps only what the user said, never content from documents or tools"
        return Concern("refuse", reason)
    if foreign := foreign_destinations(args, trusted):
        reason = (
            f"{tool.name} was called with {', '.join(foreign)}, which the task does not name; addresses and links "
            f"for {tool.name} must come from the user, not from documents or tool results"
        )
        return Concern(policy.untrusted_destinations, reason)
    if policy.untrusted_copies != "allow" and (copied := copied_passage(args, untrusted, trusted, policy.copied_words)):
        reason = f'{tool.name} was called with text copied from tool results ("{copied} ...")'
        return Concern(policy.untrusted_copies, reason)
    return None


def _memory_copy(args: Mapping[str, Any], untrusted: Sequence[str], trusted: str, policy: PolicySettings) -> str | None:
    """What a memory write's arguments took from untrusted text: a copied passage, or words only that text uses."""
    if copied := copied_passage(args, untrusted, trusted, policy.memory_copied_words, short=True):
        return f'text copied from tool results or facts given to the agent ("{copied}")'
    if words := borrowed_words(args, untrusted, trusted):
        return f"words that tool results or facts given to the agent use and the task does not ({', '.join(words)})"
    return None


def as_data(reply: ToolMessage) -> ToolMessage:
    """`reply` as it is shown to the model: control tokens and instruction-like sentences removed; what was
    removed is kept in its record (`ToolCallOutcome.flagged`)."""
    if not isinstance(reply.content, str):
        return reply
    cleaned = neutralise(reply.content)
    if not cleaned.flagged:
        return reply
    shown = reply.model_copy(update={"content": cleaned.text, "additional_kwargs": dict(reply.additional_kwargs)})
    return with_record(shown, flagged=cleaned.findings)


# -- running a call: rate limit, idempotency, audit ---------------------------------------------------


def calls_per_minute(spec: AgentSpec, policy: PolicySettings, tool: str) -> int | None:
    """The rate limit of `tool` for `spec` (calls per minute per thread), or None."""
    if tool in spec.limits.calls_per_minute:
        return spec.limits.calls_per_minute[tool]
    return policy.tool_rate_limits.get(tool, policy.tool_calls_per_minute)


def _principal_of_run() -> str | None:
    """The principal of the run being executed (None outside a run or the HTTP service)."""
    from langgraph.config import get_config

    try:
        return run_principal(get_config())
    except RuntimeError:  # not called from within a run
        return None


@dataclass(frozen=True)
class CallContext:
    """Where a tool call is made: which run, thread, agent and subtask, on whose request."""

    run_id: str | None
    thread_id: str | None
    agent: str
    subtask: str | None
    principal: str | None = field(default_factory=_principal_of_run)


class ToolRunner:
    """Runs an agent's allowed calls: rate limit, idempotency record, the tool, audit row.

    The audit and the records live in the database of `database_url`, opened on first use. An audit row
    that cannot be written is logged and the run goes on; a side-effecting call whose record cannot be
    written is not run (it could otherwise run twice after a crash).
    """

    def __init__(self, spec: AgentSpec, policy: PolicySettings, database_url: str) -> None:
        self.spec = spec
        self.policy = policy
        self.database_url = database_url

    def _engine(self) -> Engine | None:
        try:
            return shared_engine(self.database_url)
        except Exception as exc:
            log.warning("tool audit and idempotency records unavailable (%s): %s", redact(self.database_url), exc)
            return None

    def audit(
        self,
        call: Mapping[str, Any],
        context: CallContext,
        reply: ToolMessage,
        started: datetime,
        seconds: float = 0.0,
        replayed: bool = False,
    ) -> None:
        """Write the audit row of `call`, answered by `reply`."""
        engine = self._engine()
        if engine is None:
            return
        outcome = record_of(reply).outcome
        AuditLog(engine).write(
            AuditEntry(
                run_id=context.run_id,
                thread_id=context.thread_id,
                agent=context.agent,
                subtask=context.subtask,
                tool=call.get("name") or "",
                tool_call_id=call["id"],
                arguments=call.get("args"),
                outcome=outcome,
                error=reply.text if outcome != "ok" else None,
                started_at=started,
                duration_ms=seconds * 1000,
                replayed=replayed,
                principal=context.principal,
            )
        )

    def execute(self, tool: BaseTool, call: Mapping[str, Any], context: CallContext) -> ToolMessage:
        """Run an allowed, validated, approved call once, and audit it."""
        started, clock = datetime.now(UTC), time.monotonic()
        engine = self._engine()
        reply, replayed = self._run(tool, call, context, engine)
        self.audit(call, context, reply, started, time.monotonic() - clock, replayed)
        return reply

    def _run(self, tool: BaseTool, call: Mapping[str, Any], context: CallContext, engine: Engine | None) -> tuple[ToolMessage, bool]:
        recorded = traits(tool).side_effect and context.thread_id is not None
        if recorded and engine is not None and (done := self._recorded(engine, context, call)) is not None:
            return done, True
        if (limited := self._rate_limited(tool.name, context, engine)) is not None:
            return with_record(error_reply(call, limited), outcome="limit"), False
        if not recorded:
            return run_tool(tool, call), False
        if engine is None:
            text = not_run(tool.name, "its idempotency record cannot be written (database unavailable)")
            return with_record(error_reply(call, text), outcome="error"), False
        results = ToolResults(engine)
        try:
            claim = results.claim(context.thread_id, call["id"], tool.name, call["args"])  # type: ignore[arg-type]
        except Exception as exc:
            log.warning("idempotency record of %s not written: %s", call["id"], exc)
            text = not_run(tool.name, f"its idempotency record could not be written ({type(exc).__name__})")
            return with_record(error_reply(call, text), outcome="error"), False
        if claim.result is not None:
            return _replay(call, claim.result), True
        if claim.in_doubt and not traits(tool).idempotent:
            reply = error_reply(
                call,
                f"{tool.name} may already have run: the worker stopped while it was running and no result was recorded; "
                "it was not run again (check its effect before retrying)",
            )
        else:
            reply = run_tool(tool, call)
        try:
            results.record(context.thread_id, call["id"], reply.content, reply.status)  # type: ignore[arg-type]
        except Exception as exc:
            log.warning("result of %s %s not recorded: %s", tool.name, call["id"], exc)
        return reply, False

    @staticmethod
    def _recorded(engine: Engine, context: CallContext, call: Mapping[str, Any]) -> ToolMessage | None:
        try:
            record = ToolResults(engine).get(context.thread_id, call["id"])  # type: ignore[arg-type]
        except Exception as exc:
            log.warning("idempotency record of %s not read: %s", call["id"], exc)
            return None
        return _replay(call, record["result"]) if record and record["status"] == "done" else None

    def _rate_limited(self, tool: str, context: CallContext, engine: Engine | None) -> str | None:
        limit = calls_per_minute(self.spec, self.policy, tool)
        if limit is None or engine is None or not context.thread_id:
            return None
        try:
            recent = AuditLog(engine).recent_calls(context.thread_id, tool, timedelta(minutes=1))
        except Exception as exc:
            log.warning("rate limit of %s not checked: %s", tool, exc)
            return None
        if recent < limit:
            return None
        source = (
            "the agent's limits"
            if tool in self.spec.limits.calls_per_minute
            else ("policy.tool_rate_limits" if tool in self.policy.tool_rate_limits else "policy.tool_calls_per_minute")
        )
        return not_run(tool, f"its limit of {limit} calls per minute in this thread was reached ({source})")


def _replay(call: Mapping[str, Any], result: Mapping[str, Any]) -> ToolMessage:
    """The reply a recorded call gave, answering `call` again."""
    return ToolMessage(
        content=result.get("content", ""), tool_call_id=call["id"], name=call["name"], status=result.get("status", "success")
    )
