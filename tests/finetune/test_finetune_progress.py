"""ms-swift's logging.jsonl: steps, validation losses and the summary are read, partial lines wait."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgraph.finetune.progress import LogFollower, parse_duration, parse_log_line

TRAIN = {
    "loss": 3.39158893,
    "grad_norm": 17.26,
    "learning_rate": 7.5e-05,
    "token_acc": 0.61,
    "epoch": 0.0125,
    "global_step/max_steps": "1/80",
    "elapsed_time": "20s",
    "remaining_time": "26m 41s",
    "train_speed(s/it)": 20.27,
}
EVAL = {
    "eval_loss": 0.879,
    "eval_runtime": 28.46,
    "eval_token_acc": 0.87,
    "epoch": 0.75,
    "global_step/max_steps": "6/6",
    "elapsed_time": "3m 54s",
    "remaining_time": "0s",
}
END = {
    "train_runtime": 234.86,
    "train_loss": 1.716,
    "epoch": 0.75,
    "global_step/max_steps": "6/6",
    "elapsed_time": "3m 55s",
    "remaining_time": "0s",
}
SUMMARY = {"train_dataset": "164.25±1.3, size=32", "last_model_checkpoint": "/x/checkpoint-6", "global_step": 6, "log_history": []}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("20s", 20), ("26m 41s", 1601), ("1h 2m 3s", 3723), ("1d 1h", 90000), ("0:01:02", 62), ("", None), ("soon", None)],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_train_step() -> None:
    event = parse_log_line(json.dumps(TRAIN))
    assert event is not None and event.kind == "train"
    assert (event.step, event.total, event.loss, event.eta_s, event.elapsed_s) == (1, 80, 3.39158893, 1601, 20)


def test_eval_and_end() -> None:
    event = parse_log_line(json.dumps(EVAL))
    assert event is not None and (event.kind, event.step, event.loss) == ("eval", 6, 0.879)
    end = parse_log_line(json.dumps(END))
    assert end is not None and (end.kind, end.loss, end.elapsed_s) == ("end", 1.716, 234.86)


@pytest.mark.parametrize("line", ["", "not json", "[1, 2]", json.dumps(SUMMARY), '{"loss": 1.0'])
def test_other_lines_are_ignored(line: str) -> None:
    assert parse_log_line(line) is None


def test_follower_reads_only_complete_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "logging.jsonl"
    follower = LogFollower(log)
    assert follower.poll() == []
    first, second = json.dumps(TRAIN), json.dumps({**TRAIN, "global_step/max_steps": "2/80", "loss": 2.0})
    log.write_text(first + "\n" + second[:30])
    assert [e.step for e in follower.poll()] == [1]
    with log.open("a") as handle:
        handle.write(second[30:] + "\n" + json.dumps(EVAL) + "\n")
    assert [(e.kind, e.step) for e in follower.poll()] == [("train", 2), ("eval", 6)]
    assert follower.poll() == []
    assert len(follower.events) == 3


def test_progress_without_a_terminal_is_plain_lines_every_twentieth_of_the_way() -> None:
    import io

    from rich.console import Console

    from agentgraph.cli.finetune import _LineReport
    from agentgraph.finetune.progress import LogEvent

    out = io.StringIO()
    report = _LineReport(Console(file=out, width=200))
    report.stage("training math", 100)
    for step in range(1, 101):
        report.event(LogEvent("train", step, 100, loss=1 / step, eta_s=100 - step))
    report.event(LogEvent("eval", 100, 100, loss=0.25))
    report.stage("sampling math's mistakes", 3)
    for step in (1, 2, 3):
        report.event(LogEvent("sample", step, 3))
    lines = out.getvalue().splitlines()
    assert lines[0] == "training math (100)"
    steps = [line.split("/")[0] for line in lines[1:22]]
    assert steps == ["1"] + [str(n) for n in range(5, 101, 5)]  # the first step, then every 5
    assert lines[21] == "100/100  loss 0.0100  eta 0 s"
    assert lines[22] == "step 100: val loss 0.2500"
    assert lines[23:] == ["sampling math's mistakes (3)", "1/3", "2/3", "3/3"]
