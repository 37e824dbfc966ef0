"""The dataset builders: item-disjoint splits, rows ms-swift keeps and masks correctly, exact math,
writing that passes its own format check, router calls that copy the request, determinism."""

from __future__ import annotations

import json
import random
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from agentgraph import mathexpr
from agentgraph.agents.math import calculator, final_answer, solve
from agentgraph.agents.retrieval import CITATION
from agentgraph.agents.writing import check_format, parse_request
from agentgraph.finetune.datasets import AGENTS, DatasetInfo, build_dataset, write_card
from agentgraph.finetune.datasets import math as math_data
from agentgraph.finetune.datasets import retrieval as retrieval_data
from agentgraph.finetune.datasets import router as router_data
from agentgraph.finetune.datasets import tools as tools_data
from agentgraph.finetune.datasets import writing as writing_data
from agentgraph.finetune.datasets.common import SPLITS, read_jsonl

COUNTS = {"n_train": 160, "n_val": 40, "n_test": 40}
ITEM_KEYS = {
    "tools": tools_data.item_keys,
    "router": router_data.item_keys,
    "math": math_data.item_keys,
    "retrieval": retrieval_data.item_keys,
    "writing": lambda row: {"|".join(writing_data.request_parts(row["messages"][1]["content"])[1])},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DatasetInfo]:
    root = tmp_path_factory.mktemp("data")
    return {agent: build_dataset(agent, root / agent, seed=0, **COUNTS) for agent in AGENTS}


def rows(info: DatasetInfo, split: str) -> list[dict[str, Any]]:
    return read_jsonl(info.files[split])


def calls(row: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in row["messages"] if m["role"] == "tool_call"]


@pytest.mark.parametrize("agent", AGENTS)
def test_files_hold_the_requested_rows_in_agent_format(built: dict[str, DatasetInfo], agent: str) -> None:
    info = built[agent]
    for split, count in zip(SPLITS, COUNTS.values(), strict=True):
        written = rows(info, split)
        assert len(written) == info.counts[split] == count
        assert sum(info.kinds[split].values()) == count
        for row in written:
            roles = [m["role"] for m in row["messages"]]
            assert roles[:2] == ["system", "user"] or (agent == "tools" and roles[0] == "user"), "tools rows may have no system prompt"
            assert set(roles) <= {"system", "user", "tool_call", "tool_response", "assistant"}
            if agent == "writing":
                assert "tools" not in row and roles == ["system", "user", "assistant"]
            else:
                tools = json.loads(row["tools"])
                names = {t["function"]["name"] for t in tools}
                assert {c["name"] for c in calls(row)} <= names
    assert 0 < info.held_out_test_rows <= COUNTS["n_test"] or agent == "tools"  # tools: test schemas are unseen instead


@pytest.mark.parametrize("agent", AGENTS)
def test_splits_share_no_item(built: dict[str, DatasetInfo], agent: str) -> None:
    keys = {split: set().union(*(ITEM_KEYS[agent](row) for row in rows(built[agent], split))) for split in SPLITS}
    assert keys["train"] and keys["val"] and keys["test"]
    assert not keys["train"] & keys["val"]
    assert not keys["train"] & keys["test"]
    assert not keys["val"] & keys["test"]


def cited(row: dict) -> tuple[str, str]:
    """The source a retrieval row's answer cites, and the sentence it cites it for."""
    answer = row["messages"][-1]["content"]
    [source] = CITATION.findall(answer)
    return source, answer.removesuffix(f" [source: {source}]")


def test_retrieval_rows_cite_their_own_split_documents(built: dict[str, DatasetInfo]) -> None:
    info = built["retrieval"]
    corpus = info.directory / "corpus"
    files = {split: {p.name: p.read_text() for p in (corpus / split).iterdir()} for split in SPLITS}
    assert not set(files["train"]) & set(files["test"]) and not set(files["val"]) & set(files["test"])
    for split in SPLITS:
        for row in rows(info, split):
            source, sentence = cited(row)
            assert sentence in files[split][source]
            passages = row["messages"][3]["content"].splitlines()
            assert 3 <= len(passages) <= 4
            sources = [line[1 : line.index("]")] for line in passages]
            assert sources.count(source) == 1 and set(sources) <= set(files[split])
            assert sentence in passages[sources.index(source)]
            title = files[split][source].splitlines()[0].removeprefix("# ")
            assert retrieval_data.search_query(row).startswith(title + " "), "the query names the document's entity"


