"""Helpers of the end-to-end tests: the `agentgraph` command run as a user runs it, and reading what a
run stored in the checkpoint database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgraph.settings import Settings

AGENTGRAPH = Path(sys.executable).parent / "agentgraph"
CORPUS = Path(__file__).resolve().parent / "corpus"
RUN_TIMEOUT_S = 900


@dataclass
class Cli:
    """The `agentgraph` console script with the environment of one test."""

    env: dict[str, str]
    cwd: Path
    settings: Settings
    """The same settings in this process (server URL, database URL), for reading what a run stored."""

    def run(self, *args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """Run one command to its end; its exit status is the caller's to check."""
        return subprocess.run([str(AGENTGRAPH), *args], env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Start one command in the background, its output going to `log`."""
        with log.open("wb") as output:
            return subprocess.Popen(
                [str(AGENTGRAPH), *args],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def run_json(self, *args: str, timeout: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        """Run a command with `--json`; the JSON object it printed (exit status 0 required)."""
        done = self.run(*args, "--json", timeout=timeout)
        assert done.returncode == 0, f"agentgraph {' '.join(args)} exited with {done.returncode}:\n{done.stderr[-3000:]}"
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert lines, f"agentgraph {' '.join(args)} printed no JSON object:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return json.loads(lines[-1])


def numbers(text: str) -> list[str]:
    """The numbers written in `text`, thousands separators removed ("9,728" -> "9728")."""
    return [token.replace(",", "") for token in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def final_values(settings: Settings, thread_id: str) -> dict[str, Any]:
    """The latest state of a thread as stored in the checkpoint database."""
    from agentgraph.runtime import open_checkpointer
    from agentgraph.threads import thread_config

    with open_checkpointer(settings) as saver:
        stored = saver.get_tuple(thread_config(thread_id))
    assert stored is not None, f"thread {thread_id!r} has no checkpoint in {settings.database_url}"
    return dict(stored.checkpoint["channel_values"])


def models_used(values: dict[str, Any]) -> dict[str, str]:
    """Agent -> the served model that answered it (its adapter, or `base` after a fallback)."""
    return {result["agent"]: result["model"] for result in values.get("results", {}).values()}
