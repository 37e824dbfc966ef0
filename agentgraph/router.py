"""The router's contract: handoff tools `transfer_to_<agent>(task)`, its system prompt, and the parser
that turns its reply into handoffs (or says why a call is not one).

The router is served as its own LoRA adapter, named `ROUTER_ADAPTER`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agentgraph.agent import AgentSpec

ROUTER_ADAPTER = "router"
HANDOFF_PREFIX = "transfer_to_"
CONVERSATION = "conversation"
"""A `needs` entry: the task needs the thread's previous answer (a follow-up such as "Email that to Sam.")."""

ROUTER_PROMPT = (
    "You are the router. Split the request into subtasks and hand each one to an agent with one "
    "transfer_to_<agent>(task=...) call per subtask. Write each task so it can be done alone."
)


class HandoffArgs(BaseModel):
    """Arguments of a handoff tool."""

    task: str = Field(description="The subtask for this agent, self-contained.")
    needs: list[str] = Field(
        default_factory=list,
        description=f"Agents whose results this task needs (it runs after them), or {CONVERSATION!r} for the previous answer.",
    )


@dataclass(frozen=True)
class Handoff:
    """A valid handoff: `agent` is to do `task`; `call_id` is the router's tool call id."""

    agent: str
    task: str
    call_id: str
    needs: tuple[str, ...] = ()
    """Agents named earlier in the same reply whose results this task needs."""


@dataclass(frozen=True)
class RejectedCall:
    """A call in the router's reply that is not a valid handoff, and why."""

    call_id: str
    name: str
    reason: str


def handoff_tool_name(agent: str) -> str:
    """The name of the tool that hands work to `agent`."""
    return f"{HANDOFF_PREFIX}{agent}"


def handoff_tools(agents: Sequence[AgentSpec]) -> list[BaseTool]:
    """One `transfer_to_<agent>(task)` tool per agent, described by the agent's description."""
    return [_handoff_tool(agent) for agent in agents]


def _handoff_tool(agent: AgentSpec) -> BaseTool:
    def transfer(task: str) -> str:
        return f"Transferred to {agent.name}."

    return StructuredTool.from_function(
        func=transfer,
        name=handoff_tool_name(agent.name),
        description=agent.description,
        args_schema=HandoffArgs,
    )


def parse_handoffs(message: AIMessage, agents: Iterable[str]) -> tuple[list[Handoff], list[RejectedCall]]:
    """The router reply's valid handoffs, in order, and its other calls with the reason each was refused.

    Every call of the reply (including calls whose arguments could not be parsed) appears in exactly
    one of the two lists.
    """
    known = set(agents)
    handoffs: list[Handoff] = []
    rejected: list[RejectedCall] = []
    for call in message.tool_calls:
        call_id, name, args = call.get("id") or "", call["name"], call.get("args") or {}
        agent = name.removeprefix(HANDOFF_PREFIX) if name.startswith(HANDOFF_PREFIX) else None
        task = args.get("task") if isinstance(args, dict) else None
        if agent not in known:
            allowed = ", ".join(handoff_tool_name(a) for a in sorted(known))
            rejected.append(RejectedCall(call_id, name, f"unknown agent or tool {name!r}; use one of: {allowed}"))
        elif not isinstance(task, str) or not task.strip():
            rejected.append(RejectedCall(call_id, name, f"{name} needs a non-empty string argument 'task'"))
        else:
            earlier = {h.agent for h in handoffs} | {CONVERSATION}
            needs = tuple(dict.fromkeys(n for n in _names(args.get("needs")) if n in earlier))
            handoffs.append(Handoff(agent, task.strip(), call_id, needs))
    for call in message.invalid_tool_calls:
        name = call.get("name") or "?"
        rejected.append(
            RejectedCall(call.get("id") or "", name, f"malformed call to {name!r}: {call.get('error') or 'arguments are not valid JSON'}")
        )
    return handoffs, rejected


def _names(value: object) -> list[str]:
    """Agent names of a `needs` argument: a list of names, or one name (prefixed or not); others ignored."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [n.strip().removeprefix(HANDOFF_PREFIX) for n in names if isinstance(n, str) and n.strip()]
