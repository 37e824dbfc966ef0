"""Seeded builders of the adapters' training data, in ms-swift's agent format.

`build_dataset(agent, out_dir, seed=0, n_train=None)` writes `out_dir/{train,val,test}.jsonl` (and, for
retrieval, the documents under `out_dir/corpus/{train,val,test}/`) and returns a `DatasetInfo` with the
counts and a hash of everything written. Splits share no item (expression, document, fact set or
sub-task), test and validation rows do not depend on the train count, and the same seed gives the same
bytes; `out_dir/built.json` records the seed, the train count and a hash of the code the rows come from
(the builders, and the prompts, tools and calculator of `ROW_SOURCES`), so `is_current` can tell data
built by other settings or older code. `write_card(info)` writes the committed summary `finetune/cards/<agent>.md`; `build_all()` does
both for every agent into the configured data folder.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path

from agentgraph.finetune.datasets import retrieval as retrieval_data
from agentgraph.finetune.datasets.common import (
    GENERATION_ORDER,
    SPLITS,
    DatasetInfo,
    Example,
    SplitLedger,
    TokenStats,
    files_hash,
    fill_split,
    split_rng,
    token_stats,
    write_jsonl,
)
from agentgraph.finetune.specs import AGENTS, TRAINING

DEFAULT_VAL = 100
DEFAULT_TEST = 100
STAMP = "built.json"
"""The file in a data folder that records what the data was built from."""
ROW_SOURCES = (
    "agentgraph.agent",
    "agentgraph.agents",
    "agentgraph.agents.math",
    "agentgraph.agents.retrieval",
    "agentgraph.agents.writing",
    "agentgraph.mathexpr",
    "agentgraph.retrieval.loaders",
    "agentgraph.router",
    "agentgraph.supervisor",
    "agentgraph.citations",
    "agentgraph.retrieval.focus",
    "agentgraph.retrieval.search",
)
"""Modules outside the builders whose code shapes the rows: system prompts, tool schemas, the calculator."""
CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"


def build_dataset(
    agent: str,
    out_dir: Path,
    seed: int = 0,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
) -> DatasetInfo:
    """Build one agent's train/val/test files in `out_dir` (replacing what was there)."""
    if agent not in AGENTS:
        raise ValueError(f"no dataset builder for {agent!r}; known agents: {', '.join(AGENTS)}")
    out_dir = Path(out_dir)
    counts = {
        "train": TRAINING[agent].default_train if n_train is None else n_train,
        "val": DEFAULT_VAL if n_val is None else n_val,
        "test": DEFAULT_TEST if n_test is None else n_test,
    }
    ledger = SplitLedger()
    examples: dict[str, list[Example]] = {}
    extra_files: list[Path] = []
    extra_dirs: tuple[Path, ...] = ()
    if agent == "retrieval":
        builder = retrieval_data.RetrievalBuilder(ledger)
        for split in GENERATION_ORDER:
            examples[split] = builder.examples(split_rng(seed, agent, split), split, counts[split])
        corpus = out_dir / "corpus"
        if corpus.exists():
            shutil.rmtree(corpus)
        extra_files = builder.write_corpus(corpus)
        extra_dirs = (corpus,)
    else:
        for split in GENERATION_ORDER:
            examples[split] = fill_split(
                TRAINING[agent].builder().make_example, split_rng(seed, agent, split), split, counts[split], ledger
            )
    files = {split: out_dir / f"{split}.jsonl" for split in SPLITS}
    for split in SPLITS:
        write_jsonl(files[split], (example.row for example in examples[split]))
    (out_dir / STAMP).write_text(json.dumps(build_stamp(seed, counts["train"])) + "\n", encoding="utf-8")
    return DatasetInfo(
        agent=agent,
        seed=seed,
        directory=out_dir,
        files=files,
        counts={split: len(examples[split]) for split in SPLITS},
        kinds={split: dict(sorted(Counter(e.kind for e in examples[split]).items())) for split in SPLITS},
        held_out_test_rows=sum(e.held_out for e in examples["test"]),
        data_hash=files_hash([*files.values(), *extra_files], out_dir),
        training_hash=files_hash([files["train"], files["val"]]),
        extra_dirs=extra_dirs,
        examples=tuple(_showcase(examples["train"])),
    )


def build_stamp(seed: int, n_train: int) -> dict[str, int | str]:
    """What a data folder is built from: the seed, the train count, the builders' code and `ROW_SOURCES`."""
    package = Path(__file__).resolve().parent
    code = [path for path in package.glob("*.py") if path.name != "unseen.py"]
    sources = [Path(importlib.import_module(name).__file__ or "").resolve() for name in ROW_SOURCES]
    return {
        "seed": seed,
        "n_train": n_train,
        "builders": files_hash(code, package),
        "row_sources": files_hash(sources, Path(os.path.commonpath(sources))),
    }


def is_placed_by_hand(out_dir: Path) -> bool:
    """True when `out_dir` holds split files the builders did not write (no built.json): data to use as
    it is and never to overwrite."""
    out_dir = Path(out_dir)
    return not (out_dir / STAMP).exists() and any((out_dir / f"{split}.jsonl").exists() for split in SPLITS)


