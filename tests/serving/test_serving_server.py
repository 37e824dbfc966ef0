"""Starting vLLM: the command line, and the clear errors when it cannot start."""

from __future__ import annotations

import socket
import sys

import pytest

from agentgraph.errors import ServingError
from agentgraph.serving import server as server_module
from agentgraph.serving.prepare import PreparedModel
from agentgraph.serving.profile import get_profile
from agentgraph.serving.registry import AdapterEntry
from agentgraph.settings import Settings
from tests.conftest import free_port

PROFILE = get_profile("gemma3-270m-cpu")


def settings_for(tmp_path, **server) -> Settings:
    return Settings(server={"port": free_port(), "state_dir": tmp_path, **server})


def test_command_serves_every_adapter_with_the_profile_format(tmp_path):
    settings = settings_for(tmp_path)
    adapters = [AdapterEntry("math", tmp_path / "m", 8, "h"), AdapterEntry("router", tmp_path / "r", 8, "h")]
    command = server_module.vllm_command(settings, PROFILE, PreparedModel(tmp_path, "h"), adapters, 1234)
    assert command[command.index("--tool-call-parser") + 1] == "pythonic"
    assert command[command.index("--chat-template") + 1] == str(PROFILE.chat_template_path)
    assert command[command.index("--served-model-name") + 1] == "base"
    assert command[command.index("--max-lora-rank") + 1] == str(settings.server.max_lora_rank)
    modules = command[command.index("--lora-modules") + 1 :][:2]
    assert modules == [f"math={tmp_path / 'm'}", f"router={tmp_path / 'r'}"]


def test_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        settings = settings_for(tmp_path, port=busy.getsockname()[1])
        with pytest.raises(ServingError, match=f"port {settings.server.port} .* in use"):
            server_module.start_server(settings, PROFILE, PreparedModel(tmp_path, "h"), [])


def test_vllm_not_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(server_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ServingError, match="vLLM is not installed"):
        server_module.start_server(settings_for(tmp_path), PROFILE, PreparedModel(tmp_path, "h"), [])


def test_server_that_dies_shows_its_log(tmp_path):
    # No model in the folder: vLLM exits during start-up.
    with pytest.raises(ServingError, match="exited with code") as error:
        server_module.start_server(settings_for(tmp_path), PROFILE, PreparedModel(tmp_path / "nowhere", "h"), [])
    assert "end of" in str(error.value) and len(str(error.value).splitlines()) > 2
    assert server_module.find_server(settings_for(tmp_path)) is None


def test_server_not_ready_in_time_is_stopped(tmp_path, monkeypatch):
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(server_module, "vllm_command", lambda *args: sleeper)
    settings = settings_for(tmp_path, startup_timeout_s=2)
    with pytest.raises(ServingError, match="not ready after 2 s"):
        server_module.start_server(settings, PROFILE, PreparedModel(tmp_path, "h"), [])
    assert not (tmp_path / server_module.STATE_FILE).exists()


def test_stop_without_a_server(tmp_path):
    assert server_module.stop_server(settings_for(tmp_path)) is None
