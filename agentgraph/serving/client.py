"""Chat models on the configured vLLM server(s): one `ChatOpenAI` per adapter name."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agentgraph.errors import ServingError
from agentgraph.serving.profile import get_profile
from agentgraph.settings import Settings, get_settings

BASE_MODEL_NAME = "base"
"""The name under which every server serves the bare base model."""


def chat_model(model_name: str, settings: Settings | None = None, **overrides: object) -> BaseChatModel:
    """A greedy `ChatOpenAI` for `model_name` (an adapter or `base`); with several server URLs,
    the later ones are fallbacks for the first."""
    settings = settings or get_settings()
    profile = get_profile(settings.model.profile)
    models = [_openai_model(url, model_name, settings, profile.stop, overrides) for url in settings.server.urls]
    if not models:
        raise ServingError("no server URL configured (server.urls is empty)")
    first, rest = models[0], models[1:]
    return first.with_fallbacks(rest) if rest else first  # type: ignore[return-value]


def _openai_model(
    url: str, model_name: str, settings: Settings, stop: tuple[str, ...], overrides: dict[str, object]
) -> ChatOpenAI:
    options: dict[str, object] = {
        "base_url": url,
        "api_key": settings.server.api_key,
        "model": model_name,
        "temperature": 0.0,
        "timeout": settings.server.request_timeout_s,
        "max_retries": settings.server.max_retries,
        "max_tokens": 256,
    }
    if stop:
        options["stop_sequences"] = list(stop)
    options.update(overrides)
    return ChatOpenAI(**options)  # type: ignore[arg-type]


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