def is_current(out_dir: Path, seed: int, n_train: int) -> bool:
    """True when `out_dir` holds data these builders make with this seed and train count."""
    try:
        stamp = json.loads((Path(out_dir) / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp == build_stamp(seed, n_train) and all((Path(out_dir) / f"{split}.jsonl").is_file() for split in SPLITS)


def _showcase(examples: list[Example], count: int = 3) -> list[dict]:
    """Train rows of different kinds: one multi-part, retry or follow-up row if any, then plain ones."""
    firsts: dict[str, dict] = {}
    for example in examples:
        firsts.setdefault(example.kind, example.row)
    special = [k for k in firsts if "+" in k or "retry" in k or "follow-up" in k][:1]
    plain = [k for k in firsts if k not in special]
    return [firsts[k] for k in (plain[: count - len(special)] + special)]


def write_card(info: DatasetInfo, cards_dir: Path = CARDS_DIR, model_dir: Path | None = None) -> Path:
    """Write the dataset card `<cards_dir>/<agent>.md` (token lengths when `model_dir` has the tokenizer)."""
    from agentgraph.finetune.datasets.common import read_jsonl

    lines = [
        f"# Dataset card: {info.agent}",
        "",
        f"Built with `build_dataset({info.agent!r}, out_dir, seed={info.seed}, n_train={info.counts['train']})` from "
        f"`finetune/datasets/{info.agent}.py` (the seed and train count of `finetune/configs/{info.agent}.toml`); "
        f"data hash `{info.data_hash}` (train and validation alone: `{info.training_hash}`, the `data_hash` an SFT adapter "
        "trained on them is registered with). "
        "The rows are not committed: the same seed rebuilds the same bytes.",
        "",
        "## How it was made",
        "",
        " ".join((TRAINING[info.agent].builder().__doc__ or "").split()),
        "",
        "Format: ms-swift agent rows (`tools` as a JSON string; `system`, `user`, `tool_call`, `tool_response`, "
        "`assistant` messages), trained with `--custom_register_path finetune/swift_plugin.py --template agentgraph_gemma3`, "
        "the same text vLLM renders with `agentgraph/serving/templates/gemma3_pythonic.jinja`.",
        "",
        "## Counts",
        "",
        "| split | rows | by kind |",
        "|---|---|---|",
    ]
    for split in SPLITS:
        kinds = ", ".join(f"{kind} {n}" for kind, n in info.kinds[split].items())
        lines.append(f"| {split} | {info.counts[split]} | {kinds} |")
    lines += [
        "",
        f"Splits share no item. {info.held_out_test_rows} of the {info.counts['test']} test rows use a phrasing "
        "held out of train and validation (every fifth phrasing of each list).",
    ]
    if info.extra_dirs:
        lines.append(
            "Documents: "
            + ", ".join(f"`{d.name}/{split}/`" for d in info.extra_dirs for split in SPLITS)
            + " (test questions are about test documents only)."
        )
    if model_dir is not None and (Path(model_dir) / "tokenizer.json").is_file():
        lines += [
            "",
            "## Token lengths",
            "",
            "Encoded with the training template (Gemma 3 tokenizer); *trained* counts the tokens that carry loss.",
            "",
            "| split | mean | max | mean trained |",
            "|---|---|---|---|",
        ]
        for split in SPLITS:
            stats: TokenStats = token_stats(read_jsonl(info.files[split]), Path(model_dir))
            lines.append(f"| {split} | {stats.mean:.0f} | {stats.max} | {stats.mean_trained:.0f} |")
    lines += ["", "## Examples", ""]
    for row in info.examples:
        lines.append("```")
        for message in row["messages"]:
            lines.append(f"[{message['role']}] {message['content']}")
        lines += ["```", ""]
    cards_dir.mkdir(parents=True, exist_ok=True)
    path = cards_dir / f"{info.agent}.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def build_all(cards: bool = True) -> dict[str, DatasetInfo]:
    """Build every agent's dataset into the configured data folder (`finetune.data_dir`), with cards.

    Each agent's seed and train count come from its training config, so a card describes the rows its
    adapter was trained on."""
    from agentgraph.finetune.config import load_config
    from agentgraph.serving.prepare import model_dir
    from agentgraph.serving.profile import GEMMA3_270M_CPU
    from agentgraph.settings import get_settings

    settings = get_settings()
    infos = {}
    for agent in AGENTS:
        data = load_config(agent, settings.finetune.configs_dir).data
        infos[agent] = build_dataset(agent, Path(settings.finetune.data_dir) / agent, seed=data.seed, n_train=data.n_train)
        if cards:
            write_card(infos[agent], model_dir=model_dir(settings, GEMMA3_270M_CPU))
    return infos


__all__ = ["AGENTS", "CARDS_DIR", "DatasetInfo", "TokenStats", "build_all", "build_dataset", "write_card"]
