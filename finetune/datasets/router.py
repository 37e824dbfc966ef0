"""Router adapter rows: a request -> one model turn of handoff calls, each sub-task copied word for word.

Single requests come from the math, retrieval and writing generators (their questions and tasks, with
their phrasings); multi-part requests chain two or three of them, each a sentence of its own or, in a third of the
joins, continuing the sentence before it ("What is 15% of 80, then email Sam the result."), and the
router answers with one `transfer_to_<agent>(task=...)` call per part, in order, in ONE turn
(`[transfer_to_math(task="What is 15% of 80?"), transfer_to_writing(task="Then email Sam the result.")]`).
Math and retrieval parts are independent questions (the graph runs them side by side, so each must
stand alone); a writing part comes last and points back at their results, which the writing agent
receives as facts. The row ends with the router's turn. Its items are the sub-tasks that carry content
(questions and standalone writing tasks): none appears in two splits. Writing follow-ups ("Then email
Sam the result.") are phrasings, shared by the splits except for the held-out ones.
"""

from __future__ import annotations

import json
import random

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentgraph.agent import AgentSpec
from agentgraph.agents import DEFAULT_AGENTS
from agentgraph.finetune.datasets import router_turns
from agentgraph.finetune.datasets.common import Example, normalise_key, swift_row, tool_call
from agentgraph.finetune.datasets.math import math_question
from agentgraph.finetune.datasets.retrieval import random_question
from agentgraph.finetune.datasets.writing import writing_task
from agentgraph.router import ROUTER_ADAPTER, ROUTER_PROMPT, handoff_tool_name, handoff_tools

CONNECTORS = ("", "", "", "Also, ", "And ", "Plus, ", "Next, ")
"""Openings of a later independent part (copied with it: the task is the sentence as the user wrote it)."""
ONE_SENTENCE_SHARE = 0.3
"""How often two neighbouring parts share one sentence, the earlier ending in a comma."""
SENTENCE_JOINS = ("and ", "then ", "and also ", "and then ")
"""Openings of a later independent part that continues the earlier part's sentence."""
KINDS = (
    ("math", 0.11),
    ("retrieval", 0.11),
    ("writing", 0.09),
    ("math+writing", 0.07),
    ("retrieval+writing", 0.07),
    ("retrieval+math", 0.06),
    ("retrieval+math+writing", 0.02),
    ("math+math", 0.02),
    ("retrieval>math", 0.1),
    ("composed", 0.08),
    ("math>math", 0.04),
    ("follow-up", 0.19),
    ("roster", 0.12),
)
"""Request kinds and their shares: `+` joins independent parts, `>` a part that needs the one before it
(`router_turns.py` makes those, the one-sentence requests that need a search first (`composed`), the
follow-ups and the rosters)."""
TURN_KINDS = {
    "retrieval>math": router_turns.dependent_request,
    "composed": router_turns.composed_request,
    "math>math": router_turns.math_chain_request,
    "follow-up": router_turns.follow_up,
    "roster": router_turns.roster_request,
}


def router_spec(agents: tuple[AgentSpec, ...] = DEFAULT_AGENTS) -> AgentSpec:
    """The router as an agent: its prompt and one handoff tool per agent."""
    return AgentSpec(
        name=ROUTER_ADAPTER,
        description="Splits a request into sub-tasks and hands each to the agent that does it.",
        system_prompt=ROUTER_PROMPT,
        tools=tuple(handoff_tools(list(agents))),
    )


def _task(rng: random.Random, split: str, agent: str, follow_up: bool = False) -> tuple[str, bool]:
    if agent == "math":
        return math_question(rng, split)
    if agent == "retrieval":
        text, _, held = random_question(rng, split)
        return text, held
    return writing_task(rng, split, follow_up)


