"""Chat models on the configured vLLM server(s): one model name, asked on each server in turn.

Each request is retried on its server with exponential backoff (`server.max_retries`, the OpenAI
client's own retry of connection errors, timeouts, 429 and 5xx). A server that still fails is skipped
for the next one in `server.urls`, and is tried after the healthy ones for `server.failover_cooldown_s`.
When no server answers, the error names every URL and what each did. A server that says the model does
not exist (an adapter that is not loaded) raises `ModelNotServedError` (HTTP status 404), which the
graph answers by falling back to the base model when `graph.fallback_to_base` is on.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI

from agentgraph.errors import ServingError
from agentgraph.serving.profile import get_profile
from agentgraph.settings import ServerSettings, Settings, get_settings

__all__ = [
    "BASE_MODEL_NAME",
    "chat_model",
    "FailoverChatModel",
    "failure_kind",
    "HEALTH",
    "list_models",
    "ModelNotServedError",
    "served_models",
    "ServerHealth",
]

BASE_MODEL_NAME = "base"
"""The name under which every server serves the bare base model."""


class ModelNotServedError(ServingError):
    """No reachable server serves the requested model name (for example an adapter that is not loaded)."""

    status_code = 404

    def __init__(self, model_name: str, message: str) -> None:
        super().__init__(message)
        self.model_name = model_name


def chat_model(model_name: str, settings: Settings | None = None, **overrides: object) -> BaseChatModel:
    """A greedy chat model for `model_name` (an adapter or `base`) on the configured servers;
    the later URLs of `server.urls` are failovers for the first."""
    settings = settings or get_settings()
    if not settings.server.urls:
        raise ServingError("no server URL configured (server.urls is empty)")
    try:
        options = json.dumps(overrides, sort_keys=True)
    except TypeError:  # overrides that are not plain data: a model of their own
        return _failover_model(model_name, settings.server, settings.model.profile, overrides)
    return _cached_model(model_name, settings.server.model_dump_json(), settings.model.profile, options)


@lru_cache(maxsize=256)
def _cached_model(model_name: str, server_json: str, profile_name: str, options_json: str) -> FailoverChatModel:
    # Building the clients costs more than a step of the graph: models are reused for equal settings.
    server = ServerSettings.model_validate_json(server_json)
    return _failover_model(model_name, server, profile_name, json.loads(options_json))


def _failover_model(model_name: str, server: ServerSettings, profile_name: str, overrides: dict[str, Any]) -> FailoverChatModel:
    profile = get_profile(profile_name)
    return FailoverChatModel(
        model_name=model_name,
        urls=list(server.urls),
        servers=[_openai_model(url, model_name, server, profile.stop, overrides) for url in server.urls],
        cooldown_s=server.failover_cooldown_s,
        max_retries=server.max_retries,
    )


def _openai_model(url: str, model_name: str, server: ServerSettings, stop: tuple[str, ...], overrides: dict[str, Any]) -> ChatOpenAI:
    options: dict[str, object] = {
        "base_url": url,
        "api_key": server.api_key,
        "model": model_name,
        "temperature": 0.0,
        "timeout": server.request_timeout_s,
        "max_retries": server.max_retries,
        "max_tokens": 256,
    }
    if stop:
        options["stop_sequences"] = list(stop)
    options.update(overrides)
    return ChatOpenAI(**options)  # type: ignore[arg-type]


class FailoverChatModel(BaseChatModel):
    """One served model name on several OpenAI-compatible servers, asked in turn until one answers."""

    model_name: str
    urls: list[str]
    servers: list[ChatOpenAI]
    cooldown_s: float = 30.0
    max_retries: int = 0

    @property
    def _llm_type(self) -> str:
        return "agentgraph-failover-openai"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "urls": self.urls}

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:  # type: ignore[override]
        """The model with `tools` offered on every server (OpenAI tool format, as `ChatOpenAI.bind_tools`)."""
        bound = self.servers[0].bind_tools(tools, **kwargs)
        return self.bind(**bound.kwargs)  # type: ignore[attr-defined]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        failures: list[_Failure] = []
        for index in HEALTH.order(self.urls):
            try:
                result = self.servers[index]._generate(messages, stop=stop, **kwargs)
            except Exception as exc:
                failures.append(self._failure(index, exc))
                continue
            HEALTH.recovered(self.urls[index])
            return result
        raise self._give_up(failures)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        failures: list[_Failure] = []
        for index in HEALTH.order(self.urls):
            try:
                result = await self.servers[index]._agenerate(messages, stop=stop, **kwargs)
            except Exception as exc:
                failures.append(self._failure(index, exc))
                continue
            HEALTH.recovered(self.urls[index])
            return result
        raise self._give_up(failures)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Tokens as the first healthy server writes them; a server that fails before its first
        token is skipped like in `_generate`, one that fails later ends the stream with its error."""
        failures: list[_Failure] = []
        for index in HEALTH.order(self.urls):
            started = False
            try:
                for chunk in self.servers[index]._stream(messages, stop=stop, **kwargs):
                    started = True
                    if run_manager is not None:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
            except Exception as exc:
                if started:
                    raise
                failures.append(self._failure(index, exc))
                continue
            HEALTH.recovered(self.urls[index])
            return
        raise self._give_up(failures)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """The async twin of `_stream`."""
        failures: list[_Failure] = []
        for index in HEALTH.order(self.urls):
            started = False
            try:
                async for chunk in self.servers[index]._astream(messages, stop=stop, **kwargs):
                    started = True
                    if run_manager is not None:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
            except Exception as exc:
                if started:
                    raise
                failures.append(self._failure(index, exc))
                continue
            HEALTH.recovered(self.urls[index])
            return
        raise self._give_up(failures)

    def _failure(self, index: int, exc: Exception) -> _Failure:
        """Classify a server's failure; errors no other server would avoid are raised at once."""
        url = self.urls[index]
        kind = failure_kind(exc)
        if kind is None:
            raise exc
        if kind != "missing":
            HEALTH.failed(url, self.cooldown_s)
        return _Failure(url, kind, _describe(kind, exc, self.servers[index], self.max_retries), exc)

    def _give_up(self, failures: list[_Failure]) -> ServingError:
        missing = [f for f in failures if f.kind == "missing"]
        if missing:
            where = "; ".join(f"{f.url}: {f.detail}" for f in failures)
            error: ServingError = ModelNotServedError(
                self.model_name,
                f"model {self.model_name!r} is not served ({where}); load its adapter on the server "
                "(`agentgraph serve` serves every registered adapter)",
            )
        else:
            where = "; ".join(f"{f.url}: {f.detail}" for f in failures)
            error = ServingError(
                f"no model server answered for model {self.model_name!r} ({where}); start one with `agentgraph serve` or check server.urls"
            )
        error.__cause__ = failures[-1].error if failures else None
        return error


