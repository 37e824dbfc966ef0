"""Preference data for `swift rlhf` (DPO pairs, KTO labels), generated from SFT rows when no exported
traces are given: the chosen reply is the reference model turn, the rejected one a plausible mistake
(a wrong number in a call or an answer, a handoff to the wrong agent, a wrong citation, a broken form).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from agentgraph.finetune.specs import ROUTER_AGENTS

MODEL_ROLES = ("assistant", "tool_call")
_NUMBER = re.compile(r"\d+")
_SOURCE = re.compile(r"\[source: ([^\]]+)\]")


def render_turn(messages: list[dict[str, str]]) -> str:
    """A model turn as the text the model writes: plain text, or its pythonic call list."""
    if messages[0]["role"] == "assistant":
        return messages[0]["content"]
    from agentgraph.finetune.swift_plugin import render_calls

    calls = [json.loads(m["content"]) for m in messages]
    return render_calls([(c["name"], c.get("arguments") or {}) for c in calls])


def model_turns(row: dict[str, Any]) -> list[tuple[int, int]]:
    """(start, end) index ranges of the row's model turns (a run of tool calls is one turn)."""
    turns: list[tuple[int, int]] = []
    messages = row["messages"]
    index = 0
    while index < len(messages):
        role = messages[index]["role"]
        if role in MODEL_ROLES:
            end = index + 1
            if role == "tool_call":
                while end < len(messages) and messages[end]["role"] == "tool_call":
                    end += 1
            turns.append((index, end))
            index = end
        else:
            index += 1
    return turns


def _bump_number(text: str, rng: random.Random) -> str | None:
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    match = rng.choice(matches)
    value = int(match.group())
    wrong = str(value + rng.choice((1, 2, 9, 10)) if rng.random() < 0.5 or value < 2 else value - 1)
    return text[: match.start()] + wrong + text[match.end() :]


def corrupt(text: str, rng: random.Random, sources: list[str]) -> str:
    """A plausible wrong version of a model turn (never equal to `text`)."""
    if match := _SOURCE.search(text):
        others = [s for s in sources if s != match.group(1)] or ["unknown.md"]
        return text.replace(match.group(0), f"[source: {rng.choice(others)}]")
    if "transfer_to_" in text:
        for agent in ROUTER_AGENTS:
            if f"transfer_to_{agent}(" in text:
                other = rng.choice([a for a in ROUTER_AGENTS if a != agent])
                return text.replace(f"transfer_to_{agent}(", f"transfer_to_{other}(", 1)
    if (bumped := _bump_number(text, rng)) is not None and bumped != text:
        return bumped
    lines = text.splitlines()
    if len(lines) > 1:
        return "\n".join(lines[1:])
    words = text.split()
    return " ".join(words[1:] + ["Also, more details follow."]) if len(words) > 1 else "I cannot help with that."


def targeted_rejection(prefix: list[dict[str, str]], chosen: str) -> str | None:
    """The agent's typical mistake for this turn when one is known: a writing reply with the wrong
    number of sentences for the request (the facts one per sentence whatever count is asked)."""
    from agentgraph.finetune.datasets.writing import wrong_count_reply

    users = [m["content"] for m in prefix if m["role"] == "user"]
    return wrong_count_reply(users[-1], chosen) if users and "\nFacts:\n" in users[-1] else None


def preference_rows(rows: list[dict[str, Any]], method: str, count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Up to `count` DPO rows (`rejected_response`) or twice as many KTO rows (`label`) from SFT rows.

    Turns with a known typical mistake (`targeted_rejection`) come first, rejected with that mistake;
    the rest are rejected with a generic plausible corruption."""
    rng = random.Random(seed)
    sources = sorted({s for row in rows for m in row["messages"] for s in _SOURCE.findall(m["content"])})
    pairs: list[tuple[list[dict[str, str]], str, str | None, dict[str, Any]]] = []
    for number, row in enumerate(rows):
        turns = model_turns(row)
        if not turns:
            continue
        start, end = turns[0] if number % 2 == 0 else turns[-1]
        messages = row["messages"]
        prefix, chosen = [dict(m) for m in messages[:start]], render_turn(messages[start:end])
        extra = {"tools": row["tools"]} if row.get("tools") else {}
        pairs.append((prefix, chosen, targeted_rejection(prefix, chosen), extra))
    pairs.sort(key=lambda pair: pair[2] is None)
    dpo = [
        {
            **extra,
            "messages": [*prefix, {"role": "assistant", "content": chosen}],
            "rejected_response": targeted or corrupt(chosen, rng, sources),
        }
        for prefix, chosen, targeted, extra in pairs[:count]
    ]
    return as_method(dpo, method)


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def as_method(pairs: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    """DPO rows (`rejected_response`) as rows of `method`: unchanged for dpo, two labelled rows each for kto."""
    if method == "dpo":
        return pairs
    if method != "kto":
        raise ValueError(f"no preference format for method {method!r}")
    out = []
    for pair in pairs:
        row = {k: v for k, v in pair.items() if k != "rejected_response"}
        rejected = [*row["messages"][:-1], {"role": "assistant", "content": pair["rejected_response"]}]
        out += [{**row, "label": True}, {**row, "messages": rejected, "label": False}]
    return out


def preference_files(
    method: str, data: Any, out_dir: Path, count: int, seed: int, given: Path | None = None, first: list[dict[str, Any]] | None = None
) -> Any:
    """Train/val preference files for `method`: from `given` (split 90/10) or generated from `data`'s SFT
    rows; `first` (DPO rows, e.g. the adapter's own mistakes) lead the training rows and count towards `count`."""
    from agentgraph.finetune.datasets.common import files_hash
    from agentgraph.finetune.rows import read_rows
    from agentgraph.finetune.train import DataFiles

    first = as_method(first or [], method)
    if given is not None:
        rows = read_rows(given, need="rejected_response" if method == "dpo" else "label")
        cut = max(1, len(rows) // 10)
        train, val = first + (rows[cut:] or rows), rows[:cut]
    else:
        per_pair = 1 if method == "dpo" else 2
        generated = preference_rows(_read(data.train), method, max(0, count - len(first) // per_pair), seed)
        train = first + generated
        val = preference_rows(_read(data.val), method, max(2, min(8, count // 8)), seed + 1)
    train_file, val_file = Path(out_dir) / f"{method}_train.jsonl", Path(out_dir) / f"{method}_val.jsonl"
    _write(train_file, train)
    _write(val_file, val)
    return DataFiles(train_file, val_file, files_hash((train_file, val_file)), len(train), len(val))