def _ends_sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def _parts(rng: random.Random, split: str, kind: str) -> list[tuple[str, str, bool]]:
    """(agent, task, held out) for each part of a request of `kind`.

    Math and retrieval parts are independent questions (the graph runs them side by side); a writing
    part comes last and points back at their results (it receives them as facts).
    """
    agents = kind.split("+")
    parts: list[tuple[str, str, bool]] = []
    for position, agent in enumerate(agents):
        text, held = _task(rng, split, agent, follow_up=position > 0)
        if position > 0 and agent != "writing":
            connector = rng.choice(CONNECTORS)
            text = connector + (text[:1].lower() + text[1:] if connector else text)
        parts.append((agent, _ends_sentence(text) if position < len(agents) - 1 else text, held))
    for position in range(1, len(parts)):
        if rng.random() < ONE_SENTENCE_SHARE:
            parts[position - 1], parts[position] = _one_sentence(rng, parts[position - 1], parts[position])
    if rng.random() < 0.1:  # people do not always capitalise or punctuate
        agent, text, held = parts[0]
        parts[0] = (agent, text[:1].lower() + text[1:], held)
    if rng.random() < 0.1:
        agent, text, held = parts[-1]
        parts[-1] = (agent, text.rstrip(".?!") or text, held)
    return parts


def _one_sentence(
    rng: random.Random, earlier: tuple[str, str, bool], later: tuple[str, str, bool]
) -> tuple[tuple[str, str, bool], tuple[str, str, bool]]:
    """Two parts written as one sentence (`What is 15% of 80, then email Sam the result.`)."""
    (first_agent, first, first_held), (agent, text, held) = earlier, later
    text = text[:1].lower() + text[1:]
    if agent != "writing" and not text.startswith(tuple(c.lower() for c in CONNECTORS if c)):
        text = rng.choice(SENTENCE_JOINS) + text
    return (first_agent, first.rstrip(".?!") + ",", first_held), (agent, text, held)


def make_example(rng: random.Random, split: str) -> Example | None:
    """One router row: the request, then one turn with a handoff call per part."""
    kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    if kind in TURN_KINDS:
        turns = TURN_KINDS[kind](rng, split)
        if turns is None:
            return None
        keys = {_task_key(task) for _, task, _ in turns.handoffs} | {_task_key(q) for q, _ in turns.earlier}
        row = router_row(turns.user_turn, list(turns.handoffs), turns.agents)
        return Example(row, tuple(sorted(keys)), kind, turns.held_out)
    parts = _parts(rng, split, kind)
    if len({_task_key(task) for _, task, _ in parts}) != len(parts):
        return None
    handoffs = [(agent, task) for agent, task, _ in parts]
    row = router_row(" ".join(task for _, task in handoffs), handoffs)
    return Example(row, tuple(_content_keys(handoffs)), kind, any(held for *_, held in parts))


def router_row(
    request: str, handoffs: list[tuple[str, str]] | list[tuple[str, str, tuple[str, ...]]], agents: tuple[AgentSpec, ...] = DEFAULT_AGENTS
) -> dict:
    """The row of a router user turn and the router's one turn: a handoff call per (agent, task[, needs]), in order."""
    calls = [
        tool_call(handoff_tool_name(h[0]), f"call_{i}", task=h[1], **({"needs": list(h[2])} if len(h) > 2 and h[2] else {}))
        for i, h in enumerate(handoffs)
    ]
    spec = router_spec(agents)
    messages = [SystemMessage(spec.system_prompt), HumanMessage(request), AIMessage("", tool_calls=calls)]
    return swift_row(messages, [convert_to_openai_tool(t) for t in spec.tools])


def is_follow_up(agents: list[str], position: int) -> bool:
    """True for a part that only points back at the earlier parts' results (a later writing part)."""
    return position > 0 and agents[position] == "writing"


def _content_keys(parts: list[tuple[str, str]]) -> set[str]:
    agents = [agent for agent, _ in parts]
    return {_task_key(task) for i, (_, task) in enumerate(parts) if not is_follow_up(agents, i)}


_OPENINGS = sorted({o.strip().lower() for o in (*CONNECTORS, *SENTENCE_JOINS) if o}, key=len, reverse=True)
"""Connector and join openings as `normalise_key` leaves them, longest first."""


def _task_key(task: str) -> str:
    """The key of a sub-task without the opening or comma that joined it to the request."""
    key = normalise_key(task).rstrip(" ,")
    for opening in _OPENINGS:
        if key.startswith(opening + " "):
            return key[len(opening) + 1 :]
    return key


def handoffs(row: dict) -> list[tuple[str, str]]:
    """(agent, task) of each call of a written router row."""
    calls = [json.loads(m["content"]) for m in row["messages"] if m["role"] == "tool_call"]
    return [(c["name"].removeprefix("transfer_to_"), c["arguments"]["task"]) for c in calls]


def item_keys(row: dict) -> set[str]:
    """The items a written router row uses: its sub-tasks that carry content."""
    return _content_keys(handoffs(row))