def test_retrieval_documents_hold_sentences_that_name_the_entity_and_answer_nothing(built: dict[str, DatasetInfo]) -> None:
    train = rows(built["retrieval"], "train")
    fillers = [max(re.split(r"\{\w\}", template), key=len) for template in retrieval_data.FILLERS]  # each one's own words
    with_filler, later = 0, 0
    for row in train:
        source, sentence = cited(row)
        passage = next(line for line in row["messages"][3]["content"].splitlines() if line.startswith(f"[{source}]"))
        with_filler += any(words in passage for words in fillers)
        later += "." in passage[: passage.index(sentence)]  # another sentence of the document comes first
        assert not any(words in sentence for words in fillers), "a filler is never the answer"
    assert with_filler > len(train) * 0.8 and later > len(train) / 2


def test_math_rows_are_exact(built: dict[str, DatasetInfo]) -> None:
    retries = 0
    for split in SPLITS:
        for row in rows(built["math"], split):
            messages = row["messages"]
            made = calls(row)
            responses = [m["content"] for m in messages if m["role"] == "tool_response"]
            *refused, final = made
            tool = {"calculator": mathexpr.evaluate, "solve": mathexpr.solve}[final["name"]]
            argument = next(iter(final["arguments"].values()))
            assert responses[-1] == tool(argument)
            assert messages[-1]["content"] == final_answer(responses[-1])
            for call, response in zip(refused, responses, strict=False):
                retries += 1
                refused_tool = {"calculator": mathexpr.evaluate, "solve": mathexpr.solve}[call["name"]]
                with pytest.raises(mathexpr.MathInputError):
                    refused_tool(next(iter(call["arguments"].values())))
                langchain_tool = calculator if call["name"] == "calculator" else solve
                assert response == langchain_tool.invoke(call["arguments"])
    assert retries > 0


def test_math_items_match_their_independent_values() -> None:
    rng = random.Random(7)
    for _ in range(300):
        item = math_data.math_item(rng, "train")
        runner = mathexpr.evaluate if item.tool == "calculator" else mathexpr.solve
        assert math_data.check_result(item, runner(item.argument)), item
    wrong = math_data.MathItem("What is 15% of 80?", "calculator", "15%*80", Fraction(13), "percent")
    assert not math_data.check_result(wrong, mathexpr.evaluate("15%*80"))


def test_math_items_with_facts_match_their_independent_values() -> None:
    from agentgraph.finetune.datasets.math_facts import facts_item

    rng = random.Random(11)
    for _ in range(400):
        item = facts_item(rng, "train")
        assert item.question.startswith("Facts: ") and "\nTask: " in item.question
        assert math_data.check_result(item, mathexpr.evaluate(item.argument)), item


def test_explicit_expressions_are_copied_with_their_parentheses() -> None:
    rng = random.Random(5)
    nested = 0
    for _ in range(400):
        item = math_data._arith_expression(rng, "train")
        assert math_data.check_result(item, mathexpr.evaluate(item.argument)), item
        shown = item.question.replace(" ", "").replace("×", "*").replace("÷", "/").replace("−", "-").replace("^", "**")
        assert item.argument in shown, item
        nested += item.argument.count("(") >= 2
    assert nested > 40


def test_one_sentence_requests_that_need_a_fact_search_first() -> None:
    from agentgraph.finetune.datasets.router_turns import composed_request

    rng = random.Random(8)
    seen = set()
    for _ in range(200):
        turns = composed_request(rng, "train")
        (first, search, first_needs), (agent, task, needs) = turns.handoffs
        assert (first, first_needs, needs) == ("retrieval", (), ("retrieval",)), turns
        assert search.startswith("Find ") and search[5:-1] in turns.request, turns
        assert search[5:-1] in task, "the later step must name the fact it works on"
        seen.add(agent)
    assert seen == {"math", "writing"}


def test_router_rosters_also_ask_only_the_shipped_agent_beside_invented_ones() -> None:
    from agentgraph.finetune.datasets.router_turns import roster_request

    rng = random.Random(3)
    shipped_only = 0
    for _ in range(300):
        turns = roster_request(rng, "train")
        names = {agent.name for agent in turns.agents}
        assert {agent for agent, _, _ in turns.handoffs} <= names
        invented = names - {"math", "retrieval", "writing"}
        if invented and all(agent in ("math", "retrieval") for agent, _, _ in turns.handoffs):
            shipped_only += 1
    assert 40 < shipped_only < 200


