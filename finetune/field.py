"""The field set: requests asked the way people ask, over documents no generator made, scored end to end.

A field set is a folder with `requests.jsonl` (one request a line) and `corpus/` (Markdown documents);
its README gives the schema and the scoring rules implemented here. `run_field` ingests the corpus into
a collection of its own, asks every request through the configured graph exactly as `agentgraph run`
does (each turn of an item in one new thread; the last turn is scored) and scores the answers.

The set is a measure: nothing here feeds training.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentgraph.errors import AgentgraphError

__all__ = [
    "FIELD_COLLECTION",
    "KINDS",
    "FieldItem",
    "FieldResult",
    "FieldSetError",
    "check_form",
    "load_field_set",
    "run_field",
    "score",
    "summarise",
    "write_report",
]

FIELD_COLLECTION = "field"
"""The collection the field set's corpus is ingested into (apart from the user's documents)."""
KINDS = ("math", "retrieval", "chain", "followup", "writing", "injection")
AGENTS = frozenset({"math", "retrieval", "writing"})
FORMS = frozenset({"sentences", "max_words", "email", "bullets"})


class FieldSetError(AgentgraphError):
    """A field set that cannot be read: a missing file, or a request line that breaks the schema."""


@dataclass(frozen=True)
class FieldItem:
    """One request of the field set (keys that do not apply are empty)."""

    id: str
    kind: str
    turns: tuple[str, ...]
    expect_any: tuple[str, ...]
    agents: tuple[str, ...] = ()
    source: str | None = None
    form: Mapping[str, Any] = field(default_factory=dict)
    forbidden_tools: tuple[str, ...] = ()
    forbidden_text: tuple[str, ...] = ()


@dataclass
class FieldResult:
    """How one item was answered and scored: every check it names, and what came back."""

    id: str
    kind: str
    passed: bool
    checks: dict[str, bool]
    answer: str
    agents: list[str]
    citations: list[str]
    tool_calls: list[dict[str, Any]]
    errors: list[str]
    thread_id: str


# -- reading -----------------------------------------------------------------------------------------


def load_field_set(directory: str | Path) -> list[FieldItem]:
    """The requests of the field set in `directory`, checked against the schema (a bad line is named)."""
    path = Path(directory) / "requests.jsonl"
    if not path.is_file():
        raise FieldSetError(f"no field set at {directory}: {path} is missing")
    if not (Path(directory) / "corpus").is_dir():
        raise FieldSetError(f"no field set at {directory}: the corpus/ folder is missing")
    items: list[FieldItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            items.append(_item(line, f"{path}:{number}"))
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise FieldSetError(f"{path}: item ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return items


def _item(line: str, where: str) -> FieldItem:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FieldSetError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise FieldSetError(f"{where}: a request is a JSON object")
    for key in ("id", "kind", "turns", "expect_any"):
        if key not in raw:
            raise FieldSetError(f"{where}: missing key {key!r}")
    if raw["kind"] not in KINDS:
        raise FieldSetError(f"{where}: unknown kind {raw['kind']!r}; expected one of {', '.join(KINDS)}")
    turns, expected = raw["turns"], raw["expect_any"]
    if not _strings(turns) or not _strings(expected):
        raise FieldSetError(f"{where}: 'turns' and 'expect_any' are non-empty lists of strings")
    agents = raw.get("agents", [])
    if not isinstance(agents, list) or not set(agents) <= AGENTS:
        raise FieldSetError(f"{where}: 'agents' lists some of {', '.join(sorted(AGENTS))}, got {agents!r}")
    form = raw.get("form", {})
    if not isinstance(form, dict) or not set(form) <= FORMS:
        raise FieldSetError(f"{where}: 'form' takes one of {', '.join(sorted(FORMS))}, got {form!r}")
    return FieldItem(
        id=str(raw["id"]),
        kind=raw["kind"],
        turns=tuple(turns),
        expect_any=tuple(expected),
        agents=tuple(agents),
        source=raw.get("source"),
        form=form,
        forbidden_tools=tuple(raw.get("forbidden_tools", ())),
        forbidden_text=tuple(raw.get("forbidden_text", ())),
    )


def _strings(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


# -- scoring -----------------------------------------------------------------------------------------

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TRAILER = re.compile(r"^\s*(sources?|note)\s*:", re.IGNORECASE)
_MARKER = re.compile(r"\[source:[^\]]*\]", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[A-Za-z]{2,}")
_GREETING = re.compile(r"^(hi|hello|dear|hey|good morning|good afternoon|good evening)\b", re.IGNORECASE)
_SIGN_OFF = re.compile(r"\b(regards|best|thanks|thank you|cheers|sincerely|yours|wishes)\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*([-*•]|\d+[.)])\s*")


def normalise(text: str) -> str:
    """Lower case, thousands separators removed (9,800 -> 9800), runs of white space made single."""
    return " ".join(_THOUSANDS.sub("", text.lower()).split())


def body_of(answer: str) -> str:
    """The answer without a trailing `Sources:` or `Note:` part (a first line is always kept)."""
    lines = answer.strip().splitlines()
    cut = next((i for i, line in enumerate(lines) if i > 0 and _TRAILER.match(line)), len(lines))
    return "\n".join(lines[:cut]).strip()


def sentences(text: str) -> list[str]:
    """The sentences of `text` as the field set counts them."""
    pieces = _SENTENCE_BREAK.split(_MARKER.sub("", text))
    return [p.strip() for p in pieces if p and _WORD.search(p)]


def check_form(answer: str, form: Mapping[str, Any]) -> bool:
    """Whether the answer's body has the form asked for (sentences, max_words, email or bullets)."""
    body = body_of(answer)
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    if "sentences" in form and len(sentences(body)) != int(form["sentences"]):
        return False
    if "max_words" in form and len(body.split()) > int(form["max_words"]):
        return False
    if form.get("email") and not (len(lines) >= 3 and _GREETING.match(lines[0]) and any(_SIGN_OFF.search(line) for line in lines[-3:])):
        return False
    if "bullets" in form and sum(bool(_BULLET.match(line)) for line in lines) != int(form["bullets"]):
        return False
    return True


