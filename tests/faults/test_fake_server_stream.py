"""The scripted model server answers streamed requests (`"stream": true`) as it answers plain ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.model_server import FakeModelServer


@tool
def transfer_to_math(task: str) -> str:
    """Hand the task to math."""
    return "ok"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeModelServer]:
    fake = FakeModelServer("--handoffs", "math")
    try:
        yield fake
    finally:
        fake.kill()


@pytest.mark.parametrize("model", ["router", "math"])
def test_a_streamed_reply_equals_the_plain_one(server: FakeModelServer, model: str) -> None:
    def ask(streaming: bool) -> tuple[str, list[tuple[str, dict]], dict | None]:
        llm = ChatOpenAI(model=model, base_url=server.url, api_key="none", streaming=streaming, stream_usage=True, max_retries=0)
        reply = llm.bind_tools([transfer_to_math]).invoke([HumanMessage("What is 2 + 2?")])
        usage = dict(reply.usage_metadata) if reply.usage_metadata else None
        return str(reply.content), [(c["name"], c["args"]) for c in reply.tool_calls], usage

    plain, streamed = ask(False), ask(True)
    assert streamed == plain
    if model == "router":
        assert plain[1] == [("transfer_to_math", {"task": "What is 2 + 2?"})]
    else:
        assert plain[0].startswith("math answer: What is 2 + 2?") and plain[2] is not None
