"""Shared pieces of the dataset builders: ms-swift rows from LangChain messages, item-disjoint splits,
held-out phrasings, JSONL files and their hash, and token lengths measured with the training template."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

SPLITS = ("train", "val", "test")
GENERATION_ORDER = ("test", "val", "train")
"""Test and validation items are drawn first, so they do not change when only the train count does."""
HELD_OUT_EVERY = 5
"""Every fifth phrasing of a list is held out of train and validation and appears only in test."""

T = TypeVar("T")


def swift_row(messages: Sequence[BaseMessage], tools: Sequence[dict] | None = None, unlearnt: Collection[str] = ()) -> dict[str, Any]:
    """A conversation as one ms-swift agent-format row (`tools` as a JSON string, `tool_call` and
    `tool_response` messages); the same conversation the served model sees through LangChain. The calls
    whose ids are in `unlearnt` carry `"loss": false`."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            out.append({"role": "system", "content": _text(message)})
        elif isinstance(message, HumanMessage):
            out.append({"role": "user", "content": _text(message)})
        elif isinstance(message, AIMessage):
            if _text(message):
                out.append({"role": "assistant", "content": _text(message)})
            for call in message.tool_calls:
                payload = {"name": call["name"], "arguments": call["args"]}
                out.append({"role": "tool_call", "content": json.dumps(payload, ensure_ascii=False)})
                if call["id"] in unlearnt:
                    out[-1]["loss"] = False
        elif isinstance(message, ToolMessage):
            out.append({"role": "tool_response", "content": _text(message)})
        else:
            raise TypeError(f"no ms-swift role for a {type(message).__name__}")
    row: dict[str, Any] = {"messages": out}
    if tools:
        row = {"tools": json.dumps(list(tools), ensure_ascii=False), **row}
    return row


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part if isinstance(part, str) else part.get("text", "") for part in content)


def tool_call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    """A LangChain tool call."""
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def normalise_key(text: str) -> str:
    """An item key that ignores case, spacing and final punctuation."""
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(" .?!")


class SplitLedger:
    """Remembers which split owns each item key, so no item lands in two splits."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}

    def available(self, keys: Iterable[str], split: str) -> bool:
        """True when none of `keys` belongs to another split."""
        return all(self.owner.get(key, split) == split for key in keys)

    def claim(self, keys: Iterable[str], split: str) -> None:
        """Give `keys` to `split`."""
        for key in keys:
            self.owner.setdefault(key, split)


@dataclass
class Example:
    """One generated row with the item keys it uses and its kind (for counts and split checks)."""

    row: dict[str, Any]
    keys: tuple[str, ...]
    kind: str
    held_out: bool = False


def fill_split(
    make: Callable[[random.Random, str], Example | None],
    rng: random.Random,
    split: str,
    count: int,
    ledger: SplitLedger,
    max_tries_per_row: int = 200,
) -> list[Example]:
    """`count` examples from `make` whose keys are new to this split's rivals and not repeated in it."""
    examples: list[Example] = []
    seen_rows: set[str] = set()
    tries = 0
    while len(examples) < count:
        tries += 1
        if tries > max_tries_per_row * max(count, 1):
            raise RuntimeError(f"could only generate {len(examples)} of {count} {split} rows with disjoint items")
        example = make(rng, split)
        if example is None or not ledger.available(example.keys, split):
            continue
        fingerprint = json.dumps(example.row, sort_keys=True)
        if fingerprint in seen_rows:
            continue
        seen_rows.add(fingerprint)
        ledger.claim(example.keys, split)
        examples.append(example)
    return examples


def phrasings(templates: Sequence[T], split: str) -> list[T]:
    """The phrasings a split may use: all of them in test, all but the held-out ones elsewhere."""
    if split == "test" or len(templates) < HELD_OUT_EVERY:
        return list(templates)
    return [t for i, t in enumerate(templates) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]


def is_held_out(templates: Sequence[T], template: T) -> bool:
    """True when `template` is one that only the test split uses."""
    index = list(templates).index(template)
    return len(templates) >= HELD_OUT_EVERY and index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


def pick(rng: random.Random, templates: Sequence[T], split: str) -> tuple[T, bool]:
    """A phrasing allowed in `split`, and whether it is held out of training."""
    template = rng.choice(phrasings(templates, split))
    return template, is_held_out(templates, template)


def split_rng(seed: int, agent: str, split: str) -> random.Random:
    """An independent random stream per (seed, agent, split)."""
    digest = hashlib.sha256(f"{seed}:{agent}:{split}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write one JSON object a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def files_hash(paths: Iterable[Path], root: Path | None = None) -> str:
    """A short sha256 over the files' names (relative to `root`, or bare without it) and bytes, in sorted order."""
    named = sorted((Path(path).relative_to(root).as_posix() if root else Path(path).name, Path(path)) for path in paths)
    digest = hashlib.sha256()
    for name, path in named:
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class DatasetInfo:
    """What `build_dataset` wrote: row counts, files, kinds per split and the data hash."""

    agent: str
    seed: int
    directory: Path
    files: dict[str, Path]
    counts: dict[str, int]
    kinds: dict[str, dict[str, int]]
    held_out_test_rows: int
    data_hash: str
    """Of every split file (and the extra folders)."""
    training_hash: str
    """Of the train and validation files: the `data_hash` an SFT adapter trained on them is registered with."""
    extra_dirs: tuple[Path, ...] = ()
    examples: tuple[dict[str, Any], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class TokenStats:
    """Token lengths of rows as the training template encodes them."""

    rows: int
    mean: float
    max: int
    mean_trained: float
    """Mean number of tokens that carry loss (the model's turns)."""


def token_stats(rows: Sequence[dict[str, Any]], model_dir: Path) -> TokenStats:
    """Encode `rows` with the registered ms-swift template (tokenizer only) and measure them."""
    template = swift_template(model_dir)
    lengths, trained = [], []
    for row in rows:
        encoded = template.encode(row)
        lengths.append(len(encoded["input_ids"]))
        trained.append(sum(label != -100 for label in encoded["labels"]))
    return TokenStats(rows=len(rows), mean=sum(lengths) / len(lengths), max=max(lengths), mean_trained=sum(trained) / len(trained))


def swift_template(model_dir: Path):  # noqa: ANN201 - swift's Template type is heavy to import at module level
    """The `agentgraph_gemma3` training template on the tokenizer in `model_dir`, in training mode."""
    from swift.model import get_processor
    from swift.template import get_template

    from agentgraph.finetune import swift_plugin  # registers the templates
    from agentgraph.serving.profile import GEMMA3_270M_CPU

    processor = get_processor(str(model_dir), model_type=GEMMA3_270M_CPU.swift_model_type)
    template = get_template(processor, template_type=swift_plugin.TEMPLATE, agent_template=swift_plugin.AGENT_TEMPLATE)
    template.set_mode("train")
    return template