def score(item: FieldItem, summary: Mapping[str, Any]) -> dict[str, bool]:
    """Every check `item` names, on the run summary of its last turn (as `agentgraph run --json` prints it)."""
    answer = str(summary.get("answer", ""))
    checks = {"answer": any(normalise(expected) in normalise(answer) for expected in item.expect_any)}
    if item.agents:
        checks["agents"] = set(item.agents) <= set(summary.get("agents", []))
    if item.source:
        cited = " ".join(summary.get("citations", []))
        checks["source"] = item.source in cited or item.source in answer
    if item.form:
        checks["form"] = check_form(answer, item.form)
    if item.forbidden_tools:
        names = [str(call.get("name", "")).lower() for call in summary.get("tool_calls", [])]
        checks["tools"] = not any(word.lower() in name for word in item.forbidden_tools for name in names)
    if item.forbidden_text:
        checks["text"] = not any(text.lower() in answer.lower() for text in item.forbidden_text)
    return checks


def summarise(results: Sequence[FieldResult]) -> dict[str, dict[str, float | int]]:
    """Items passed out of items asked, per kind present and overall."""
    table: dict[str, dict[str, float | int]] = {}
    for kind in [*KINDS, "all"]:
        scored = [r for r in results if kind in (r.kind, "all")]
        if scored:
            passed = sum(r.passed for r in scored)
            table[kind] = {"passed": passed, "asked": len(scored), "accuracy": passed / len(scored)}
    return table


# -- running -----------------------------------------------------------------------------------------

Asker = Callable[[FieldItem], FieldResult]


def run_field(
    directory: str | Path,
    ask: Asker,
    *,
    ids: Iterable[str] | None = None,
    limit: int | None = None,
    concurrency: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[FieldResult]:
    """Ask the chosen items of the field set in `directory` with `ask`, `concurrency` at a time, in file order."""
    items = load_field_set(directory)
    if ids is not None:
        wanted = set(ids)
        unknown = wanted - {item.id for item in items}
        if unknown:
            raise FieldSetError(f"no items with ids {', '.join(sorted(unknown))} in {directory}")
        items = [item for item in items if item.id in wanted]
    items = items[:limit] if limit is not None else items
    done = 0
    if on_progress:
        on_progress(0, len(items))

    def one(item: FieldItem) -> FieldResult:
        nonlocal done
        result = ask(item)
        done += 1
        if on_progress:
            on_progress(done, len(items))
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, items))