def test_writing_rows_pass_their_own_request(built: dict[str, DatasetInfo]) -> None:
    forms = set()
    limited = 0
    for split in SPLITS:
        for row in rows(built["writing"], split):
            task, facts = writing_data.request_parts(row["messages"][1]["content"])
            text = row["messages"][2]["content"]
            form, max_words, sentences = parse_request(task)
            forms.add(form)
            limited += max_words is not None or sentences is not None
            result = check_format(text, form, max_words=max_words, sentences=sentences)
            assert result.ok, (task, text, result.problems)
            for fact in facts:
                assert fact.split(" ", 1)[1].removesuffix(".") in text, (fact, text)
    assert forms == {"note", "email", "summary"}
    assert limited > len(rows(built["writing"], "train")) // 2


def test_writing_rows_with_a_length_take_the_plainest_shape(built: dict[str, DatasetInfo]) -> None:
    """A requested length gets the facts alone (joined when fewer sentences are asked for), an
    opening and then a closing only when more sentences are asked for than there are facts."""
    fillers = {line.split("{")[0] for options in (*writing_data.INTROS.values(), *writing_data.OUTROS.values()) for line in options}
    fillers |= set(writing_data.NOTE_OUTROS)
    checked = 0
    for split in SPLITS:
        for row in rows(built["writing"], split):
            task, facts = writing_data.request_parts(row["messages"][1]["content"])
            _, max_words, sentences = parse_request(task)
            if max_words is None and sentences is None:
                continue
            text = row["messages"][2]["content"]
            padding = sum(1 for filler in fillers if filler and filler in text)
            expected = 0 if sentences is None else max(0, sentences - len(facts))
            assert padding == expected, (task, text)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("Email Sam in at most 40 words.", ("email", 40, None)),
        ("Then email Sam the result.", ("email", None, None)),
        ("Summarize this in 2 sentences.", ("summary", None, 2)),
        ("Write a note in one sentence, under 30 words.", ("note", 29, 1)),
        ("A 50-word recap, please.", ("summary", 50, None)),
        ("Draft a formal e-mail, no more than forty words, in three sentences.", ("email", 40, 3)),
        ("Jot down a reminder for Dana, 25 words max.", ("note", 25, None)),
        ("Give me a two-sentence overview.", ("summary", None, 2)),
        ("Write it up in at most 3 sentences.", ("note", None, None)),
        ("Send Priya a summary by email (35 words or fewer).", ("email", 35, None)),
    ],
)
def test_parse_request(task: str, expected: tuple) -> None:
    assert parse_request(task) == expected


def test_router_calls_copy_the_request(built: dict[str, DatasetInfo]) -> None:
    for split in SPLITS:
        for row in rows(built["router"], split):
            messages = row["messages"]
            assert messages[-1]["role"] == "tool_call", "the router's turn is the last one"
            assert [m["role"] for m in messages[2:]] == ["tool_call"] * (len(messages) - 2)
            handoffs = router_data.handoffs(row)
            offered = {tool["function"]["name"].removeprefix("transfer_to_") for tool in json.loads(row["tools"])}
            assert {agent for agent, _ in handoffs} <= offered  # only agents of the row's roster
            user = messages[1]["content"]
            searched_first = handoffs[0][1].startswith("Find ") and not user.startswith(handoffs[0][1])
            if user.startswith("Earlier in this conversation:"):
                pass  # a follow-up: its tasks are rewritten to stand alone
            elif searched_first:  # one sentence needing a fact: a search for it, then a step naming it
                fact = handoffs[0][1][5:-1]
                assert fact in user and all(fact in task for _, task in handoffs[1:]), handoffs
            else:  # one request: its parts, word for word
                assert " ".join(task for _, task in handoffs) == user
            writing_positions = [i for i, (agent, _) in enumerate(handoffs) if agent == "writing"]
            assert writing_positions in ([], [len(handoffs) - 1]), "a writing part comes last"
            calls = [json.loads(m["content"])["arguments"] for m in messages[2:]]
            for position, args in enumerate(calls):  # a step needs only agents handed work before it, or the conversation
                earlier = {agent for agent, _ in handoffs[:position]} | {"conversation"}
                assert set(args.get("needs", [])) <= earlier
    kinds = built["router"].kinds["train"]
    assert {
        "math",
        "retrieval",
        "writing",
        "math+writing",
        "retrieval+writing",
        "retrieval+math",
        "retrieval>math",
        "composed",
        "follow-up",
        "roster",
    } <= set(kinds)


