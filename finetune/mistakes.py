"""Preference pairs from the served adapter's own mistakes (on-policy DPO/KTO data).

Fresh rows of the agent's training distribution (the builder's train split, past the rows the adapter
was trained on; never the test split) are run through the running server exactly as `agentgraph eval`
runs test rows. For each row the first metric that fails names the model turn that went wrong (math:
the call, else the answer; retrieval: the search, else the citation); that turn becomes a pair: the
prompt the adapter saw, the reference turn as chosen, and what the adapter wrote as rejected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agentgraph.finetune.datasets.common import swift_row
from agentgraph.finetune.evaluate import Invoke, case_runner, make_invoke, run_cases
from agentgraph.finetune.preferences import model_turns, render_turn
from agentgraph.finetune.specs import TRAINING
from agentgraph.settings import Settings


@dataclass(frozen=True)
class MistakeReport:
    """What sampling found: rows run, rows with a mistake, and the pairs made from them."""

    rows: int
    mistakes: int
    pairs: list[dict[str, Any]]


def fresh_rows(
    agent: str, seed: int, trained: int, count: int, out_dir: Path, n_val: int | None = None, n_test: int | None = None
) -> list[dict]:
    """Up to `count` training-distribution rows that the adapter has not seen: the train split built (in
    `out_dir`, with retrieval's corpus) past its first `trained` rows (the same draws, so those are the
    trained ones; `n_val`/`n_test` as in that build), never a test item."""
    from agentgraph.finetune.datasets import build_dataset

    build_dataset(agent, out_dir, seed=seed, n_train=trained + count, n_val=n_val, n_test=n_test)
    rows = [json.loads(line) for line in (out_dir / "train.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    seen = {json.dumps(row["messages"][:2]) for row in rows[:trained]}
    return [row for row in rows[trained:] if json.dumps(row["messages"][:2]) not in seen]


def reply_text(reply: AIMessage) -> str:
    """A reply as the text the model wrote: its pythonic call list, or its content."""
    if reply.tool_calls:
        from agentgraph.finetune.swift_plugin import render_tool_calls

        return render_tool_calls(reply.tool_calls)
    return reply.content if isinstance(reply.content, str) else ""


def mistake_pair(
    agent: str, row: dict, scores: dict[str, bool], calls: list[tuple[list[BaseMessage], list[dict], AIMessage]]
) -> dict | None:
    """The DPO row of a run's first failing reply (None when nothing failed or that reply was not made)."""
    failing = next(((reply, turn) for metric, reply, turn in TRAINING[agent].failing_turns if not scores.get(metric, True)), None)
    turns = model_turns(row)
    if failing is None or failing[0] >= len(calls) or len(turns) < -failing[1]:
        return None
    prompt, tools, reply = calls[failing[0]]
    start, end = turns[failing[1]]
    chosen, rejected = render_turn(row["messages"][start:end]), reply_text(reply)
    if rejected == chosen:
        return None
    context = swift_row(prompt, tools)
    return {**context, "messages": [*context["messages"], {"role": "assistant", "content": chosen}], "rejected_response": rejected}


def sample_mistakes(
    agent: str,
    settings: Settings,
    rows: list[dict],
    corpus: Path | None = None,
    invoke: Invoke | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> MistakeReport:
    """Run `rows` with the agent's served adapter and pair every mistake with its reference turn."""
    run = case_runner(agent, settings, corpus)
    call = invoke or make_invoke(agent, settings, TRAINING[agent].max_tokens)
    recorded: dict[int, list[tuple[list[BaseMessage], list[dict], AIMessage]]] = {}

    def recording() -> Invoke:
        calls: list[tuple[list[BaseMessage], list[dict], AIMessage]] = []
        recorded[len(recorded)] = calls

        def record(prompt: list[BaseMessage], tools: list[dict]) -> AIMessage:
            reply = call(prompt, tools)
            calls.append((list(prompt), tools, reply))
            return reply

        return record

    results = run_cases(agent, rows, run, recording, settings.finetune.eval_concurrency, on_done)
    pairs = []
    for index, (row, result) in enumerate(zip(rows, results, strict=True)):
        if "error" not in result.detail and (pair := mistake_pair(agent, row, result.scores, recorded[index])):
            pairs.append(pair)
    return MistakeReport(len(rows), sum(1 for r in results if not all(r.scores.values())), pairs)
