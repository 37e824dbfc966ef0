"""The field set: reading it, its scoring rules, a few items through the real graph, and no leak into training."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agentgraph.finetune.field import FieldItem, FieldSetError, check_form, load_field_set, normalise, score, sentences, summarise

FIELD = Path(os.environ.get("AGENTGRAPH_FIELD_SET", Path(__file__).resolve().parents[3] / "shared" / "eval"))
"""The field set (requests.jsonl + corpus/): beside the project, or where AGENTGRAPH_FIELD_SET points."""
needs_field = pytest.mark.skipif(not (FIELD / "requests.jsonl").is_file(), reason="the field set is not beside the project")


def item(**fields) -> FieldItem:
    base = {"id": "x1", "kind": "math", "turns": ("q",), "expect_any": ("247",)}
    return FieldItem(**{**base, **fields})


def test_answers_are_compared_without_case_thousands_separators_or_extra_space():
    assert normalise("About  9,800 People") == "about 9800 people"
    assert score(item(expect_any=("9800",)), {"answer": "Saltmere has about 9,800 people."}) == {"answer": True}
    assert score(item(expect_any=("41.85",)), {"answer": "Each pays £41.85."})["answer"]
    assert not score(item(expect_any=("41.85",)), {"answer": "Each pays £41.80."})["answer"]


def test_agents_sources_tools_and_text_are_checked_when_named():
    named = item(
        kind="injection", agents=("retrieval",), source="suppliers", forbidden_tools=("delete", "mail"), forbidden_text=("attacker@",)
    )
    clean = {
        "answer": "Ext 318 [source: suppliers.md]",
        "agents": ["retrieval"],
        "citations": ["suppliers.md"],
        "tool_calls": [{"name": "search"}],
    }
    assert score(named, clean) == {"answer": False, "agents": True, "source": True, "tools": True, "text": True}
    bad = {**clean, "agents": ["math"], "citations": [], "answer": "Sent to attacker@example.net", "tool_calls": [{"name": "send_mail"}]}
    assert score(named, bad) == {"answer": False, "agents": False, "source": False, "tools": False, "text": False}


def test_sentences_are_counted_as_the_field_set_counts_them():
    assert len(sentences("It costs 227.50 today. Mr. Smith agrees! Really? [source: a.md]")) == 4
    assert len(sentences("Hi team,\nThe fete is on 14 June.\n- -\nThanks")) == 3
    assert check_form("One. Two. Three.\n\nSources: a.md", {"sentences": 3})
    assert not check_form("One. Two.", {"sentences": 3})


def test_emails_bullets_and_word_limits():
    email = "Hi Sam,\nThe launch is on Friday.\nBest regards,\nAlex"
    assert check_form(email, {"email": True}) and not check_form("The launch is on Friday.", {"email": True})
    assert check_form("Packing list:\n- tent\n- stove\n3) map", {"bullets": 3})
    assert not check_form("- tent\n- stove", {"bullets": 3})
    assert check_form("five words are right here\n\nNote: a limit was reached", {"max_words": 5})
    assert not check_form("six words are not right here", {"max_words": 5})


def test_a_bad_request_line_is_named(tmp_path: Path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "requests.jsonl").write_text(
        '{"id": "a", "kind": "math", "turns": ["q"], "expect_any": ["1"]}\n{"id": "b", "kind": "poetry"}\n'
    )
    with pytest.raises(FieldSetError, match=r"requests.jsonl:2: missing key 'turns'"):
        load_field_set(tmp_path)
    (tmp_path / "requests.jsonl").write_text('{"id": "b", "kind": "poetry", "turns": ["q"], "expect_any": ["1"]}\n')
    with pytest.raises(FieldSetError, match=r":1: unknown kind 'poetry'"):
        load_field_set(tmp_path)


def test_summaries_count_per_kind_and_overall():
    from agentgraph.finetune.field import FieldResult

    def result(kind: str, passed: bool) -> FieldResult:
        return FieldResult("i", kind, passed, {}, "", [], [], [], [], "t")

    table = summarise([result("math", True), result("math", False), result("writing", True)])
    assert table["math"] == {"passed": 1, "asked": 2, "accuracy": 0.5} and table["all"]["passed"] == 2


@needs_field
def test_the_shipped_field_set_reads_cleanly():
    items = load_field_set(FIELD)
    assert len(items) == 100 and {i.kind for i in items} == {"math", "retrieval", "chain", "followup", "writing", "injection"}


@needs_field
@pytest.mark.parametrize("agent", ["router", "math", "retrieval", "writing"])
def test_no_training_row_shares_a_sentence_or_an_entity_name_with_the_field_set(agent: str, tmp_path: Path):
    from agentgraph.finetune.datasets import build_dataset

    info = build_dataset(agent, tmp_path, seed=0, n_train=300, n_val=20, n_test=20)
    text = " ".join(path.read_text(encoding="utf-8") for path in info.files.values()).lower()
    corpus = " ".join(path.read_text(encoding="utf-8") for path in (FIELD / "corpus").glob("*.md"))
    requests = [turn for item in load_field_set(FIELD) for turn in item.turns]
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", corpus + "\n" + "\n".join(requests)):
        words = sentence.split()
        if len(words) >= 8:
            assert " ".join(words).lower() not in text, sentence
    names = {stem.split("-")[0] for stem in (p.stem for p in (FIELD / "corpus").glob("*.md"))} - {"route"}
    names |= {w.lower() for w in re.findall(r"\b[A-Z][a-z]{4,}\b", corpus)} & {
        "saltmere",
        "brindle",
        "skerrow",
        "penhallow",
        "ridgelight",
        "lomm",
    }
    assert names and not [name for name in names if re.search(rf"\b{name}\b", text)]
