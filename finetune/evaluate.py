"""`agentgraph eval`: base model vs adapter on each agent's held-out TEST split, against the running server.

Every request is greedy (temperature 0) and goes through the same LangChain `ChatOpenAI` client and
chat template as the running agents. Metrics (fractions of test rows):

- router `agent_accuracy`: the valid handoffs of the reply name exactly the expected agents (as a
  multiset: order and task wording are not scored).
- math `tool_call_exact`: the first call of the reply uses the expected tool, and its argument gives the
  same result as the reference call when run through the real tool: the same exact value for
  `calculator` ("12*(3+4)" and "(3+4)*12" are both exact), the same solution set for `solve`.
  A call the tool refuses is never exact. Rows whose reference first tries a refused call are scored
  against the corrected (last) call.
- math `answer_correct`: the model's own call is run through the real tool, its result fed back as the
  tool turn, and the number in the final reply must equal the true value (the reference result); for
  `solve`, every `name: value` of the reference must appear in the reply. A reply without a call scores
  on its text alone.
- retrieval `search_hit`: the reply calls `search`, and that query, run over the test corpus (ingested
  into a temporary in-memory collection), returns the source that holds the fact within the top k
  (`retrieval.top_k`, what the running agent gets).
- retrieval `citation_correct`: the real passages of that search are fed back, and the final reply cites
  (`[source: ...]`) the source that holds the fact, and no other.
- writing `format_ok`: `check_format` with the form, word limit and sentence count that
  `parse_request` reads from the task.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agentgraph.errors import AgentgraphError
from agentgraph.finetune.specs import EVALUATED, ROUTER_AGENTS, TRAINING
from agentgraph.settings import Settings

AGENT_METRICS: dict[str, tuple[str, ...]] = {name: TRAINING[name].metrics for name in EVALUATED}
"""The metrics of each agent with a built-in evaluation (from `agentgraph.finetune.specs`)."""
MODELS = ("adapter", "base")


class EvalError(AgentgraphError):
    """The evaluation cannot run (no test data, no server)."""


# -- rows -> conversations -------------------------------------------------------------------------


def row_messages(row: dict[str, Any]) -> list[BaseMessage]:
    """An ms-swift agent-format row as LangChain messages (tool calls paired with their results)."""
    messages: list[BaseMessage] = []
    pending: list[str] = []
    previous = ""
    for number, item in enumerate(row["messages"], start=1):
        role, content = item["role"], item["content"]
        if role == "system":
            messages.append(SystemMessage(content))
        elif role == "user":
            messages.append(HumanMessage(content))
        elif role == "assistant":
            messages.append(AIMessage(content))
        elif role == "tool_call":
            payload = json.loads(content)
            call = {"name": payload["name"], "args": payload.get("arguments") or {}, "id": f"call_{number}", "type": "tool_call"}
            if previous == "tool_call":  # consecutive calls are one model turn
                messages[-1].tool_calls.append(call)  # type: ignore[attr-defined]
            else:
                messages.append(AIMessage("", tool_calls=[call]))
            pending.append(call["id"])
        elif role == "tool_response":
            call_id = pending.pop(0) if pending else f"call_{number}"
            messages.append(ToolMessage(content, tool_call_id=call_id))
        else:
            raise EvalError(f"unknown role {role!r} in a test row")
        previous = role
    return messages


def row_tools(row: dict[str, Any]) -> list[dict]:
    """The row's tools as OpenAI function schemas."""
    tools = row.get("tools")
    if not tools:
        return []
    return json.loads(tools) if isinstance(tools, str) else list(tools)