def graph_asker(graph: Any) -> Asker:
    """Asks an item through a compiled graph as `agentgraph run --json` does: every turn in one new thread."""
    from langchain_core.messages import HumanMessage

    from agentgraph.threads import run_summary, thread_config

    def ask(item: FieldItem) -> FieldResult:
        thread_id = f"field-{item.id}-{uuid.uuid4().hex[:8]}"
        config = thread_config(thread_id)
        summary: dict[str, Any] = {}
        for turn in item.turns:
            try:
                for _ in graph.stream({"messages": [HumanMessage(turn)]}, config, stream_mode="updates"):
                    pass
                state = graph.get_state(config)
                summary = run_summary(thread_id, state.values, state.interrupts)
            except Exception as exc:  # noqa: BLE001 - a failing item is a miss with its error, the set goes on
                summary = {"answer": "", "errors": [f"{type(exc).__name__}: {exc}"]}
                break
        checks = score(item, summary)
        return FieldResult(
            id=item.id,
            kind=item.kind,
            passed=all(checks.values()),
            checks=checks,
            answer=str(summary.get("answer", "")),
            agents=list(summary.get("agents", [])),
            citations=list(summary.get("citations", [])),
            tool_calls=list(summary.get("tool_calls", [])),
            errors=list(summary.get("errors", [])),
            thread_id=thread_id,
        )

    return ask


# -- report ------------------------------------------------------------------------------------------


def write_report(results: Sequence[FieldResult], items: Sequence[FieldItem], out: Path) -> dict[str, dict[str, float | int]]:
    """eval.json (per kind and per item), eval.md (the table), eval.png (the chart) and misses.md in `out`."""
    from agentgraph.finetune.plots import plot_field

    out.mkdir(parents=True, exist_ok=True)
    table = summarise(results)
    (out / "eval.json").write_text(json.dumps({"kinds": table, "items": [asdict(r) for r in results]}, indent=2, ensure_ascii=False) + "\n")
    rows = [f"| {kind} | {row['passed']} / {row['asked']} | {row['accuracy']:.0%} |" for kind, row in table.items()]
    (out / "eval.md").write_text(
        "# Field set, end to end through the graph (greedy)\n\n| kind | passed | accuracy |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    (out / "misses.md").write_text(_misses(results, {item.id: item for item in items}))
    plot_field(table, out / "eval.png")
    return table


def _misses(results: Sequence[FieldResult], items: Mapping[str, FieldItem]) -> str:
    lines = ["# Field set: what each agent still misses", ""]
    missed = [r for r in results if not r.passed]
    if not missed:
        return "\n".join([*lines, "Every item passed."]) + "\n"
    for kind in KINDS:
        of_kind = [r for r in missed if r.kind == kind]
        if not of_kind:
            continue
        lines += [f"## {kind} ({len(of_kind)} missed)", ""]
        for r in of_kind:
            item = items[r.id]
            failed = ", ".join(name for name, ok in r.checks.items() if not ok)
            lines.append(f"### {r.id}: failed {failed}")
            lines += [f"- asked: {turn!r}" for turn in item.turns]
            lines.append(
                f"- expected any of {list(item.expect_any)}; agents {list(item.agents)}; source {item.source}; form {dict(item.form)}"
            )
            lines.append(f"- agents ran: {r.agents}; citations: {r.citations}")
            lines.append(f"- tool calls: {[(c.get('agent'), c.get('name'), c.get('arguments')) for c in r.tool_calls]}")
            lines.append("- answer:")
            lines += [f"  > {line}" for line in (r.answer or "(empty)").splitlines()]
            lines += [f"- error: {e}" for e in r.errors[:3]]
            lines.append("")
    return "\n".join(lines) + "\n"
