"""An agent as a graph node: a small subgraph `model -> tools -> model ... -> finish` over its own messages.

The agent sees only its system prompt and its task (plus, for agents that run last, the facts found
by the others), never the supervisor's history. Tool results come back as tool messages, with control
tokens and instruction-like sentences removed; they never reach the system prompt. A malformed reply
is re-asked with a short correction (`policy.max_repairs` times), then the agent stops with a clear
error. The agent stops early, with a note in the answer, when its share of the run's limits is used.
Its conversation is returned as a transcript next to its result, so each model turn stays attributed
to the agent that made it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, NotRequired, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt

from agentgraph import limits
from agentgraph.agent import AgentSpec, facts_request
from agentgraph.audit import RAN
from agentgraph.citations import ground, parse_passages, returns_sources
from agentgraph.modelcall import ModelFactory, model_turn
from agentgraph.repair import malformed_reply
from agentgraph.settings import Settings
from agentgraph.state import (
    AgentInput,
    AgentResult,
    Subtask,
    ToolCallRecord,
    Transcript,
    Usage,
    extend,
    extend_unique,
    merge_dicts,
    merge_plan,
)
from agentgraph.taskcontext import working_on
from agentgraph.tool_policy import (
    REJECTED_BY_PERSON,
    CallContext,
    ToolRunner,
    approval_request,
    as_data,
    error_reply,
    invalid_arguments,
    parse_decision,
    refusal,
    untrusted_arguments,
)
from agentgraph.toolrecord import not_run, record_of, with_record

UNSUPPORTED_CORRECTION = (
    "The search results do not say that. Answer with the sentence of the search results that answers the task, "
    "copied word for word, then [source: <its source id>]."
)
"""The correction a grounded agent gets when its answer states nothing its passages support."""

RequestBuilder = Callable[[str, Sequence[str]], str]
"""Builds an agent's user turn from its task and the facts found by the other agents."""
Citer = Callable[[str], list[str]]
"""Finds the sources an answer cites."""


class AgentOutput(TypedDict):
    """What an agent writes back to the shared state."""

    plan: Annotated[list[Subtask], merge_plan]
    results: Annotated[dict[str, AgentResult], merge_dicts]
    transcripts: Annotated[dict[str, Transcript], merge_dicts]
    citations: Annotated[list[str], extend_unique]
    errors: Annotated[list[str], extend]
    fallbacks: Annotated[list[str], extend_unique]
    usage: Annotated[dict[str, Usage], merge_dicts]


class AgentState(AgentInput, AgentOutput):
    """The agent subgraph's own state: its input, its conversation and its output."""

    messages: Annotated[list[AnyMessage], add_messages]
    model: NotRequired[str]
    fell_back: NotRequired[bool]
    rounds: NotRequired[int]
    used: NotRequired[Usage]
    repairs: NotRequired[int]
    """Malformed turns in a row that were answered with a correction."""
    stop: NotRequired[str]
    """Why the agent stopped before answering (a limit, replies that stayed malformed)."""