def prompt_of(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages before the first model turn."""
    for index, message in enumerate(messages):
        if isinstance(message, AIMessage):
            return list(messages[:index])
    return list(messages)


def reference_calls(messages: Sequence[BaseMessage]) -> list[dict]:
    """Every tool call of the reference conversation, in order."""
    return [call for m in messages if isinstance(m, AIMessage) for call in m.tool_calls]


def final_text(messages: Sequence[BaseMessage]) -> str:
    """The text of the reference's last model turn."""
    for message in reversed(messages):
        if isinstance(message, AIMessage) and isinstance(message.content, str) and message.content:
            return message.content
    return ""


# -- scoring (pure functions) ------------------------------------------------------------------------


def score_router(reply: AIMessage, expected: Sequence[str], agents: Iterable[str] = ROUTER_AGENTS) -> bool:
    """True when the reply's valid handoffs go to exactly the expected agents (as a multiset)."""
    from agentgraph.router import parse_handoffs

    handoffs, _rejected = parse_handoffs(reply, agents)
    return sorted(h.agent for h in handoffs) == sorted(expected)


def _run_math_tool(name: str, args: dict[str, Any]) -> str | None:
    from agentgraph import mathexpr

    try:
        if name == "calculator" and isinstance(args.get("expression"), str):
            return mathexpr.evaluate(args["expression"])
        if name == "solve" and isinstance(args.get("equations"), str):
            return mathexpr.solve(args["equations"])
    except (mathexpr.MathInputError, TypeError, ValueError, ZeroDivisionError):
        return None
    except Exception:  # sympy can raise its own errors on odd input
        return None
    return None


def _solution_set(text: str) -> set[str]:
    return {part.strip() for part in text.split(";") if part.strip()}


def same_result(a: str, b: str) -> bool:
    """True when two tool results state the same value (or the same solutions)."""
    if ":" in a or ":" in b:
        return _solution_set(a) == _solution_set(b)
    return a.strip() == b.strip()


def score_math_call(reply: AIMessage, expected: dict) -> bool:
    """True when the reply's first call uses the expected tool and gives the reference call's result."""
    if not reply.tool_calls:
        return False
    call = reply.tool_calls[0]
    if call["name"] != expected["name"]:
        return False
    got, want = _run_math_tool(call["name"], call.get("args") or {}), _run_math_tool(expected["name"], expected["args"])
    return got is not None and want is not None and same_result(got, want)


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def numbers_in(text: str) -> list[Fraction]:
    """The numbers written in `text` (thousands separators, decimals and fractions), in order."""
    values = []
    for match in _NUMBER.findall(text):
        token = match.replace(",", "")
        try:
            values.append(Fraction(token))
        except (ValueError, ZeroDivisionError):
            continue
    return values


def _truth_values(result: str) -> list[Fraction]:
    exact = result.split(" ≈ ")
    values = []
    for part in exact:
        try:
            values.append(Fraction(part.strip()))
        except (ValueError, ZeroDivisionError):
            continue
    return values


def score_math_answer(text: str, truth: str) -> bool:
    """True when the final reply states the true value: its (last) number equals the tool's exact result
    (or its decimal approximation); for solutions, every `name: value` appears."""
    if ":" in truth:
        compact = re.sub(r"\s+", "", text)
        return all(re.sub(r"\s+", "", part) in compact for part in _solution_set(truth) if part != "no solution") or (
            truth == "no solution" and "no solution" in text.lower()
        )
    wanted = _truth_values(truth)
    found = numbers_in(text.split("The answer is", 1)[-1])
    if not wanted or not found:
        return False
    last = found[-1]
    for value in wanted:
        if last == value:
            return True
        if value.denominator != 1 and abs(float(last) - float(value)) <= 5e-10 * max(1.0, abs(float(value))):
            return True
    return False


def score_citation(answer: str, source: str) -> bool:
    """True when the answer cites `source` and nothing else."""
    from agentgraph.agents.retrieval import citations

    return citations(answer) == [source]


def score_writing(text: str, task: str) -> bool:
    """True when the text has the form and length the task asks for."""
    from agentgraph.agents.writing import check_format, parse_request

    form, max_words, sentences = parse_request(task)
    return check_format(text, form, max_words, sentences).ok


def writing_task(prompt: Sequence[BaseMessage]) -> str:
    """The request line of the writing agent's user turn (the text before its `Facts:` list)."""
    user = next((m for m in reversed(prompt) if isinstance(m, HumanMessage)), None)
    text = user.content if user is not None and isinstance(user.content, str) else ""
    return text.split("\nFacts:", 1)[0]


# -- running ---------------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """Scores of one test row for one model."""

    scores: dict[str, bool]
    detail: dict[str, Any] = field(default_factory=dict)


Invoke = Callable[[list[BaseMessage], list[dict]], AIMessage]


def _call_args(call: dict) -> dict:
    return call.get("args") or {}


def eval_router(row: dict, invoke: Invoke) -> CaseResult:
    """Router: one request; the handoffs of the reply."""
    from agentgraph.router import HANDOFF_PREFIX

    messages = row_messages(row)
    prompt = prompt_of(messages)
    first = next((m for m in messages if isinstance(m, AIMessage)), AIMessage(""))
    expected = [c["name"].removeprefix(HANDOFF_PREFIX) for c in first.tool_calls]
    tools = row_tools(row)
    roster = [t["function"]["name"].removeprefix(HANDOFF_PREFIX) for t in tools] or list(ROUTER_AGENTS)  # the row's own agents
    reply = invoke(prompt, tools)
    return CaseResult(
        {"agent_accuracy": score_router(reply, expected, roster)}, {"expected": expected, "calls": reply.tool_calls, "text": reply.content}
    )


def eval_math(row: dict, invoke: Invoke) -> CaseResult:
    """Math: the call, then the final answer after the real tool result."""
    messages = row_messages(row)
    prompt, tools = prompt_of(messages), row_tools(row)
    expected = reference_calls(messages)[-1]
    truth = _run_math_tool(expected["name"], _call_args(expected)) or ""
    reply = invoke(prompt, tools)
    exact = score_math_call(reply, {"name": expected["name"], "args": _call_args(expected)})
    final = reply
    if reply.tool_calls:
        call = reply.tool_calls[0]
        result = _run_math_tool(call["name"], _call_args(call)) or f"{call['name']}: cannot evaluate {_call_args(call)}"
        call_id = call.get("id") or "call_1"
        second = AIMessage("", tool_calls=[{"name": call["name"], "args": _call_args(call), "id": call_id, "type": "tool_call"}])
        final = invoke([*prompt, second, ToolMessage(result, tool_call_id=call_id)], tools)
    text = final.content if isinstance(final.content, str) else ""
    correct = not final.tool_calls and score_math_answer(text, truth)
    return CaseResult(
        {"tool_call_exact": exact, "answer_correct": correct},
        {"expected": expected, "calls": reply.tool_calls, "answer": text, "truth": truth},
    )


def eval_retrieval(row: dict, invoke: Invoke, search: Callable[[str], list[Any]]) -> CaseResult:
    """Retrieval: the search call over the test corpus, then the cited answer after the real passages."""
    from agentgraph.agents.retrieval import citations, format_passages

    messages = row_messages(row)
    prompt, tools = prompt_of(messages), row_tools(row)
    sources = citations(final_text(messages))
    source = sources[0] if sources else ""
    reply = invoke(prompt, tools)
    call = reply.tool_calls[0] if reply.tool_calls else None
    hit, cited, answer = False, False, ""
    if call is not None and call["name"] == "search" and isinstance(_call_args(call).get("query"), str):
        passages = search(_call_args(call)["query"])
        hit = any(p.source == source for p in passages)
        call_id = call.get("id") or "call_1"
        second = AIMessage("", tool_calls=[{"name": "search", "args": _call_args(call), "id": call_id, "type": "tool_call"}])
        final = invoke([*prompt, second, ToolMessage(format_passages(passages), tool_call_id=call_id)], tools)
        answer = final.content if isinstance(final.content, str) else ""
        cited = not final.tool_calls and score_citation(answer, source)
    return CaseResult({"search_hit": hit, "citation_correct": cited}, {"source": source, "call": call, "answer": answer})


def eval_writing(row: dict, invoke: Invoke) -> CaseResult:
    """Writing: one request; the reply's form and length."""
    messages = row_messages(row)
    prompt = prompt_of(messages)
    reply = invoke(prompt, row_tools(row))
    text = reply.content if isinstance(reply.content, str) else ""
    task = writing_task(prompt)
    return CaseResult({"format_ok": bool(text) and not reply.tool_calls and score_writing(text, task)}, {"task": task, "text": text})


SPLITS = ("test", "val")
"""Built splits `agentgraph eval` scores: the held-out test split, or the validation split (to choose a checkpoint)."""


def load_split_rows(agent: str, settings: Settings, split: str = "test", limit: int | None = None) -> list[dict]:
    """The agent's rows of a held-out `split`: built with the data builder when missing, rebuilt when the
    builders made them with other settings or older code; a split placed by hand is used as it is."""
    from agentgraph.finetune.config import load_config
    from agentgraph.finetune.datasets import is_placed_by_hand
    from agentgraph.finetune.train import ensure_dataset

    if split not in SPLITS:
        raise EvalError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} (training rows are not scored)")
    folder = Path(settings.finetune.data_dir) / agent
    path = folder / f"{split}.jsonl"
    if not is_placed_by_hand(folder):
        ensure_dataset(agent, settings, load_config(agent, settings.finetune.configs_dir))
    if not path.is_file():
        raise EvalError(f"{folder} was placed by hand (no built.json) and has no {split}.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        raise EvalError(f"{path} has no rows")
    return rows[:limit] if limit else rows


def make_invoke(model_name: str, settings: Settings, max_tokens: int = 256) -> Invoke:
    """A greedy call of `model_name` on the server with the row's tools."""
    from agentgraph.serving.client import chat_model

    model = chat_model(model_name, settings, max_tokens=max_tokens)

    def invoke(messages: list[BaseMessage], tools: list[dict]) -> AIMessage:
        bound = model.bind_tools(tools) if tools else model  # type: ignore[attr-defined]
        reply = bound.invoke(messages)
        return reply if isinstance(reply, AIMessage) else AIMessage(str(reply.content))

    return invoke


class _CorpusSearch:
    """The test corpus in a temporary in-memory collection, searched like the running agent does."""

    def __init__(self, corpus: Path, top_k: int) -> None:
        from langgraph.store.memory import InMemoryStore

        from agentgraph.retrieval import HybridSearcher, corpus_index_config, ingest

        if not corpus.is_dir():
            raise EvalError(f"no test corpus at {corpus}; rebuild the retrieval data")
        store = InMemoryStore(index=corpus_index_config())
        report = ingest(store, corpus, "eval_test_corpus")
        if not report.ok:
            raise EvalError(f"ingesting the test corpus {corpus} failed: {report}")
        self.searcher = HybridSearcher(store, "eval_test_corpus")
        self.top_k = top_k

    def __call__(self, query: str) -> list[Any]:
        return self.searcher.search(query, self.top_k)


def _scored(run: Callable[[dict, Invoke], CaseResult], row: dict, invoke: Invoke, metrics: Sequence[str]) -> CaseResult:
    """One row's result; a request that fails (e.g. times out) scores zero and keeps its error."""
    try:
        return run(row, invoke)
    except AgentgraphError as exc:
        return CaseResult(dict.fromkeys(metrics, False), {"error": str(exc)})
    except Exception as exc:  # the OpenAI client raises its own error types
        return CaseResult(dict.fromkeys(metrics, False), {"error": f"{type(exc).__name__}: {exc}"})


def case_runner(agent: str, settings: Settings, corpus: Path | None = None, split: str = "test") -> Callable[[dict, Invoke], CaseResult]:
    """The function that runs and scores one of `agent`'s rows (retrieval searches `corpus`, by default
    the corpus of `split`)."""
    if agent == "retrieval":
        corpus = corpus or Path(settings.finetune.data_dir) / "retrieval" / "corpus" / split
        search = _CorpusSearch(corpus, settings.retrieval.top_k)
        return lambda row, invoke: eval_retrieval(row, invoke, search)
    if agent not in EVALUATED:
        raise EvalError(f"no evaluation for {agent!r}; known agents: {', '.join(EVALUATED)}")
    return globals()[TRAINING[agent].evaluator]  # type: ignore[index]


def run_cases(
    agent: str,
    rows: Sequence[dict],
    run: Callable[[dict, Invoke], CaseResult],
    make_row_invoke: Callable[[], Invoke],
    concurrency: int,
    on_done: Callable[[int, int], None] | None = None,
) -> list[CaseResult]:
    """Every row run and scored (`concurrency` at a time), results in row order. `make_row_invoke` is
    called once per row, in row order, before any row runs, and gives that row its invoke."""
    results: list[CaseResult | None] = [None] * len(rows)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(_scored, run, row, make_row_invoke(), AGENT_METRICS[agent]): i for i, row in enumerate(rows)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if on_done is not None:
                on_done(done, len(rows))
    return [r for r in results if r is not None]


def evaluate_agent(
    agent: str,
    settings: Settings,
    models: Sequence[str] = MODELS,
    limit: int | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    invoke_factory: Callable[[str], Invoke] | None = None,
    unseen: bool = False,
    split: str = "test",
) -> tuple[dict[str, dict[str, float]], dict[str, list[CaseResult]]]:
    """Fractions per metric for each model (`adapter` is the agent's adapter) and the per-row results, on
    a held-out `split` or, with `unseen`, on the hand-written requests of `datasets/unseen.py`."""
    from agentgraph.serving.client import BASE_MODEL_NAME

    if unseen:
        from agentgraph.finetune.datasets.unseen import CORPUS, UNSEEN_ROWS

        rows, run = UNSEEN_ROWS[agent]()[:limit], case_runner(agent, settings, CORPUS)
    else:
        rows, run = load_split_rows(agent, settings, split, limit), case_runner(agent, settings, split=split)
    factory = invoke_factory or (lambda name: make_invoke(name, settings, TRAINING[agent].max_tokens))
    summary: dict[str, dict[str, float]] = {}
    details: dict[str, list[CaseResult]] = {}
    for side in models:
        invoke = factory(agent if side == "adapter" else BASE_MODEL_NAME)
        on_done = (lambda done, total, side=side: on_progress(f"{agent} {side}", done, total)) if on_progress else None
        finished = run_cases(agent, rows, run, lambda invoke=invoke: invoke, settings.finetune.eval_concurrency, on_done)
        summary[side] = {m: round(sum(r.scores[m] for r in finished) / len(finished), 4) for m in AGENT_METRICS[agent]}
        errors = sum(1 for r in finished if "error" in r.detail)
        if errors and on_progress is not None:
            on_progress(f"{agent} {side}: {errors} request(s) failed and scored 0", len(rows), len(rows))
        details[side] = finished
    return summary, details


def markdown_table(
    results: dict[str, dict[str, dict[str, float]]], rows: dict[str, int] | None = None, rows_label: str = "test rows"
) -> str:
    """A markdown table: one line per agent and metric, adapter beside base (and the rows scored, if given)."""
    head = "| agent | metric | adapter | base |" + (f" {rows_label} |" if rows else "")
    lines = [head, "| --- | --- | ---: | ---: |" + (" ---: |" if rows else "")]
    for agent, sides in results.items():
        for metric in AGENT_METRICS.get(agent, tuple(sides.get("adapter", {}))):
            adapter = sides.get("adapter", {}).get(metric)
            base = sides.get("base", {}).get(metric)
            cells = [f"{v:.1%}" if v is not None else "-" for v in (adapter, base)]
            line = f"| {agent} | {metric} | {cells[0]} | {cells[1]} |"
            lines.append(line + (f" {rows.get(agent, '')} |" if rows else ""))
    return "\n".join(lines) + "\n"


def write_details(path: Path, details: dict[str, list[CaseResult]]) -> None:
    """Per-row scores and replies as JSONL, for reading failures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for side, results in details.items():
            for index, result in enumerate(results):
                handle.write(json.dumps({"model": side, "row": index, "scores": result.scores, **result.detail}, default=str) + "\n")
