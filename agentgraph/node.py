"""An agent as a graph node: a small subgraph `model -> tools -> model ... -> finish` over its own messages.

The agent sees only its system prompt and its task (plus, for agents that run last, the facts found
by the others), never the supervisor's history. Its conversation is returned as a transcript next to
its result, so each model turn stays attributed to the agent that made it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, NotRequired, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt

from agentgraph.agent import AgentSpec
from agentgraph.modelcall import ModelFactory, model_turn
from agentgraph.settings import Settings
from agentgraph.state import (
    AgentInput,
    AgentResult,
    Subtask,
    ToolCallRecord,
    Transcript,
    extend,
    extend_unique,
    merge_dicts,
    merge_plan,
)
from agentgraph.tool_policy import (
    REJECTED_BY_PERSON,
    approval_request,
    error_reply,
    invalid_arguments,
    parse_decision,
    refusal,
    run_tool,
)

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


class AgentState(AgentInput, AgentOutput):
    """The agent subgraph's own state: its input, its conversation and its output."""

    messages: Annotated[list[AnyMessage], add_messages]
    model: NotRequired[str]
    fell_back: NotRequired[bool]
    rounds: NotRequired[int]


def agent_node(
    spec: AgentSpec,
    *,
    model_factory: ModelFactory,
    settings: Settings,
    request: RequestBuilder | None = None,
    cite: Citer | None = None,
) -> CompiledStateGraph:
    """The compiled subgraph running `spec` on one subtask (input `AgentInput`, output `AgentOutput`)."""
    steps = _AgentSteps(spec, model_factory, settings, request, cite)
    builder = StateGraph(AgentState, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("model", steps.model)
    builder.add_node("tools", steps.tools)
    builder.add_node("finish", steps.finish)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", steps.after_model, ["tools", "finish"])
    builder.add_conditional_edges("tools", steps.after_tools, ["model", "finish"])
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
    ) -> None:
        self.spec = spec
        self.model_factory = model_factory
        self.max_rounds = settings.graph.max_tool_rounds
        self.fallback = settings.graph.fallback_to_base
        self.request = request
        self.cite = cite

    def model(self, state: AgentState) -> dict[str, Any]:
        """One model turn; the first one opens the agent's conversation."""
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
        return {
            "messages": [*opening, turn.message],
            "model": turn.model,
            "fell_back": state.get("fell_back", False) or turn.fell_back,
            "rounds": state.get("rounds", 0) + 1,
        }

    def _user_turn(self, state: AgentState) -> str:
        task = state["subtask"]["task"]
        return self.request(task, state.get("facts") or []) if self.request else task

    def after_model(self, state: AgentState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls) else "finish"

    def after_tools(self, state: AgentState) -> str:
        return "finish" if self._over_limit(state) else "model"

    def _over_limit(self, state: AgentState) -> bool:
        return state.get("rounds", 0) > self.max_rounds

    def tools(self, state: AgentState) -> dict[str, Any]:
        """Answer every call of the last turn: refuse, ask a person, then run what may run."""
        last: AIMessage = state["messages"][-1]  # type: ignore[assignment]
        replies: dict[str, ToolMessage] = {}
        for call in last.invalid_tool_calls:
            replies[call["id"]] = error_reply(call, f"malformed call to {call.get('name')!r}: {call.get('error') or 'arguments are not valid JSON'}")
        runnable: list[dict] = []
        for call in last.tool_calls:
            if self._over_limit(state):
                replies[call["id"]] = error_reply(call, f"{call['name']} was not run: the limit of {self.max_rounds} tool rounds was reached")
            elif problem := refusal(self.spec, call):
                replies[call["id"]] = error_reply(call, problem)
            else:
                runnable.append(dict(call))
        # All approvals are asked before anything runs, so resuming never runs a tool twice.
        edited: set[str] = set()
        for call in runnable:
            if call["name"] not in self.spec.needs_approval:
                continue
            decision = parse_decision(interrupt(approval_request(self.spec.name, state["subtask"]["id"], call)))
            if decision.action == "reject":
                replies[call["id"]] = error_reply(call, f"{call['name']} was not run: {REJECTED_BY_PERSON}")
            elif decision.args is not None:
                problem = invalid_arguments(self.spec.tool(call["name"]), decision.args)  # type: ignore[arg-type]
                if problem:
                    replies[call["id"]] = error_reply(call, f"invalid edited arguments for {call['name']}: {problem}")
                call["args"] = decision.args
                edited.add(call["id"])
        for call in runnable:
            if call["id"] not in replies:
                replies[call["id"]] = run_tool(self.spec.tool(call["name"]), call)  # type: ignore[arg-type]
            if call["id"] in edited:
                replies[call["id"]].additional_kwargs["edited_args"] = call["args"]
        order = [c["id"] for c in last.invalid_tool_calls] + [c["id"] for c in last.tool_calls]
        return {"messages": [replies[call_id] for call_id in order]}

    def finish(self, state: AgentState) -> dict[str, Any]:
        """The agent's result, transcript and status for the shared state."""
        subtask, messages = state["subtask"], state["messages"]
        last = messages[-1]
        stopped = not isinstance(last, AIMessage)
        answer = "" if stopped else last.text.strip()
        error = None
        if stopped:
            error = f"stopped after {self.max_rounds} tool rounds without an answer"
        elif not answer:
            error = "the model gave an empty answer"
        model = state.get("model", self.spec.adapter_name)
        result = AgentResult(
            agent=self.spec.name,
            task=subtask["task"],
            answer=answer,
            tool_calls=_tool_call_records(messages),
            citations=self.cite(answer) if self.cite else [],
            model=model,
            fell_back=state.get("fell_back", False),
            error=error,
        )
        sid = subtask["id"]
        return {
            "plan": [{**subtask, "status": "failed" if error else "done"}],
            "results": {sid: result},
            "transcripts": {sid: Transcript(agent=self.spec.name, node=self.spec.name, model=model, messages=list(messages))},
            "citations": result["citations"],
            "errors": [f"{self.spec.name} ({sid}): {error}"] if error else [],
            "fallbacks": [self.spec.name] if result["fell_back"] else [],
        }


def _tool_call_records(messages: Sequence[AnyMessage]) -> list[ToolCallRecord]:
    replies = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    return [
        ToolCallRecord(
            name=call["name"],
            args=replies[call["id"]].additional_kwargs.get("edited_args", call["args"]) if call["id"] in replies else call["args"],
            id=call["id"],
            status=replies[call["id"]].status if call["id"] in replies else "error",
        )
        for message in messages
        if isinstance(message, AIMessage)
        for call in message.tool_calls
    ]
