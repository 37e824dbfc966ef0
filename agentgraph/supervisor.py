"""The supervisor: the router adapter plans the question as handoffs, agents run, the answer is composed.

Flow for one question: `supervisor` (router turn, bounded retries, every handoff call answered)
-> the plan runs in stages: every subtask whose needed results are in runs (in parallel, `Send`), with
those results as its facts -> `join` (a subtask whose needed result is missing is not run) -> ... ->
`finish` (the final answer with citations and any failure stated). A handoff names what it needs
(`needs=[agent, ...]`); the agents that run last (writing) need all the others.

The router reads the question after the last few turns of the conversation (`graph.router_history_turns`),
so that a follow-up ("Now double that.") becomes a task that stands alone ("Double 12."). The
thread user's memories relevant to the question (`agentgraph.memory`) are given to every step as facts.

Each question is one run with its own id and limits (`policy.*`): the supervisor shares what is left
of them between the agents it sends. The facts handed to the agents that run last, and earlier answers
the router reads, are untrusted data: instruction-like text in them is removed first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.types import Overwrite, Send

from agentgraph import limits
from agentgraph.agent import AgentSpec
from agentgraph.modelcall import ModelFactory, model_turn
from agentgraph.router import (
    CONVERSATION,
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
from agentgraph.state import AgentInput, AgentResult, GraphState, Subtask, Usage, question_start
from agentgraph.untrusted import neutralise

__all__ = [
    "compose_answer",
    "EARLIER_HEADING",
    "FINISH",
    "JOIN",
    "REMEMBERED_PREFIX",
    "REQUEST_HEADING",
    "RESERVED_NODES",
    "router_request",
    "SUPERVISOR",
    "Supervisor",
]

SUPERVISOR = "supervisor"
JOIN = "join"
FINISH = "finish"
RESERVED_NODES = frozenset({SUPERVISOR, JOIN, FINISH})
REMEMBERED_PREFIX = "The user asked to be remembered: "
"""How a recalled memory is written as a fact for the agents."""


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
        update = question_start(uuid.uuid4().hex)
        messages = state.get("messages", [])
        if problem := question_problem(messages, self.settings.policy.max_question_chars):
            update["errors"] = Overwrite([problem])
            return update

        policy = self.settings.policy
        used = limits.no_usage()
        limit, attempts = self.settings.graph.max_handoffs, self.settings.graph.router_retries + 1
        earlier = self.earlier_turns(messages)
        conversation: list[AnyMessage] = [SystemMessage(ROUTER_PROMPT), HumanMessage(router_request(messages[-1].text.strip(), earlier))]
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
                fallback=self.settings.graph.fallbacks(),
                name=SUPERVISOR,
            )
            fell_back |= turn.fell_back
            used = limits.add(used, steps=1, model_calls=1, tokens=limits.tokens_of(turn.message))
            handoffs, rejected = parse_handoffs(turn.message, self.agents)
            accepted, duplicates, over_limit = _within_limit(handoffs, limit)
            rejected += [RejectedCall(h.call_id, _tool(h), f"duplicate of an earlier handoff to {h.agent}") for h in duplicates]
            rejected += [
                RejectedCall(h.call_id, _tool(h), f"not run: the limit of {limit} handoffs per question was reached") for h in over_limit
            ]
            written += [turn.message, *_replies(accepted, rejected)]
            if accepted:
                break
            if attempt < attempts:
                written.append(HumanMessage(_retry_hint(rejected)))

        update["messages"] = [m for m in written if not isinstance(m, HumanMessage)]
        update["handoffs"] = len(accepted)
        remembered = self.remembered(messages[-1].text) if accepted else []
        update["plan"] = Overwrite(self._subtasks(accepted, previous=earlier[-1] if earlier else None, remembered=remembered))
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

    def earlier_turns(self, messages: Sequence[AnyMessage]) -> list[tuple[str, str]]:
        """What the router reads before the question: the last `graph.router_history_turns` turns of the
        conversation (the user's questions and the answers, as data; each answer cut to `graph.router_answer_chars`)."""
        return _earlier_turns(messages[:-1], self.settings.graph.router_history_turns, self.settings.graph.router_answer_chars)

    def remembered(self, question: str) -> list[str]:
        """The thread user's memories relevant to `question`, as facts (none when the graph runs without a
        store that has a search index, as in a graph compiled without one)."""
        from langgraph.config import get_config, get_store

        from agentgraph.memory import has_index, recall_facts, user_of

        try:
            store = get_store()
        except RuntimeError:  # called outside a running graph
            return []
        if store is None or not has_index(store):
            return []
        user = user_of(get_config(), self.settings)
        return [f"{REMEMBERED_PREFIX}{text}" for text in recall_facts(store, user, question, settings=self.settings)]

    def _subtasks(
        self, handoffs: Sequence[Handoff], previous: tuple[str, str] | None = None, remembered: Sequence[str] = ()
    ) -> list[Subtask]:
        """The plan: the router's handoffs in order (the agents that run last at the end), each with the
        subtasks it needs: those of the agents it names in `needs`, and for the last agents all the others.
        In a conversation, the steps that need no other step are given the `previous` turn as a fact (a
        follow-up such as "What would five of those cost?" only makes sense with it); a step that names
        the conversation in `needs` is given the previous answer alone. Every step is given the user's
        `remembered` facts."""
        ordered = [h for h in handoffs if h.agent not in self.run_last] + [h for h in handoffs if h.agent in self.run_last]
        counts: dict[str, int] = {}
        subtasks: list[Subtask] = []
        for h in ordered:
            counts[h.agent] = counts.get(h.agent, 0) + 1
            if h.agent in self.run_last:
                needs = [s["id"] for s in subtasks if s["agent"] not in self.run_last]
            else:
                needs = [s["id"] for s in subtasks if s["agent"] in h.needs]
            subtask = Subtask(
                id=f"{h.agent}-{counts[h.agent]}", agent=h.agent, task=h.task, status="pending", call_id=h.call_id, needs=needs
            )
            if previous and CONVERSATION in h.needs:
                subtask["given"] = [previous[1]]
            elif previous and not needs:
                subtask["given"] = [f"Earlier in this conversation: {previous[0]} {previous[1]}"]
            if remembered:
                subtask["given"] = [*subtask.get("given", []), *remembered]
            subtasks.append(subtask)
        return subtasks

    # -- routing ---------------------------------------------------------------------------------

    def needs(self, subtask: Subtask, plan: Sequence[Subtask]) -> list[str]:
        """The ids of the subtasks `subtask` waits for (plans written before `needs` existed: the last agents wait for the others)."""
        if "needs" in subtask:
            return list(subtask["needs"])
        return [s["id"] for s in plan if s["agent"] not in self.run_last] if subtask["agent"] in self.run_last else []

    def next_step(self, state: GraphState) -> list[Send] | str:
        """Send every pending subtask whose needs have all finished (in parallel), with their answers as facts; else finish."""
        plan = state.get("plan", [])
        status = {s["id"]: s["status"] for s in plan}
        batch = [s for s in plan if s["status"] == "pending" and all(status.get(n) == "done" for n in self.needs(s, plan))]
        if not batch:
            return FINISH
        left = limits.remaining(self.settings.policy, self.run_usage(state))
        budget = limits.share(left, len(batch))
        run_id = state.get("run_id", "")
        results = state.get("results", {})
        return [
            Send(
                s["agent"],
                AgentInput(subtask=s, facts=[*s.get("given", []), *_facts(results, self.needs(s, plan))], budget=budget, run_id=run_id),
            )
            for s in batch
        ]

    def run_usage(self, state: GraphState) -> Usage:
        """What the current run has used so far (agents that ran at the same time, in one stage, count their longest time once)."""
        plan = state.get("plan", [])
        stage: dict[str, int] = {}
        for s in plan:  # a subtask only needs subtasks planned before it
            stage[s["id"]] = 1 + max((stage.get(n, 0) for n in self.needs(s, plan)), default=0)
        batches = [[sid for sid, level in stage.items() if level == k] for k in sorted(set(stage.values()))]
        return limits.run_usage(state.get("usage", {}), batches)

    def join(self, state: GraphState) -> dict[str, Any]:
        """After a stage: a pending subtask whose needed result failed or came back empty is not run; the answer says which."""
        plan, results = state.get("plan", []), state.get("results", {})
        by_id = {s["id"]: s for s in plan}
        status = {s["id"]: s["status"] for s in plan}
        blocked: list[Subtask] = []
        errors: list[str] = []
        for s in plan:  # in plan order, so a subtask blocked here also blocks the later ones that need it
            missing = next(
                (n for n in self.needs(s, plan) if status[n] == "failed" or (status[n] == "done" and not results.get(n, {}).get("answer"))),
                None,
            )
            if s["status"] == "pending" and missing is not None:
                status[s["id"]] = "failed"
                blocked.append({**s, "status": "failed"})
                needed = by_id[missing]
                errors.append(
                    f"{s['agent']} ({s['id']}) was not run: the result it needs from {needed['agent']} ({needed['task']!r}) is missing"
                )
        return {"plan": blocked, "errors": errors} if blocked else {}

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


EARLIER_HEADING = "Earlier in this conversation:"
REQUEST_HEADING = "Request:"


def router_request(question: str, earlier: Sequence[tuple[str, str]] = ()) -> str:
    """The router's user turn: the question alone, or after the earlier (question, answer) turns as data."""
    if not earlier:
        return question
    turns = "\n".join(f"User: {asked}\nAnswer: {answered}" for asked, answered in earlier)
    return f"{EARLIER_HEADING}\n{turns}\n{REQUEST_HEADING} {question}"


def _earlier_turns(messages: Sequence[AnyMessage], turns: int, answer_chars: int) -> list[tuple[str, str]]:
    """The last `turns` (question, final answer) pairs of the conversation, the answers neutralised, without
    their notes and cut to `answer_chars`; handoff traffic is left out."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for m in messages:
        if isinstance(m, HumanMessage):
            question = " ".join(m.text.split())
        elif isinstance(m, AIMessage) and m.name == FINISH and question is not None:
            lines = [line for line in neutralise(m.text).text.splitlines() if line.strip() and not line.startswith("Note: ")]
            answer = " ".join(" ".join(lines).split())
            pairs.append((question, answer[:answer_chars].rstrip() + ("..." if len(answer) > answer_chars else "")))
            question = None
    return pairs[-turns:] if turns > 0 else []


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


def _facts(results: Mapping[str, AgentResult], needs: Sequence[str]) -> list[str]:
    """The answers of the needed subtasks, in plan order, as data: the facts of the subtask that needs them."""
    return [neutralise(results[n].get("statement") or results[n]["answer"]).text for n in needs if n in results and results[n]["answer"]]
