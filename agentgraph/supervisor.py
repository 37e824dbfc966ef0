"""The supervisor: the router adapter plans the question as handoffs, agents run, the answer is composed.

Flow for one question: `supervisor` (router turn, bounded retries, every handoff call answered)
-> the independent agents in parallel (`Send`) -> `join` -> the agents that run last (writing) with
the facts found -> `join` -> `finish` (the final answer with citations and any failure stated).

Each question is one run with its own id and limits (`policy.*`): the supervisor shares what is left
of them between the agents it sends. The facts handed to the agents that run last, and earlier answers
the router reads, are untrusted data: instruction-like text in them is removed first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.types import Overwrite, Send

from agentgraph import limits
from agentgraph.agent import AgentSpec
from agentgraph.modelcall import ModelFactory, model_turn
from agentgraph.router import (
    ROUTER_ADAPTER,
    ROUTER_PROMPT,
    Handoff,
    RejectedCall,
    handoff_tool_name,
    handoff_tools,
    parse_handoffs,
)
from agentgraph.runrequest import question_problem
from agentgraph.settings import Settings
from agentgraph.state import AgentInput, GraphState, Subtask, Usage
from agentgraph.untrusted import neutralise

SUPERVISOR = "supervisor"
JOIN = "join"
FINISH = "finish"
RESERVED_NODES = frozenset({SUPERVISOR, JOIN, FINISH})


class Supervisor:
    """The supervisor's nodes and routing for a set of agents; `run_last` agents get the others' facts."""

    def __init__(
        self,
        agents: Sequence[AgentSpec],
        *,
        model_factory: ModelFactory,
        settings: Settings,
        run_last: Collection[str] = (),
    ) -> None:
        self.agents = {agent.name: agent for agent in agents}
        self.run_last = set(run_last)
        self.model_factory = model_factory
        self.settings = settings
        self.tools = [convert_to_openai_tool(tool) for tool in handoff_tools(list(agents))]

    # -- supervisor node -------------------------------------------------------------------------

    def plan(self, state: GraphState) -> dict[str, Any]:
        """Start a question: ask the router for handoffs (retrying on none), answer every call, plan."""
        clock = time.monotonic()
        update: dict[str, Any] = {
            "plan": Overwrite([]),
            "results": Overwrite({}),
            "transcripts": Overwrite({}),
            "citations": Overwrite([]),
            "errors": Overwrite([]),
            "fallbacks": Overwrite([]),
            "usage": Overwrite({}),
            "answer": "",
            "handoffs": 0,
            "run_id": uuid.uuid4().hex,
        }
        messages = state.get("messages", [])
        if problem := question_problem(messages, self.settings.policy.max_question_chars):
            update["errors"] = Overwrite([problem])
            return update

        policy = self.settings.policy
        used = limits.no_usage()
        limit, attempts = self.settings.graph.max_handoffs, self.settings.graph.router_retries + 1
        conversation: list[AnyMessage] = [SystemMessage(ROUTER_PROMPT), *_conversation(messages)]
        written: list[AnyMessage] = []
        accepted: list[Handoff] = []
        over_limit: list[Handoff] = []
        fell_back = False
        stopped: str | None = None
        for attempt in range(1, attempts + 1):
            used = {**used, "seconds": time.monotonic() - clock}  # type: ignore[assignment]
            if stopped := limits.exhausted(used, limits.remaining(policy, limits.no_usage()), policy):
                break
            turn = model_turn(
                self.model_factory,
                ROUTER_ADAPTER,
                [*conversation, *written],
                tools=self.tools,
                fallback=self.settings.graph.fallback_to_base,
                name=SUPERVISOR,
            )
            fell_back |= turn.fell_back
            used = limits.add(used, steps=1, model_calls=1, tokens=limits.tokens_of(turn.message))
            handoffs, rejected = parse_handoffs(turn.message, self.agents)
            accepted, duplicates, over_limit = _within_limit(handoffs, limit)
            rejected += [RejectedCall(h.call_id, _tool(h), f"duplicate of an earlier handoff to {h.agent}") for h in duplicates]
            rejected += [RejectedCall(h.call_id, _tool(h), f"not run: the limit of {limit} handoffs per question was reached") for h in over_limit]
            written += [turn.message, *_replies(accepted, rejected)]
            if accepted:
                break
            if attempt < attempts:
                written.append(HumanMessage(_retry_hint(rejected)))

        update["messages"] = [m for m in written if not isinstance(m, HumanMessage)]
        update["handoffs"] = len(accepted)
        update["plan"] = Overwrite(self._subtasks(accepted))
        errors: list[str] = []
        if stopped:
            errors.append(f"the router {stopped}")
        elif not accepted:
            errors.append(f"the router gave no valid handoff after {attempts} attempt(s); last reply: {_describe(written)}")
        if over_limit:
            skipped = "; ".join(f"{h.agent}: {h.task}" for h in over_limit)
            errors.append(f"stopped at the limit of {limit} handoffs (graph.max_handoffs); not run: {skipped}")
        update["errors"] = Overwrite(errors)
        update["fallbacks"] = Overwrite([SUPERVISOR] if fell_back else [])
        update["usage"] = Overwrite({SUPERVISOR: {**used, "seconds": time.monotonic() - clock}})
        return update

    def _subtasks(self, handoffs: Sequence[Handoff]) -> list[Subtask]:
        ordered = [h for h in handoffs if h.agent not in self.run_last] + [h for h in handoffs if h.agent in self.run_last]
        counts: dict[str, int] = {}
        subtasks: list[Subtask] = []
        for h in ordered:
            counts[h.agent] = counts.get(h.agent, 0) + 1
            subtasks.append(Subtask(id=f"{h.agent}-{counts[h.agent]}", agent=h.agent, task=h.task, status="pending", call_id=h.call_id))
        return subtasks

    # -- routing ---------------------------------------------------------------------------------

    def next_step(self, state: GraphState) -> list[Send] | str:
        """Send the pending independent subtasks; when none is left, the ones that run last; else finish."""
        pending = [s for s in state.get("plan", []) if s["status"] == "pending"]
        first = [s for s in pending if s["agent"] not in self.run_last]
        batch, facts = (first, []) if first else (pending, _facts(state, self.run_last))
        if not batch:
            return FINISH
        left = limits.remaining(self.settings.policy, self.run_usage(state))
        budget = limits.share(left, len(batch))
        run_id = state.get("run_id", "")
        return [Send(s["agent"], AgentInput(subtask=s, facts=facts, budget=budget, run_id=run_id)) for s in batch]

    def run_usage(self, state: GraphState) -> Usage:
        """What the current run has used so far (agents that ran at the same time count their longest time once)."""
        plan = state.get("plan", [])
        batches = [[s["id"] for s in plan if s["agent"] not in self.run_last], [s["id"] for s in plan if s["agent"] in self.run_last]]
        return limits.run_usage(state.get("usage", {}), batches)

    @staticmethod
    def join(state: GraphState) -> dict[str, Any]:
        """Waits for all agents of a step."""
        return {}

    # -- finish node -----------------------------------------------------------------------------

    def finish(self, state: GraphState) -> dict[str, Any]:
        """The final answer: the last agents' text if they ran, else the agents' answers, with sources and problems."""
        answer = compose_answer(state, self.run_last)
        return {"answer": answer, "messages": [AIMessage(content=answer, name=FINISH)]}


def compose_answer(state: GraphState, run_last: Collection[str]) -> str:
    """The answer text for the user, from the results, citations and errors of the current question."""
    results = state.get("results", {})
    done = [results[s["id"]] for s in state.get("plan", []) if s["id"] in results and results[s["id"]]["answer"]]
    last = [r for r in done if r["agent"] in run_last]
    parts = [r["answer"] for r in (last or done)]
    body = "\n\n".join(parts)
    cited = state.get("citations", [])
    if cited and any(source not in body for source in cited):
        body = f"{body}\n\nSources: {', '.join(cited)}" if body else f"Sources: {', '.join(cited)}"
    problems = state.get("errors", [])
    if not body:
        body = "I could not answer this question."
    if problems:
        body += "\n\n" + "\n".join(f"Note: {problem}" for problem in problems)
    return body


def _conversation(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """What the router reads: the user's questions and the final answers (as data), without handoff traffic."""
    return [
        m if isinstance(m, HumanMessage) else AIMessage(content=neutralise(m.text).text, name=m.name)
        for m in messages
        if isinstance(m, HumanMessage) or (isinstance(m, AIMessage) and not m.tool_calls and m.name != SUPERVISOR)
    ]