def agent_node(
    spec: AgentSpec,
    *,
    model_factory: ModelFactory,
    settings: Settings,
    request: RequestBuilder | None = None,
    cite: Citer | None = None,
    graph_tools: Collection[str] = (),
) -> CompiledStateGraph:
    """The compiled subgraph running `spec` on one subtask (input `AgentInput`, output `AgentOutput`).

    `graph_tools` names every tool of the graph: a call to one of them that is not on this agent's
    allow-list is a refusal stated in the answer; a call to a tool that exists nowhere is a slip of the
    model, corrected like other malformed calls.
    """
    steps = _AgentSteps(spec, model_factory, settings, request, cite, graph_tools)
    builder = StateGraph(AgentState, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("model", steps.model)
    builder.add_node("tools", steps.tools)
    builder.add_node("repair", steps.repair)
    builder.add_node("finish", steps.finish)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", steps.after_model, ["tools", "repair", "finish"])
    builder.add_conditional_edges("tools", steps.after_tools, ["model", "finish"])
    builder.add_edge("repair", "model")
    builder.add_edge("finish", END)
    return builder.compile(name=spec.name)


class _AgentSteps:
    def __init__(
        self,
        spec: AgentSpec,
        model_factory: ModelFactory,
        settings: Settings,
        request: RequestBuilder | None,
        cite: Citer | None,
        graph_tools: Collection[str] = (),
    ) -> None:
        self.spec = spec
        self.graph_tools = set(graph_tools)
        self.model_factory = model_factory
        self.policy = settings.policy
        self.max_rounds = spec.limits.max_tool_rounds if spec.limits.max_tool_rounds is not None else settings.graph.max_tool_rounds
        self.fallback = settings.graph.fallbacks()
        self.request = request
        self.cite = cite
        self.tool_names = [tool.name for tool in spec.tools]
        self.grounded = any(returns_sources(tool) for tool in spec.tools)
        """Whether answers are checked against the passages this agent's tools return (`agentgraph.citations`)."""
        self.runner = ToolRunner(spec, settings.policy, settings.database_url)

    # -- model turns -----------------------------------------------------------------------------

    def model(self, state: AgentState) -> dict[str, Any]:
        """One model turn; the first one opens the agent's conversation. None when a limit is reached."""
        if reason := self._limit_reached(state):
            return {"stop": reason}
        clock = time.monotonic()
        opening: list[AnyMessage] = []
        if not state.get("messages"):
            opening = [SystemMessage(self.spec.system_prompt), HumanMessage(self._user_turn(state))]
        turn = model_turn(
            self.model_factory,
            state.get("model") or self.spec.adapter_name,
            [*state.get("messages", []), *opening],
            tools=self.spec.openai_tools(),
            fallback=self.fallback,
            name=self.spec.name,
        )
        used = limits.add(
            state.get("used"), steps=1, model_calls=1, tokens=limits.tokens_of(turn.message), seconds=time.monotonic() - clock
        )
        return {
            "messages": [*opening, turn.message],
            "model": turn.model,
            "fell_back": state.get("fell_back", False) or turn.fell_back,
            "rounds": state.get("rounds", 0) + 1,
            "used": used,
        }

    def _limit_reached(self, state: AgentState) -> str | None:
        used = state.get("used") or limits.no_usage()
        if reason := limits.exhausted(used, state.get("budget") or {}, self.policy):
            return reason
        own = self.spec.limits
        if own.max_model_calls is not None and used["model_calls"] >= own.max_model_calls:
            return f"stopped at the {self.spec.name} agent's limit of {own.max_model_calls} model calls (AgentSpec.limits)"
        if own.max_tokens is not None and used["tokens"] >= own.max_tokens:
            return f"stopped at the {self.spec.name} agent's limit of {own.max_tokens} tokens (AgentSpec.limits)"
        return None

    def _user_turn(self, state: AgentState) -> str:
        task = state["subtask"]["task"]
        return (self.request or facts_request)(task, state.get("facts") or [])

    def after_model(self, state: AgentState) -> str:
        if state.get("stop"):
            return "finish"
        last = state["messages"][-1]
        if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls):
            return "tools"
        if (malformed_reply(last, self.tool_names) or self._unsupported(state)) and state.get("repairs", 0) < self.policy.max_repairs:  # type: ignore[arg-type]
            return "repair"
        return "finish"

    def _unsupported(self, state: AgentState) -> bool:
        """Whether a grounded agent's text answer states nothing its retrieved passages support."""
        last = state["messages"][-1]
        if not self.grounded or not isinstance(last, AIMessage) or not last.text.strip():
            return False
        passages = _passages(state["messages"])
        return bool(passages) and not ground(last.text, passages).citations  # with nothing retrieved there is nothing to copy

    def repair(self, state: AgentState) -> dict[str, Any]:
        """Re-ask after a malformed text reply, or an answer its passages do not support, saying briefly what was wrong."""
        problem = malformed_reply(state["messages"][-1], self.tool_names)  # type: ignore[arg-type]
        correction = problem.correction() if problem is not None else UNSUPPORTED_CORRECTION
        return {"messages": [HumanMessage(correction)], "repairs": state.get("repairs", 0) + 1}

    # -- tool rounds -----------------------------------------------------------------------------

    def after_tools(self, state: AgentState) -> str:
        return "finish" if state.get("stop") or self._over_limit(state) else "model"

    def _over_limit(self, state: AgentState) -> bool:
        return state.get("rounds", 0) > self.max_rounds

    def tools(self, state: AgentState) -> dict[str, Any]:
        """Answer every call of the last turn: refuse, ask a person, then run what may run (audited)."""
        clock = time.monotonic()
        last: AIMessage = state["messages"][-1]  # type: ignore[assignment]
        stop = self._limit_reached(state)
        replies, runnable, reasons = self._check(state, last, stop)
        # All approvals are asked before anything runs, so resuming never runs a tool twice.
        edited = self._ask(state["subtask"]["id"], runnable, reasons, replies)
        context = CallContext(state.get("run_id"), _thread_id(), self.spec.name, state["subtask"]["id"])
        started = datetime.now(UTC)
        ordered = [*last.invalid_tool_calls, *last.tool_calls]
        by_id = {call["id"]: call for call in runnable}
        for original in ordered:
            call = by_id.get(original["id"], original)
            if call["id"] in replies:
                self.runner.audit(call, context, replies[call["id"]], started)
            else:
                with working_on(self._user_turn(state)):
                    replies[call["id"]] = self.runner.execute(self.spec.tool(call["name"]), call, context)  # type: ignore[arg-type]
            edits = {"edited_args": call["args"]} if call["id"] in edited else {}
            with_record(replies[call["id"]], **edits)  # every reply carries its record
        update: dict[str, Any] = {
            "messages": [as_data(replies[call["id"]]) for call in ordered],
            "used": limits.add(state.get("used"), steps=0 if stop else 1, seconds=time.monotonic() - clock),
        }
        update.update(self._after_malformed(state, [replies[call["id"]] for call in ordered]))
        if stop:
            update["stop"] = stop
        return update

    def _check(self, state: AgentState, last: AIMessage, stop: str | None) -> tuple[dict[str, ToolMessage], list[dict], dict[str, str]]:
        """The replies of calls that may not run, the calls that may, and why some of those need a person."""
        replies: dict[str, ToolMessage] = {}
        for call in last.invalid_tool_calls:
            text = f"malformed call to {call.get('name')!r}: {call.get('error') or 'arguments are not valid JSON'}"
            replies[call["id"]] = _malformed(error_reply(call, text))
        trusted = f"{self.spec.system_prompt}\n{state['subtask']['task']}"
        untrusted = [*_tool_results(state["messages"]), *(state.get("facts") or [])]
        runnable: list[dict] = []
        reasons: dict[str, str] = {}
        for call in last.tool_calls:
            if stop:
                replies[call["id"]] = _quiet(error_reply(call, not_run(call["name"], stop)))
            elif self._over_limit(state):
                text = not_run(call["name"], f"the limit of {self.max_rounds} tool rounds was reached")
                replies[call["id"]] = _quiet(error_reply(call, text))
            elif problem := refusal(self.spec, call) or self._call_problem(state, call):
                replies[call["id"]] = _malformed(error_reply(call, problem), forbidden=self._forbidden(call["name"]))
            elif concern := untrusted_arguments(
                self.spec.tool(call["name"]), call["args"], trusted=trusted, untrusted=untrusted, policy=self.policy
            ):  # type: ignore[arg-type]
                if concern.action == "refuse":
                    replies[call["id"]] = with_record(error_reply(call, not_run(call["name"], concern.reason)), outcome="refused")
                else:
                    reasons[call["id"]] = concern.reason
                    runnable.append(dict(call))
            else:
                runnable.append(dict(call))
        return replies, runnable, reasons

    def _call_problem(self, state: AgentState, call: Mapping[str, Any]) -> str | None:
        """What the agent's own check finds wrong with an allowed call for this task (a correction), or None."""
        if self.spec.check_call is None or self.spec.tool(call["name"]) is None:
            return None
        return self.spec.check_call(state["subtask"]["task"], call["name"], call.get("args") or {})

    def _ask(self, subtask: str, runnable: list[dict], reasons: dict[str, str], replies: dict[str, ToolMessage]) -> set[str]:
        """Ask a person about each call that needs it (an interrupt each); the ids of calls run with edited arguments."""
        edited: set[str] = set()
        for call in runnable:
            if call["name"] not in self.spec.needs_approval and call["id"] not in reasons:
                continue
            decision = parse_decision(interrupt(approval_request(self.spec.name, subtask, call, reasons.get(call["id"]))))
            if decision.action == "reject":
                replies[call["id"]] = with_record(error_reply(call, not_run(call["name"], REJECTED_BY_PERSON)), outcome="rejected")
            elif decision.args is not None:
                problem = invalid_arguments(self.spec.tool(call["name"]), decision.args)  # type: ignore[arg-type]
                if problem:
                    replies[call["id"]] = with_record(
                        error_reply(call, f"invalid edited arguments for {call['name']}: {problem}"), outcome="refused"
                    )
                call["args"] = decision.args
                edited.add(call["id"])
        return edited

    def _after_malformed(self, state: AgentState, replies: Sequence[ToolMessage]) -> dict[str, Any]:
        """Count a turn whose calls the model got wrong; past `policy.max_repairs` such turns in a row, stop."""
        wrong = [reply for reply in replies if record_of(reply).malformed]
        if not wrong:
            return {"repairs": 0}
        repairs = state.get("repairs", 0) + 1
        if repairs <= self.policy.max_repairs:
            return {"repairs": repairs}
        return {
            "repairs": repairs,
            "stop": f"the model's tool calls were still malformed after {repairs - 1} correction(s): {wrong[-1].text}",
        }

    def _forbidden(self, name: str) -> bool:
        """Whether `name` is a tool of the graph that this agent may not use."""
        return self.spec.tool(name) is None and name in self.graph_tools

    # -- result ----------------------------------------------------------------------------------

    def finish(self, state: AgentState) -> dict[str, Any]:
        """The agent's result, transcript and status for the shared state."""
        subtask, messages = state["subtask"], state.get("messages", [])
        last = messages[-1] if messages else None
        answer, error = "", state.get("stop")
        if error is None and not isinstance(last, AIMessage):
            error = f"stopped after {self.max_rounds} tool rounds without an answer"
        elif error is None and (problem := malformed_reply(last, self.tool_names)):  # type: ignore[arg-type]
            repairs = state.get("repairs", 0)
            error = problem.detail + (f" (still, after {repairs} correction(s))" if repairs else "")
        elif error is None:
            answer = last.text.strip()  # type: ignore[union-attr]
        cited: list[str] = self.cite(answer) if self.cite else []
        if answer and self.grounded:
            grounded = ground(answer, _passages(messages))
            answer, cited = grounded.answer, grounded.citations
        model = state.get("model", self.spec.adapter_name)
        result = AgentResult(
            agent=self.spec.name,
            task=subtask["task"],
            answer=answer,
            tool_calls=_tool_call_records(messages),
            citations=cited,
            statement=self.spec.result_statement(subtask["task"], answer, _tool_results(messages))
            if answer and self.spec.result_statement
            else answer,
            model=model,
            fell_back=state.get("fell_back", False),
            error=error,
        )
        sid = subtask["id"]
        notes = [f"{self.spec.name} ({sid}): {note}" for note in _notes(messages)]
        return {
            "plan": [{**subtask, "status": "failed" if error else "done"}],
            "results": {sid: result},
            "transcripts": {sid: Transcript(agent=self.spec.name, node=self.spec.name, model=model, messages=list(messages))},
            "citations": result["citations"],
            "errors": notes + ([f"{self.spec.name} ({sid}): {error}"] if error else []),
            "fallbacks": [self.spec.name] if result["fell_back"] else [],
            "usage": {sid: state.get("used") or limits.no_usage()},
        }


