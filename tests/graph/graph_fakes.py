"""A scripted chat model for graph tests: replies are given per served model name, in order."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

Reply = AIMessage | Callable[[Sequence[BaseMessage]], AIMessage] | Exception


def call(name: str, **args: Any) -> dict:
    """A tool call as a model returns it."""
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}


def ai(text: str = "", *calls: dict) -> AIMessage:
    """A model reply with text and/or tool calls."""
    return AIMessage(content=text, tool_calls=list(calls))


def handoff(agent: str, task: str) -> dict:
    return call(f"transfer_to_{agent}", task=task)


def model_not_found(name: str) -> openai.NotFoundError:
    """The error vLLM gives for a model (adapter) it does not serve."""
    request = httpx.Request("POST", "http://fake/v1/chat/completions")
    body = {"message": f"The model `{name}` does not exist.", "type": "NotFoundError", "code": 404}
    return openai.NotFoundError(body["message"], response=httpx.Response(404, request=request, json=body), body=body)


class Script:
    """Replies per model name; `factory` is what `build_graph(model_factory=...)` takes.

    `calls` records (model name, messages, tool names) of every request; names in `missing` answer
    with the server's 404 "model does not exist".
    """

    def __init__(self, missing: Sequence[str] = (), stream: bool = False, **replies: Sequence[Reply]) -> None:
        self.replies = {name: list(items) for name, items in replies.items()}
        self.missing = set(missing)
        self.stream = stream
        self.streamed_turns = 0
        self.calls: list[tuple[str, list[BaseMessage], list[str]]] = []
        self._lock = threading.Lock()

    def factory(self, name: str) -> BaseChatModel:
        model = StreamingScriptedChatModel if self.stream else ScriptedChatModel
        return model(served_name=name, script=self)

    def next_reply(self, name: str, messages: list[BaseMessage], tools: list[str]) -> AIMessage:
        with self._lock:
            self.calls.append((name, list(messages), tools))
            if name in self.missing:
                raise model_not_found(name)
            queue = self.replies.get(name)
            if not queue:
                raise AssertionError(f"no scripted reply left for model {name!r}")
            reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        message = reply(messages) if callable(reply) else reply
        # a fresh copy with fresh call ids, as a server gives, so one script entry can be reused
        calls = [{**c, "id": f"call_{uuid.uuid4().hex[:8]}"} for c in message.tool_calls]
        return message.model_copy(update={"tool_calls": calls}, deep=True)

    def models_called(self) -> list[str]:
        return [name for name, _, _ in self.calls]


class ScriptedChatModel(BaseChatModel):
    """Answers from a `Script`; `bind_tools` keeps the tool names so tests can check what was offered."""

    served_name: str
    script: Any
    tool_names: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        names = [t["function"]["name"] if isinstance(t, dict) else t.name for t in tools]
        return self.model_copy(update={"tool_names": names})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        reply = self.script.next_reply(self.served_name, messages, self.tool_names)
        return ChatResult(generations=[ChatGeneration(message=reply)])


class StreamingScriptedChatModel(ScriptedChatModel):
    """Streams each reply as a server does: text word by word, then the tool calls as call chunks."""

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = self.script.next_reply(self.served_name, messages, self.tool_names)
        self.script.streamed_turns += 1
        for word in reply.text.split(" ") if reply.text else ():
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))
        calls = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i, "type": "tool_call_chunk"}
            for i, c in enumerate(reply.tool_calls)
        ]
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls, chunk_position="last"))


class SpyTool:
    """A tool that records each run, to prove which calls ran and which never did."""

    def __init__(self, name: str, result: str = "ok") -> None:
        from langchain_core.tools import StructuredTool

        self.runs: list[dict] = []

        def run(query: str) -> str:
            self.runs.append({"query": query})
            return result

        self.tool = StructuredTool.from_function(func=run, name=name, description=f"The {name} tool.")


def unanswered_tool_calls(messages: Sequence[BaseMessage]) -> list[str]:
    """Ids of tool calls in `messages` without exactly one ToolMessage answering them."""
    from collections import Counter

    from langchain_core.messages import ToolMessage

    answered = Counter(m.tool_call_id for m in messages if isinstance(m, ToolMessage))
    ids = [c["id"] for m in messages if isinstance(m, AIMessage) for c in [*m.tool_calls, *m.invalid_tool_calls]]
    return [i for i in ids if answered[i] != 1] + [i for i in answered if i not in ids]


# The graph the CLI tests run (`--graph graph_fakes:build_scripted`): the default agents on SCRIPT.
SCRIPT: Script | None = None


def build_scripted(checkpointer: Any = None, store: Any = None, settings: Any = None, approve: frozenset = frozenset()) -> Any:
    from dataclasses import replace

    from agentgraph import build_graph
    from agentgraph.agents.math import MATH
    from agentgraph.agents.retrieval import make_retrieval_agent
    from agentgraph.agents.writing import WRITING

    assert SCRIPT is not None, "set graph_fakes.SCRIPT first"
    search = SpyTool("search", "[geo.txt] Paris is the capital of France.").tool
    agents = [replace(make_retrieval_agent((search,)), needs_approval=approve), MATH, WRITING]
    return build_graph(agents, checkpointer, store, settings, model_factory=SCRIPT.factory)


def build_scripted_with_approval(checkpointer: Any = None, store: Any = None, settings: Any = None) -> Any:
    """As `build_scripted`, with the search tool needing approval."""
    return build_scripted(checkpointer, store, settings, approve=frozenset({"search"}))
