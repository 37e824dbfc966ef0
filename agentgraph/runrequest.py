"""The front door's rules for a run, shared by the CLI and the HTTP service.

A run request is a question, a person's decision on the approval a thread waits for, or neither (finish
the run that stopped). This module checks the question, holds the one `Decision` type, and turns a
request into the graph's input for a thread's latest state; the graph's own check of the question
(`question_problem`) lives here too, so both refuse a question with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.types import Command, StateSnapshot
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentgraph.errors import AgentgraphError
from agentgraph.threads import ThreadError, thread_status

__all__ = [
    "Decision",
    "InvalidRequestError",
    "ThreadConflictError",
    "checked_question",
    "parse_decision",
    "question_input",
    "question_problem",
    "resume_input",
    "run_input",
]


class InvalidRequestError(AgentgraphError):
    """The request cannot be run as given: an empty or too long question, a question and a decision."""


class ThreadConflictError(ThreadError):
    """The thread is not in the state the request needs (nothing to resume, no approval waiting)."""


class Decision(BaseModel):
    """A person's answer to the approval a thread waits for: run the call (perhaps with edited arguments) or not."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["approve", "reject"]
    args: dict[str, Any] | None = Field(default=None, description="With approve: the arguments to run the tool with.")

    @model_validator(mode="after")
    def _args_only_with_approve(self) -> Decision:
        if self.action == "reject" and self.args is not None:
            raise ValueError("edited arguments go with approve, not reject")
        return self

    def resume_value(self) -> dict[str, Any]:
        """The value the waiting interrupt is resumed with (read back by `parse_decision`)."""
        value: dict[str, Any] = {"action": self.action}
        if self.args is not None:
            value["args"] = dict(self.args)
        return value


def parse_decision(value: Any) -> Decision:
    """The decision an interrupt was resumed with; anything that is not a valid decision is a rejection."""
    if isinstance(value, Mapping) and value.get("action") in ("approve", "reject"):
        args = value.get("args")
        if value["action"] == "approve" and isinstance(args, Mapping):
            return Decision(action="approve", args=dict(args))
        return Decision(action=value["action"])
    return Decision(action="reject")


def _too_long(length: int, max_chars: int) -> str:
    return f"the question is {length} characters long, more than the limit of {max_chars} (policy.max_question_chars)"


def question_problem(messages: Sequence[AnyMessage], max_chars: int) -> str | None:
    """Why the conversation has no question to answer (none, empty, too long), or None."""
    if not messages or not isinstance(messages[-1], HumanMessage) or not messages[-1].text.strip():
        return "there is no question to answer: the last message must be a non-empty user message"
    length = len(messages[-1].text.strip())
    if length > max_chars:
        return _too_long(length, max_chars)
    return None


def checked_question(question: str, max_chars: int) -> str:
    """The question without surrounding blanks; InvalidRequestError when it is empty or too long."""
    stripped = question.strip()
    if not stripped:
        raise InvalidRequestError("the question is empty")
    if len(stripped) > max_chars:
        raise InvalidRequestError(_too_long(len(stripped), max_chars))
    return stripped


def question_input(question: str) -> dict[str, Any]:
    """The graph input that asks a (checked) question: a new user message on the thread."""
    return {"messages": [HumanMessage(question)]}


def resume_input(thread_id: str, state: StateSnapshot, decision: Decision | None = None) -> Command | None:
    """The graph input that continues a thread at `state`: the decision as the resume of the approval it
    waits for, or (no decision) None to finish its stopped run; ThreadConflictError when it cannot."""
    if decision is not None:
        if not state.interrupts:
            raise ThreadConflictError(f"thread {thread_id!r} is not waiting for an approval")
        return Command(resume={state.interrupts[0].id: decision.resume_value()})
    if not state.values.get("messages") and not state.next:
        raise ThreadConflictError(f"thread {thread_id!r} has no run to resume; ask it a question")
    status = thread_status(state)
    if status == "done":
        raise ThreadConflictError(f"thread {thread_id!r} has finished its run; ask it a new question")
    if status == "waiting":
        raise ThreadConflictError(f"thread {thread_id!r} is waiting for an approval: approve or reject it")
    return None


def run_input(thread_id: str, state: StateSnapshot, question: str | None = None, decision: Decision | None = None) -> Any:
    """The graph input of a request on a thread at `state`: `question_input` for a question, else
    `resume_input`; InvalidRequestError for a question and a decision together."""
    if question is not None and decision is not None:
        raise InvalidRequestError("give either a question or a resume decision, not both")
    if question is not None:
        return question_input(question)
    return resume_input(thread_id, state, decision)
