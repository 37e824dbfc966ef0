"""The served `tools` adapter: an agent the project has never seen, with no adapter of its own, runs on
it through the real server and makes the right call (the session's own vLLM server, on a free port)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgraph.finetune.custom import load_agent

pytestmark = pytest.mark.server

UNITS_REF = f"{Path(__file__).resolve().parents[2] / 'notebooks' / 'units_agent.py'}:UNITS"


def test_an_agent_without_an_adapter_runs_on_tools_and_calls_its_tool(vllm_server, server_settings):
    from agentgraph.modelcall import served_model_factory
    from agentgraph.node import agent_node

    assert "tools" in vllm_server.models, "the tools adapter is registered and served"
    units = load_agent(UNITS_REF)
    assert units.adapter_name not in vllm_server.models
    node = agent_node(units, model_factory=served_model_factory(server_settings), settings=server_settings)
    subtask = {"id": "u-1", "agent": "units", "task": "Convert 5 miles to kilometres.", "status": "pending", "call_id": "call_1"}
    result = node.invoke({"subtask": subtask, "facts": []})["results"]["u-1"]
    assert result["model"] == "tools" and result["fell_back"] is True
    calls = [(call["name"], call["args"]) for call in result["tool_calls"]]
    assert calls and calls[0][0] == "convert_units" and calls[0][1]["value"] == 5, calls
    assert {calls[0][1]["from_unit"].lower(), calls[0][1]["to_unit"].lower()} & {"mi", "miles", "mile"}, calls
