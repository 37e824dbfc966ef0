"""Reading ms-swift's `logging.jsonl`: training steps, validation losses and the final summary."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_DURATION = re.compile(r"(?:(\d+)d\s*)?(?:(\d+)h\s*)?(?:(\d+)m\s*)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str | None) -> float | None:
    """Seconds from ms-swift's durations (`1h 2m 3s`, `45s`, `0:01:02`); None when unreadable."""
    if not text:
        return None
    text = str(text).strip()
    if ":" in text:
        try:
            parts = [float(p) for p in text.split(":")]
        except ValueError:
            return None
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + part
        return seconds
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


@dataclass(frozen=True)
class LogEvent:
    """One line of logging.jsonl: a training step (`train`), a validation (`eval`) or the summary (`end`);
    or one row done while sampling the adapter's mistakes before preference training (`sample`)."""

    kind: str
    step: int | None = None
    total: int | None = None
    loss: float | None = None
    eta_s: float | None = None
    elapsed_s: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _step(raw: dict[str, Any]) -> tuple[int | None, int | None]:
    value = raw.get("global_step/max_steps")
    if isinstance(value, str) and "/" in value:
        done, total = value.split("/", 1)
        try:
            return int(done), int(total)
        except ValueError:
            return None, None
    step = raw.get("global_step", raw.get("step"))
    return (int(step) if isinstance(step, (int, float)) else None), None


def parse_log_line(line: str) -> LogEvent | None:
    """The event in one logging.jsonl line; None for blank, partial or unrelated lines."""
    line = line.strip()
    if not line:
        return None
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    step, total = _step(raw)
    eta, elapsed = parse_duration(raw.get("remaining_time")), parse_duration(raw.get("elapsed_time"))
    if "eval_loss" in raw:
        return LogEvent("eval", step, total, float(raw["eval_loss"]), eta, elapsed, raw)
    if "train_runtime" in raw or "train_loss" in raw:
        loss = raw.get("train_loss")
        return LogEvent("end", step, total, float(loss) if loss is not None else None, eta, raw.get("train_runtime", elapsed), raw)
    if "loss" in raw:
        return LogEvent("train", step, total, float(raw["loss"]), eta, elapsed, raw)
    return None


class LogFollower:
    """Reads the new complete lines of a growing logging.jsonl on each `poll()`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = ""
        self.events: list[LogEvent] = []

    def poll(self) -> list[LogEvent]:
        """Events written since the last call (a line still being written waits for the next call)."""
        if not self.path.is_file():
            return []
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
            self._offset = handle.tell()
        text = self._partial + chunk
        lines = text.split("\n")
        self._partial = lines.pop()
        new = [event for event in map(parse_log_line, lines) if event is not None]
        self.events.extend(new)
        return new


def read_log(path: Path) -> list[LogEvent]:
    """Every event of a finished logging.jsonl."""
    if not Path(path).is_file():
        return []
    return [event for event in map(parse_log_line, Path(path).read_text(errors="replace").splitlines()) if event is not None]