def _passages(messages: Sequence[AnyMessage]) -> list:
    """The passages this agent's tools returned in this run."""
    return [p for m in messages if isinstance(m, ToolMessage) for p in parse_passages(m.text)]


def _thread_id() -> str | None:
    try:
        return get_config().get("configurable", {}).get("thread_id")
    except RuntimeError:  # called outside a running graph
        return None


def _malformed(reply: ToolMessage, *, forbidden: bool = False) -> ToolMessage:
    """An error reply to a call the model got wrong; a call to a graph tool this agent may not use is also
    a refusal to state in the answer."""
    return with_record(reply, outcome="refused", malformed=True, note=forbidden)


def _quiet(reply: ToolMessage) -> ToolMessage:
    """A call not run for a limit whose reason the agent's result states already (not repeated as a note)."""
    return with_record(reply, outcome="limit", note=False)


def _tool_results(messages: Sequence[AnyMessage]) -> list[str]:
    return [m.text for m in messages if isinstance(m, ToolMessage) and record_of(m).outcome in RAN]


def _notes(messages: Sequence[AnyMessage]) -> list[str]:
    """What the answer must say about this agent's tool calls: refusals, limits, removed instructions."""
    notes: list[str] = []
    for message in messages:
        if not isinstance(message, ToolMessage):
            continue
        record = record_of(message)
        if record.outcome in ("refused", "limit") and record.note:
            notes.append(message.text)
        if record.flagged:
            found = ", ".join(repr(f) for f in record.flagged[:3])
            notes.append(
                f"the result of {message.name or 'a tool'} contained instruction-like text ({found}); it was removed and not followed"
            )
    return list(dict.fromkeys(notes))


def _tool_call_records(messages: Sequence[AnyMessage]) -> list[ToolCallRecord]:
    replies = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    records: list[ToolCallRecord] = []
    for message in messages:
        if not isinstance(message, AIMessage):
            continue
        for call in message.tool_calls:
            reply = replies.get(call["id"])
            if reply is None:
                records.append(ToolCallRecord(name=call["name"], args=call["args"], id=call["id"], status="error"))
                continue
            outcome = record_of(reply)
            args = outcome.edited_args if outcome.edited_args is not None else call["args"]
            records.append(ToolCallRecord(name=call["name"], args=args, id=call["id"], status=reply.status, outcome=outcome.outcome))
    return records
