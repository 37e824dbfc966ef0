"""A handle on `bench/fake_openai.py` run as a real process: a scripted OpenAI-compatible server on loopback
that tests can slow down, break, kill and start again on the same port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

FAKE_SERVER = Path(__file__).resolve().parent.parent / "bench" / "fake_openai.py"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dead_url() -> str:
    """The /v1 URL of a loopback port with no server."""
    return f"http://127.0.0.1:{free_port()}/v1"


class FakeModelServer:
    """The scripted model server in a process of its own (options as `fake_openai.py --help`)."""

    def __init__(self, *args: str, port: int = 0) -> None:
        self.args = args
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.start()

    def restart(self, *args: str) -> FakeModelServer:
        """Start again on the same port, with `args` (none: the plain script, without faults)."""
        self.kill()
        self.args = args
        return self.start()

    def start(self) -> FakeModelServer:
        """Start the process (on `port`; 0 picks a free one and remembers it)."""
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE_SERVER), "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"the fake model server did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Stop it at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def requests(self) -> list[dict[str, Any]]:
        """The chat requests it received: model, retry count (x-stainless-retry-count), HTTP status."""
        return self._get("/stats")["requests"]

    def waiting(self) -> int:
        """Requests being held (see `control(hold=True)`)."""
        return int(self._get("/stats")["waiting"])

    def models_asked(self) -> list[str]:
        return [r["model"] for r in self.requests()]

    def control(self, **changes: Any) -> None:
        """Change its script: delay_s, fail_next, fail_status, die_on, hold, models, handoffs."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/control",
            data=json.dumps(changes).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
            return json.load(response)

    def __enter__(self) -> FakeModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
