"""One model turn of a graph node: the served model by name, optional tools, and the fallback models
(the generalist `tools` adapter, then the base model) when an adapter is not served."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from agentgraph.errors import ServingError
from agentgraph.serving.client import BASE_MODEL_NAME, chat_model
from agentgraph.settings import Settings

__all__ = ["is_model_missing", "model_turn", "ModelFactory", "ModelTurn", "served_model_factory"]

ModelFactory = Callable[[str], BaseChatModel]
"""Gives the chat model serving a name (an adapter or `base`); the graph makes every model call through one."""


def served_model_factory(settings: Settings) -> ModelFactory:
    """The factory of the configured vLLM server(s)."""
    return lambda name: chat_model(name, settings)


@dataclass(frozen=True)
class ModelTurn:
    """A model's reply, which model gave it, and whether that was the base model standing in."""

    message: AIMessage
    model: str
    fell_back: bool


def is_model_missing(exc: BaseException) -> bool:
    """Whether `exc` is the server saying the requested model (adapter) is not served."""
    if getattr(exc, "status_code", None) == 404:
        return True
    text = str(exc).lower()
    return "does not exist" in text and "model" in text


def _is_unreachable(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, (openai.APIConnectionError, ConnectionError))


def model_turn(
    factory: ModelFactory,
    model: str,
    messages: Sequence[BaseMessage],
    *,
    tools: Sequence[dict] = (),
    fallback: bool | Sequence[str],
    name: str,
) -> ModelTurn:
    """Ask `model` for the next turn; when it is not served, ask the models of `fallback` in order
    (`graph.fallbacks()`: the generalist `tools` adapter, then `base`; True means `base` alone).

    The reply is named `name` (the node it belongs to) and every tool call in it has an id.
    """
    chain = ((BASE_MODEL_NAME,) if fallback else ()) if isinstance(fallback, bool) else tuple(fallback)
    chain = tuple(dict.fromkeys(m for m in chain if m != model))
    tried = [model]
    last: BaseException | None = None
    for candidate in (model, *chain):
        try:
            return ModelTurn(_ask(factory, candidate, messages, tools, name), candidate, candidate != model)
        except Exception as exc:
            if _is_unreachable(exc):
                raise ServingError(
                    f"model {candidate!r}: the model server is not reachable ({exc}); start it with `agentgraph serve` or check server.urls"
                ) from exc
            if not is_model_missing(exc):
                raise
            if candidate == BASE_MODEL_NAME:
                raise ServingError(f"model {candidate!r} is not served: is server.urls the server `agentgraph serve` started?") from exc
            if not chain:
                raise ServingError(
                    f"model {model!r} is not served and graph.fallback_to_base is off; register and serve its adapter"
                ) from exc
            if candidate != model:
                tried.append(candidate)
            last = exc
    raise ServingError(f"none of the models {', '.join(repr(m) for m in tried)} is served (graph.fallback_models)") from last


def _ask(factory: ModelFactory, model: str, messages: Sequence[BaseMessage], tools: Sequence[dict], name: str) -> AIMessage:
    chat = factory(model)
    runnable = chat.bind_tools(list(tools)) if tools else chat
    reply = runnable.invoke(list(messages))
    if not isinstance(reply, AIMessage):
        reply = AIMessage(content=str(getattr(reply, "content", reply)))
    calls = [{**call, "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}"} for call in reply.tool_calls]
    invalid = [{**call, "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}"} for call in reply.invalid_tool_calls]
    return reply.model_copy(update={"name": name, "tool_calls": calls, "invalid_tool_calls": invalid})
