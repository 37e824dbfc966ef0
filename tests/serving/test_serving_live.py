"""Against the real vLLM server: every adapter is served, answers, and returns parsed tool calls."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agentgraph.serving.client import chat_model, served_models
from agentgraph.serving.registry import AdapterRegistry

pytestmark = pytest.mark.server
AGENT_ADAPTERS = {"router", "retrieval", "math", "writing"}


def registered(settings) -> set[str]:
    return set(AdapterRegistry.load(settings.registry_path).entries)


def test_models_lists_base_and_each_adapter(vllm_server, server_settings):
    assert AGENT_ADAPTERS <= registered(server_settings)
    assert served_models(server_settings) >= {"base"} | registered(server_settings)


@pytest.mark.parametrize("adapter", sorted(AGENT_ADAPTERS | {"base"}))
def test_chat_call_to_each_adapter(vllm_server, server_settings, adapter):
    reply = chat_model(adapter, server_settings, max_tokens=24).invoke([HumanMessage("Hello, who are you?")])
    assert reply.response_metadata["model_name"] == adapter
    assert reply.usage_metadata["output_tokens"] > 0


def test_request_with_tools_returns_parsed_tool_calls(vllm_server, server_settings):
    from agentgraph.agents.math import MATH

    model = chat_model(MATH.adapter_name, server_settings).bind_tools(MATH.openai_tools())
    reply = model.invoke([SystemMessage(MATH.system_prompt), HumanMessage("What is 512 * 19?")])
    assert reply.tool_calls, f"no parsed tool call in {reply.content!r}"
    call = reply.tool_calls[0]
    assert call["name"] == "calculator"
    assert call["args"]["expression"].replace(" ", "") == "512*19"


def test_streamed_tool_call_arrives_parsed(vllm_server, server_settings):
    from agentgraph.agents.math import MATH

    model = chat_model(MATH.adapter_name, server_settings).bind_tools(MATH.openai_tools())
    chunks = list(model.stream([SystemMessage(MATH.system_prompt), HumanMessage("What is 512 * 19?")]))
    assert len(chunks) > 1
    message = chunks[0]
    for chunk in chunks[1:]:
        message = message + chunk
    assert [call["name"] for call in message.tool_calls] == ["calculator"]
    assert message.tool_calls[0]["args"]["expression"].replace(" ", "") == "512*19"


def test_streamed_text_arrives_in_pieces(vllm_server, server_settings):
    pieces = [chunk.content for chunk in chat_model("writing", server_settings, max_tokens=24).stream("Write a short note.")]
    assert sum(1 for piece in pieces if piece) > 1