@dataclass(frozen=True)
class _Failure:
    url: str
    kind: str
    detail: str
    error: Exception


def failure_kind(exc: BaseException) -> str | None:
    """`unreachable`, `timeout`, `failing` (5xx, 429, a wrong path) or `missing` (the model is not
    served) when another server might answer; None when the request itself is wrong."""
    import httpx
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "unreachable"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 404:
            return "missing" if _names_missing_model(exc) else "failing"
        if exc.status_code >= 500 or exc.status_code in (408, 429):
            return "failing"
        return None
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return "timeout"
    if isinstance(exc, (httpx.TransportError, ConnectionError)):
        return "unreachable"
    return None


def _names_missing_model(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "model" in text and ("does not exist" in text or "not found" in text)


def _describe(kind: str, exc: BaseException, server: ChatOpenAI, max_retries: int) -> str:
    attempts = f" after {max_retries + 1} attempts" if max_retries else ""
    if kind == "timeout":
        return f"no reply within {server.request_timeout} s{attempts}"
    if kind == "unreachable":
        cause = _root_cause(exc)
        return f"not reachable{attempts} ({type(cause).__name__}: {cause})"
    status = getattr(exc, "status_code", None)
    message = _server_message(exc)
    if kind == "missing":
        return f"HTTP 404 {message}"
    if status == 404:
        return f"HTTP 404 {message} (is this the server's /v1 URL?)"
    return f"HTTP {status}{attempts} {message}".rstrip()


def _root_cause(exc: BaseException) -> BaseException:
    seen: list[BaseException] = [exc]
    while (nxt := seen[-1].__cause__ or seen[-1].__context__) is not None and nxt not in seen and len(seen) < 10:
        seen.append(nxt)
    return seen[-1]


def _server_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        message = inner.get("message") if isinstance(inner, dict) else body.get("message") or body.get("detail")
        if message:
            return str(message)
    return str(getattr(exc, "message", "") or exc)


class ServerHealth:
    """Which server URLs failed recently (process-wide): they are tried after the others for a while."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}

    def order(self, urls: Sequence[str]) -> list[int]:
        """Indexes of `urls`: the healthy ones first, each group in the configured order."""
        now = self._clock()
        with self._lock:
            down = {url for url, until in self._down_until.items() if until > now}
        return [i for i, url in enumerate(urls) if url not in down] + [i for i, url in enumerate(urls) if url in down]

    def failed(self, url: str, cooldown_s: float) -> None:
        """Record that `url` failed now."""
        if cooldown_s > 0:
            with self._lock:
                self._down_until[url] = self._clock() + cooldown_s

    def recovered(self, url: str) -> None:
        """Record that `url` answered."""
        with self._lock:
            self._down_until.pop(url, None)

    def down(self) -> list[str]:
        """The URLs currently tried last."""
        now = self._clock()
        with self._lock:
            return sorted(url for url, until in self._down_until.items() if until > now)

    def reset(self) -> None:
        """Forget every failure."""
        with self._lock:
            self._down_until.clear()


HEALTH = ServerHealth()
"""The process-wide record of failing servers."""


def served_models(settings: Settings | None = None) -> set[str]:
    """The model names served by any reachable configured server; a clear error when none answers."""
    settings = settings or get_settings()
    names: set[str] = set()
    errors: list[str] = []
    for url in settings.server.urls:
        try:
            names.update(list_models(url, settings.server.api_key))
        except ServingError as exc:
            errors.append(str(exc))
    if errors and not names:
        raise ServingError("; ".join(errors))
    return names


def list_models(url: str, api_key: str = "EMPTY", timeout_s: float = 5.0) -> list[str]:
    """The model names one server lists at `/v1/models`; a clear error when it cannot be reached."""
    request = urllib.request.Request(f"{url.rstrip('/')}/models", headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            payload = json.load(response)
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as exc:
        raise ServingError(f"the model server at {url} is not reachable: {exc}") from exc
    return [entry["id"] for entry in payload.get("data", [])]