def _within_limit(handoffs: Sequence[Handoff], limit: int) -> tuple[list[Handoff], list[Handoff], list[Handoff]]:
    accepted: list[Handoff] = []
    duplicates: list[Handoff] = []
    over: list[Handoff] = []
    seen: set[tuple[str, str]] = set()
    for h in handoffs:
        if (h.agent, h.task) in seen:
            duplicates.append(h)
        elif len(accepted) >= limit:
            over.append(h)
        else:
            seen.add((h.agent, h.task))
            accepted.append(h)
    return accepted, duplicates, over


def _tool(handoff: Handoff) -> str:
    return handoff_tool_name(handoff.agent)


def _replies(accepted: Sequence[Handoff], rejected: Sequence[RejectedCall]) -> list[ToolMessage]:
    """One ToolMessage per call of the router's turn, accepted ones first."""
    replies = [ToolMessage(content=f"Transferred to {h.agent}.", tool_call_id=h.call_id, name=_tool(h)) for h in accepted]
    replies += [ToolMessage(content=r.reason, tool_call_id=r.call_id, name=r.name, status="error") for r in rejected]
    return replies


def _retry_hint(rejected: Sequence[RejectedCall]) -> str:
    if rejected:
        reasons = "; ".join(r.reason for r in rejected)
        return f"Those calls were not valid handoffs ({reasons}). Reply only with transfer_to_<agent>(task=...) calls."
    return "Reply only with transfer_to_<agent>(task=...) calls, one per subtask."


def _describe(written: Sequence[AnyMessage]) -> str:
    last = next((m for m in reversed(written) if isinstance(m, AIMessage)), None)
    if last is None:
        return "nothing"
    if last.tool_calls or last.invalid_tool_calls:
        names = [c["name"] for c in last.tool_calls] + [c.get("name") or "?" for c in last.invalid_tool_calls]
        return "calls to " + ", ".join(names)
    text = " ".join(last.text.split())
    return repr(text[:120] + ("..." if len(text) > 120 else "")) if text else "an empty reply"


def _facts(state: GraphState, run_last: Collection[str]) -> list[str]:
    """The answers of the agents that ran first, in plan order, as data: the facts for the agents that run last."""
    results = state.get("results", {})
    return [
        neutralise(results[s["id"]]["answer"]).text
        for s in state.get("plan", [])
        if s["agent"] not in run_last and s["id"] in results and results[s["id"]]["answer"]
    ]
