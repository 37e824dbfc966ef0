"""The state the supervisor and its agents share, with reducers that merge parallel branches.

Every value is a plain dict, list, str or int (or a LangChain message), so a checkpoint restores
exactly what was written: no custom class is silently turned into a dict on the way back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, NotRequired, TypedDict, get_args, get_origin, get_type_hints

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.types import Overwrite

__all__ = [
    "AgentInput",
    "AgentResult",
    "Budget",
    "extend",
    "extend_unique",
    "GraphState",
    "merge_dicts",
    "merge_plan",
    "QUESTION_FIELDS",
    "question_start",
    "Subtask",
    "SubtaskStatus",
    "THREAD_FIELDS",
    "ToolCallRecord",
    "Transcript",
    "Usage",
]

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
    needs: NotRequired[list[str]]
    """Ids of the subtasks whose results this one needs: it runs after them, with their answers as facts."""
    given: NotRequired[list[str]]
    """Facts given when the plan was made: the thread's previous answer, for a task that needs the
    conversation, and the user's memories relevant to the question."""


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
    statement: NotRequired[str]
    """The answer as a statement that stands alone ("17% of 2400 is 408."): what the agents after it read."""
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


THREAD_FIELDS: frozenset[str] = frozenset({"messages"})
"""Fields of `GraphState` that hold across a thread's questions; every other field describes one question."""

QUESTION_FIELDS: tuple[str, ...] = tuple(name for name in GraphState.__annotations__ if name not in THREAD_FIELDS)
"""Fields of `GraphState` that describe one question and are cleared when the next question starts."""


def question_start(run_id: str) -> dict[str, Any]:
    """The state update that starts a question: every field of `QUESTION_FIELDS` emptied (a field with a
    reducer is overwritten, not merged), and `run_id` as the new run's id."""
    hints = get_type_hints(GraphState, include_extras=True)
    update: dict[str, Any] = {}
    for name in QUESTION_FIELDS:
        kind, merged = _field_type(hints[name])
        empty = kind()
        update[name] = Overwrite(empty) if merged else empty
    update["run_id"] = run_id
    return update


def _field_type(hint: Any) -> tuple[type, bool]:
    """The plain type of a `GraphState` field (list, dict, str, int) and whether it has a reducer."""
    merged = False
    while get_origin(hint) in (NotRequired, Annotated):
        merged = merged or get_origin(hint) is Annotated
        hint = get_args(hint)[0]
    return get_origin(hint) or hint, merged
