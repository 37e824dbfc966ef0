"""Preference rows generated from SFT rows, and the ms-swift command lines of each method."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from agentgraph.agents.writing import check_format, sentence_count
from agentgraph.finetune.config import TrainConfig
from agentgraph.finetune.preferences import corrupt, model_turns, preference_rows
from agentgraph.finetune.train import PLUGIN, DataFiles, export_step, swift_command, total_steps
from agentgraph.serving.prepare import PreparedModel
from agentgraph.serving.profile import GEMMA3_270M_CPU

MATH_ROW = {
    "tools": "[]",
    "messages": [
        {"role": "system", "content": "You are the math agent."},
        {"role": "user", "content": "What is 12 times 34?"},
        {"role": "tool_call", "content": json.dumps({"name": "calculator", "arguments": {"expression": "12*34"}})},
        {"role": "tool_response", "content": "408"},
        {"role": "assistant", "content": "The answer is 408."},
    ],
}
ROUTER_ROW = {
    "messages": [
        {"role": "system", "content": "You are the router."},
        {"role": "user", "content": "What is 2+2? Then email Sam."},
        {"role": "tool_call", "content": json.dumps({"name": "transfer_to_math", "arguments": {"task": "2+2"}})},
        {"role": "tool_call", "content": json.dumps({"name": "transfer_to_writing", "arguments": {"task": "Email Sam"}})},
    ],
}


def test_model_turns_group_consecutive_calls() -> None:
    assert model_turns(MATH_ROW) == [(2, 3), (4, 5)]
    assert model_turns(ROUTER_ROW) == [(2, 4)]


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ('[calculator(expression="12*34")]', lambda out: out.startswith("[calculator(") and out != '[calculator(expression="12*34")]'),
        ("The answer is 408.", lambda out: out != "The answer is 408." and out.startswith("The answer is")),
        ('[transfer_to_math(task="2+2")]', lambda out: "transfer_to_math(" not in out and "transfer_to_" in out),
        ("Paris is big. [source: paris.md]", lambda out: "[source: paris.md]" not in out and "[source: " in out),
        ("Note: the meeting moved.", lambda out: not out.startswith("Note:")),
    ],
)
def test_corrupt_makes_a_plausible_mistake(text: str, check) -> None:  # noqa: ANN001
    for seed in range(5):
        assert check(corrupt(text, random.Random(seed), ["paris.md", "rome.md"]))


def test_dpo_rows_pair_the_reference_with_a_mistake() -> None:
    rows = preference_rows([MATH_ROW, MATH_ROW, ROUTER_ROW], "dpo", 3)
    assert len(rows) == 3
    first, second, third = rows
    assert first["messages"][-1] == {"role": "assistant", "content": '[calculator(expression="12*34")]'}
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert second["messages"][-1] == {"role": "assistant", "content": "The answer is 408."}  # odd rows: the last turn
    assert [m["role"] for m in second["messages"]][-3:] == ["tool_call", "tool_response", "assistant"]
    assert third["messages"][-1]["content"] == '[transfer_to_math(task="2+2"), transfer_to_writing(task="Email Sam")]'
    assert all(row["rejected_response"] != row["messages"][-1]["content"] for row in rows)
    assert first["tools"] == "[]" and "tools" not in third


def test_kto_rows_label_both_sides() -> None:
    rows = preference_rows([MATH_ROW], "kto", 1)
    assert [row["label"] for row in rows] == [True, False]
    assert rows[0]["messages"][:-1] == rows[1]["messages"][:-1]
    assert rows[0]["messages"][-1] != rows[1]["messages"][-1]


def test_swift_commands(tmp_path: Path) -> None:
    data = DataFiles(tmp_path / "train.jsonl", tmp_path / "val.jsonl", "h", 16, 4)
    model = PreparedModel(tmp_path / "model", "hash")
    config = TrainConfig("math").with_overrides(max_steps=3)
    sft = swift_command(config, "sft", GEMMA3_270M_CPU, model, data, tmp_path / "run")
    assert sft[1:3] == ["-m", "swift.cli.sft"]
    flags = dict(zip(sft[3::2], sft[4::2], strict=False))
    assert flags["--tuner_type"] == "lora" and flags["--lora_rank"] == "8" and flags["--target_modules"] == "all-linear"
    assert flags["--model_type"] == "gemma3_text" and flags["--template"] == "agentgraph_gemma3"
    assert flags["--agent_template"] == "agentgraph_pythonic" and flags["--custom_register_path"] == str(PLUGIN)
    assert flags["--torch_dtype"] == "float32" and flags["--max_steps"] == "3" and flags["--val_dataset"] == str(data.val)
    assert flags["--save_only_model"] == "true" and flags["--seed"] == "0" and flags["--save_total_limit"] == "1"
    keep_all = replace(config, sft=replace(config.sft, keep_checkpoints=0))
    assert "--save_total_limit" not in swift_command(keep_all, "sft", GEMMA3_270M_CPU, model, data, tmp_path / "run")
    dpo = swift_command(config, "dpo", GEMMA3_270M_CPU, model, data, tmp_path / "run", init_adapter=tmp_path / "sft")
    assert dpo[1:5] == ["-m", "swift.cli.rlhf", "--rlhf_type", "dpo"]
    assert dpo[dpo.index("--adapters") + 1] == str(tmp_path / "sft")
    assert dpo[dpo.index("--ref_adapters") + 1] == str(tmp_path / "sft")  # the SFT adapter is the reference
    assert "--rpo_alpha" not in dpo
    with_sft_loss = replace(config, rlhf=replace(config.rlhf, rpo_alpha=0.5))
    dpo = swift_command(with_sft_loss, "dpo", GEMMA3_270M_CPU, model, data, tmp_path / "run", init_adapter=tmp_path / "sft")
    assert dpo[dpo.index("--rpo_alpha") + 1] == "0.5"
    kto = swift_command(with_sft_loss, "kto", GEMMA3_270M_CPU, model, data, tmp_path / "run", init_adapter=tmp_path / "sft")
    assert "--rpo_alpha" not in kto and kto[kto.index("--ref_adapters") + 1] == str(tmp_path / "sft")
    assert total_steps(TrainConfig("math"), "sft", 10) == 6  # ceil(10 / 4) per epoch, two epochs


def test_the_exported_step_is_the_configured_one_when_the_run_reaches_it() -> None:
    chosen = replace(TrainConfig("math"), sft=replace(TrainConfig("math").sft, export_step=1000))
    assert export_step(chosen, "sft", 1250) == 1000
    assert export_step(chosen, "sft", 3) is None, "a shortened try exports its latest checkpoint"
    assert export_step(chosen, "dpo", 1250) is None, "preference runs export their latest"
    assert export_step(TrainConfig("math"), "sft", 1250) is None


def _writing_row(task: str, reply: str) -> dict:
    facts = ["The review moved to Monday at 9:00.", "It will take place in room 4B.", "Please bring your laptop."]
    user = task + "\nFacts:\n" + "\n".join(f"- {fact}" for fact in facts)
    return {
        "messages": [
            {"role": "system", "content": "You are the writing agent."},
            {"role": "user", "content": user},
            {"role": "assistant", "content": reply},
        ]
    }


JOINED = "Hi Sam,\n\nThe review moved to Monday at 9:00, and it will take place in room 4B. Please bring your laptop.\n\nBest,\nAda"
PLAIN = "Note: The review moved to Monday at 9:00. It will take place in room 4B. Please bring your laptop."


def test_writing_pairs_with_a_sentence_count_are_rejected_with_the_wrong_count_and_come_first() -> None:
    free = _writing_row("Write a note about the review.", PLAIN)
    fewer = _writing_row("Email Sam about the review in 2 sentences.", JOINED)
    same = _writing_row("Write a note about the review in 3 sentences.", PLAIN)
    rows = preference_rows([MATH_ROW, free, fewer, same], "dpo", 3)
    assert [row["messages"][-1]["content"] for row in rows] == [JOINED, PLAIN, '[calculator(expression="12*34")]']
    fewer_rejected, same_rejected = rows[0]["rejected_response"], rows[1]["rejected_response"]
    # asked for 2 sentences: rejected with the facts one per sentence, greeting and sign-off kept
    assert (
        fewer_rejected
        == "Hi Sam,\n\nThe review moved to Monday at 9:00. It will take place in room 4B. Please bring your laptop.\n\nBest,\nAda"
    )
    assert check_format(JOINED, "email", sentences=2).ok and not check_format(fewer_rejected, "email", sentences=2).ok
    # asked for 3 (the number of facts): rejected with two facts joined
    assert sentence_count(same_rejected) == 2 and same_rejected.startswith("Note: The review moved to Monday at 9:00, and it")
    assert rows[2]["rejected_response"].startswith("[calculator(")  # then the others, with a generic mistake


@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_given_pairs_lead_the_training_file_and_count_towards_the_total(tmp_path: Path, method: str) -> None:
    from agentgraph.finetune.preferences import preference_files

    train, val = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in [MATH_ROW] * 6))
    val.write_text(json.dumps(MATH_ROW) + "\n")
    mistake = {
        **MATH_ROW,
        "messages": [*MATH_ROW["messages"][:2], {"role": "assistant", "content": '[calculator(expression="12*34")]'}],
        "rejected_response": '[calculator(expression="12+34")]',
    }
    files = preference_files(method, DataFiles(train, val, "h", 6, 1), tmp_path / "out", 4, 0, first=[mistake])
    rows = [json.loads(line) for line in files.train.read_text().splitlines()]
    per_pair = 1 if method == "dpo" else 2
    assert files.train_rows == len(rows) == 4 * per_pair
    if method == "dpo":
        assert rows[0] == mistake
    else:
        assert rows[0]["label"] is True and rows[0]["messages"] == mistake["messages"]
        assert rows[1]["label"] is False and rows[1]["messages"][-1]["content"] == '[calculator(expression="12+34")]'
