"""The serving stack in one call: prepare the base model, validate the adapters, start or reuse vLLM;
or, when `server.urls` is set, check the servers it names (and start nothing)."""

from __future__ import annotations

from agentgraph.errors import ServingError
from agentgraph.serving.client import BASE_MODEL_NAME, list_models
from agentgraph.serving.prepare import prepare_model
from agentgraph.serving.profile import get_profile
from agentgraph.serving.registry import AdapterRegistry
from agentgraph.serving.server import ServerInfo, serving_all, start_server
from agentgraph.settings import Settings

__all__ = ["configured_server", "ensure_server"]


def ensure_server(settings: Settings, port: int | None = None, show_progress: bool = True) -> ServerInfo:
    """A ready server with the base model and every registered adapter: the first of `server.urls` that
    answers when the setting names other servers (none is started here), else the local one, started if needed."""
    from rich.console import Console

    if not settings.server.is_local:
        return configured_server(settings, [BASE_MODEL_NAME, *AdapterRegistry.load(settings.registry_path).entries])

    profile = get_profile(settings.model.profile)
    model = prepare_model(settings, profile)
    adapters = AdapterRegistry.load(settings.registry_path).validate(settings.server.max_lora_rank, model.base_model_hash)
    console = Console(stderr=True)
    if not show_progress:
        return start_server(settings, profile, model, adapters, port=port)
    with console.status("starting the vLLM server") as status:

        def on_wait(elapsed: float) -> None:
            status.update(f"starting the vLLM server ({elapsed:.0f} s; about 100 s on 2 CPU cores)")

        return start_server(settings, profile, model, adapters, port=port, on_wait=on_wait)


def configured_server(settings: Settings, required: list[str]) -> ServerInfo:
    """The first server of `server.urls` that answers, checked to serve every `required` model."""
    unreachable: list[str] = []
    for url in settings.server.urls:
        try:
            models = list_models(url, settings.server.api_key)
        except ServingError as exc:
            unreachable.append(str(exc))
            continue
        return serving_all(url, models, required)
    raise ServingError(
        f"no server of server.urls answers ({'; '.join(unreachable)}): start it, or unset server.urls to have one started here"
    )
