"""The state the supervisor and its agents share, with reducers that merge parallel branches.

Every value is a plain dict, list, str or int (or a LangChain message), so a checkpoint restores
exactly what was written: no custom class is silently turned into a dict on the way back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

SubtaskStatus = Literal["pending", "done", "failed"]


class Subtask(TypedDict):
    """One handoff of the router: which agent does what."""

    id: str
    """Unique within a question: `<agent>-<n>`; the key of this subtask's result and transcript."""
    agent: str
    task: str
    status: SubtaskStatus
    call_id: str
    """Id of the router's `transfer_to_<agent>` tool call that created this subtask."""


class ToolCallRecord(TypedDict):
    """A tool call an agent made, and whether it ran."""

    name: str
    args: dict
    id: str
    status: Literal["success", "error"]
    outcome: NotRequired[str]
    """As in the tool audit: ok, error, refused, rejected or limit."""


class Usage(TypedDict):
    """What a node used: steps (model turns and tool rounds), model requests, tokens, running seconds."""

    steps: int
    model_calls: int
    tokens: int
    seconds: float


class Budget(TypedDict, total=False):
    """What an agent may still use of its run's limits; a missing entry is not limited."""

    steps: int
    model_calls: int
    tokens: int
    seconds: float
    parts: int
    """How many agents share the run's remaining limits (they run at the same time)."""


class AgentResult(TypedDict):
    """What one agent produced for one subtask."""

    agent: str
    task: str
    answer: str
    tool_calls: list[ToolCallRecord]
    citations: list[str]
    model: str
    """The served model that answered: the agent's adapter, or `base` after a fallback."""
    fell_back: bool
    error: str | None


class Transcript(TypedDict):
    """An agent's own conversation for one subtask, kept apart from the supervisor's messages."""

    agent: str
    node: str
    model: str
    messages: list[AnyMessage]


def merge_plan(current: Sequence[Subtask] | None, update: Sequence[Subtask] | None) -> list[Subtask]:
    """Subtasks with the same id are replaced (status changes), new ones are appended in order."""
    merged = {task["id"]: task for task in current or ()}
    for task in update or ():
        merged[task["id"]] = {**merged.get(task["id"], {}), **task}  # type: ignore[typeddict-item]
    return list(merged.values())


def merge_dicts(current: Mapping | None, update: Mapping | None) -> dict:
    """Union of two dicts; keys written by parallel branches are distinct, later writes win."""
    return {**(current or {}), **(update or {})}


def extend_unique(current: Sequence[str] | None, update: Sequence[str] | None) -> list[str]:
    """`current` followed by the new items of `update`, without repeats, order kept."""
    return list(dict.fromkeys([*(current or ()), *(update or ())]))


def extend(current: Sequence[str] | None, update: Sequence[str] | None) -> list[str]:
    """`current` followed by `update`."""
    return [*(current or ()), *(update or ())]


class GraphState(TypedDict):
    """The supervisor graph's state; agents write only through the reducers below."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: questions, the router's handoffs with their tool replies, final answers."""
    plan: NotRequired[Annotated[list[Subtask], merge_plan]]
    results: NotRequired[Annotated[dict[str, AgentResult], merge_dicts]]
    """Per-subtask results, keyed by subtask id."""
    transcripts: NotRequired[Annotated[dict[str, Transcript], merge_dicts]]
    """Per-subtask agent conversations, keyed by subtask id (each model turn attributed to its agent)."""
    citations: NotRequired[Annotated[list[str], extend_unique]]
    answer: NotRequired[str]
    handoffs: NotRequired[int]
    """Handoffs accepted for the current question."""
    errors: NotRequired[Annotated[list[str], extend]]
    fallbacks: NotRequired[Annotated[list[str], extend_unique]]
    """Nodes that ran on the base model because their adapter is not served."""
    run_id: NotRequired[str]
    """Identifies the current question's run (in the tool audit, across restarts)."""
    usage: NotRequired[Annotated[dict[str, Usage], merge_dicts]]
    """What the current run used, by node: `supervisor` and each subtask id."""


class AgentInput(TypedDict):
    """What the supervisor sends an agent: its subtask and, for agents that run last, the facts found."""

    subtask: Subtask
    facts: list[str]
    budget: NotRequired[Budget]
    """What the agent may use of the run's limits (unset: the whole of `policy.*`)."""
    run_id: NotRequired[str]


QUESTION_FIELDS: tuple[str, ...] = ("plan", "results", "transcripts", "citations", "errors", "fallbacks", "usage")
"""State fields that describe one question and are cleared when the next question starts."""
