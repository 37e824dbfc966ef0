"""Row files made outside the builders: checked line by line, then trained on beside the built data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgraph.finetune.datasets.common import files_hash
from agentgraph.finetune.preferences import preference_files
from agentgraph.finetune.rows import RowError, read_rows
from agentgraph.finetune.train import DataFiles, TrainingError, finetune, with_extra_rows
from agentgraph.settings import Settings
from tests.finetune.rows import MATH_ROW


def write(path: Path, *lines: object) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def with_message(position: int, message: object) -> dict:
    messages = list(MATH_ROW["messages"])
    messages[position] = message
    return {**MATH_ROW, "messages": messages}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ([1, 2], "a list, not a JSON object"),
        ({"tools": "[]"}, "no 'messages' list"),
        (with_message(1, {"role": "human", "content": "hi"}), "message 1 needs a role"),
        (with_message(2, {"role": "tool_call", "content": "calculator(2+2)"}), r"message 2 \(tool_call\) is not JSON"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "no assistant or tool_call message"),
        ({**MATH_ROW, "tools": "calculator"}, "'tools' is not a list"),
    ],
)
def test_a_bad_row_is_named_by_file_and_line(tmp_path: Path, line: object, problem: str) -> None:
    path = write(tmp_path / "rows.jsonl", MATH_ROW, "", line)
    with pytest.raises(RowError, match=rf"rows.jsonl:3: {problem}"):
        read_rows(path)


def test_good_rows_are_read_and_missing_or_empty_files_are_named(tmp_path: Path) -> None:
    listed_tools = {**MATH_ROW, "tools": json.loads(MATH_ROW["tools"])}
    assert read_rows(write(tmp_path / "rows.jsonl", MATH_ROW, "", listed_tools)) == [MATH_ROW, listed_tools]
    with pytest.raises(RowError, match="empty.jsonl has no rows"):
        read_rows(write(tmp_path / "empty.jsonl", ""))
    with pytest.raises(RowError, match="cannot read rows from .*absent.jsonl"):
        read_rows(tmp_path / "absent.jsonl")
    with pytest.raises(RowError, match="rows.jsonl:1: no 'label'"):
        read_rows(tmp_path / "rows.jsonl", need="label")


def test_extra_rows_join_the_training_split_and_change_the_data_hash(tmp_path: Path) -> None:
    train, val = write(tmp_path / "train.jsonl", {"i": 0}, {"i": 1}), write(tmp_path / "val.jsonl", {"i": 2})
    data = DataFiles(train, val, files_hash((train, val)), 2, 1)
    assert with_extra_rows(data, [], tmp_path / "run") is data
    extra = write(tmp_path / "traces.jsonl", MATH_ROW)
    joined = with_extra_rows(data, [extra, extra], tmp_path / "run")
    lines = [json.loads(line) for line in joined.train.read_text().splitlines()]
    assert lines == [{"i": 0}, {"i": 1}, MATH_ROW, MATH_ROW] and joined.train_rows == 4
    assert joined.val == val and joined.data_hash != data.data_hash and train.read_text().count("\n") == 2


def test_a_bad_extra_file_stops_before_anything_is_written(tmp_path: Path) -> None:
    train, val = write(tmp_path / "train.jsonl", {"i": 0}), write(tmp_path / "val.jsonl", {"i": 1})
    bad = write(tmp_path / "traces.jsonl", MATH_ROW, {"messages": []})
    with pytest.raises(RowError, match="traces.jsonl:2: no 'messages' list"):
        with_extra_rows(DataFiles(train, val, "h", 1, 1), [bad], tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_extra_sft_rows_are_refused_for_preference_tuning(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="dpo takes a preference file"):
        finetune("math", Settings(), method="dpo", extra_rows=[tmp_path / "traces.jsonl"])


def test_a_given_preference_file_needs_its_method_key_on_every_row(tmp_path: Path) -> None:
    chosen = {**MATH_ROW, "rejected_response": "The answer is 5534."}
    given = write(tmp_path / "pairs.jsonl", *[chosen] * 10)
    files = preference_files("dpo", None, tmp_path / "out", count=10, seed=0, given=given)
    assert (files.train_rows, files.val_rows) == (9, 1)
    write(given, *[chosen] * 9, MATH_ROW)
    with pytest.raises(RowError, match="pairs.jsonl:10: no 'rejected_response'"):
        preference_files("dpo", None, tmp_path / "out", count=10, seed=0, given=given)