def test_router_follow_ups_read_the_earlier_turns_and_stand_alone(built: dict[str, DatasetInfo]) -> None:
    follow_ups = [row for split in SPLITS for row in rows(built["router"], split) if row["messages"][1]["content"].startswith("Earlier")]
    assert follow_ups
    for row in follow_ups:
        user = row["messages"][1]["content"]
        assert "\nUser: " in "\n" + user and "\nRequest: " in user
        for agent, task in router_data.handoffs(row):
            args = json.loads(row["messages"][2]["content"])["arguments"]
            if agent == "writing":
                assert args["needs"] == ["conversation"]  # it writes from the previous answer
            elif agent == "math" and task.startswith("What is "):
                assert re.search(r"\d", task)  # the number it acts on is written out


def test_same_seed_same_bytes_and_other_seed_other_data(tmp_path: Path) -> None:
    first = build_dataset("math", tmp_path / "a", seed=3, n_train=40, n_val=10, n_test=10)
    again = build_dataset("math", tmp_path / "b", seed=3, n_train=40, n_val=10, n_test=10)
    other = build_dataset("math", tmp_path / "c", seed=4, n_train=40, n_val=10, n_test=10)
    assert first.data_hash == again.data_hash != other.data_hash
    assert first.files["train"].read_bytes() == again.files["train"].read_bytes()
    retrieval_a = build_dataset("retrieval", tmp_path / "ra", seed=1, n_train=20, n_val=8, n_test=8)
    retrieval_b = build_dataset("retrieval", tmp_path / "rb", seed=1, n_train=20, n_val=8, n_test=8)
    assert retrieval_a.data_hash == retrieval_b.data_hash


def test_test_and_val_do_not_depend_on_the_train_count(tmp_path: Path) -> None:
    small = build_dataset("writing", tmp_path / "small", seed=0, n_train=30, n_val=10, n_test=10)
    large = build_dataset("writing", tmp_path / "large", seed=0, n_train=90, n_val=10, n_test=10)
    for split in ("val", "test"):
        assert small.files[split].read_bytes() == large.files[split].read_bytes()


def test_card_lists_counts_and_examples(built: dict[str, DatasetInfo], tmp_path: Path) -> None:
    card = write_card(built["router"], cards_dir=tmp_path).read_text()
    assert f"data hash `{built['router'].data_hash}`" in card
    assert "| train | 160 |" in card and card.count("```") == 6


@pytest.mark.parametrize("agent", AGENTS)
def test_ms_swift_keeps_every_row_and_trains_only_the_model_turns(
    built: dict[str, DatasetInfo], agent: str, swift_template: Any, tmp_path: Path
) -> None:
    from swift.dataset import EncodePreprocessor, load_dataset

    sample = rows(built[agent], "train")[:6]
    path = tmp_path / f"{agent}.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in sample), encoding="utf-8")
    dataset, _ = load_dataset([str(path)], split_dataset_ratio=0, num_proc=1, load_from_cache_file=False)
    encoded = EncodePreprocessor(swift_template)(dataset, num_proc=1, load_from_cache_file=False)
    assert len(encoded) == len(sample), "ms-swift dropped rows"
    from agentgraph.finetune.swift_plugin import render_calls

    tokenizer = swift_template.tokenizer
    for row, enc in zip(sample, encoded, strict=True):
        ids, labels = enc["input_ids"], enc["labels"]
        runs, current = [], []
        for token, label in zip(ids, labels, strict=True):
            if label != -100:
                current.append(token)
            elif current:
                runs.append(tokenizer.decode(current))
                current = []
        if current:
            runs.append(tokenizer.decode(current))
        expected, pending = [], []
        for message in [*row["messages"], {"role": "end", "content": ""}]:
            if message["role"] == "tool_call":
                pending.append(json.loads(message["content"]))
                continue
            if pending:
                expected.append(render_calls([(c["name"], c["arguments"]) for c in pending]) + "<end_of_turn>")
                pending = []
            if message["role"] == "assistant":
                expected.append(message["content"] + "<end_of_turn>")
        assert runs == expected, "only the model turns (calls and answers, each with its turn end) carry loss"


def test_router_parts_joined_in_one_sentence_keep_their_item_keys() -> None:
    rng = random.Random(2)
    joined = []
    for _ in range(400):
        example = router_data.make_example(rng, "train")
        tasks = [task for _, task in router_data.handoffs(example.row)] if example else []
        if len(tasks) > 1 and tasks[0].endswith(","):
            joined.append((tasks, example))
    assert joined, "some multi-part requests share one sentence"
    for tasks, example in joined:
        assert not tasks[1][:1].isupper()
        for key in router_data.item_keys(example.row):
            assert not key.startswith(("and ", "then ", "also")) and not key.endswith(",")
