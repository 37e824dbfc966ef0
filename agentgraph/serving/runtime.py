"""The serving stack in one call: prepare the base model, validate the adapters, start or reuse vLLM."""

from __future__ import annotations

from agentgraph.serving.prepare import prepare_model
from agentgraph.serving.profile import get_profile
from agentgraph.serving.registry import AdapterRegistry
from agentgraph.serving.server import ServerInfo, start_server
from agentgraph.settings import Settings

__all__ = ["ensure_server"]


def ensure_server(settings: Settings, port: int | None = None, show_progress: bool = True) -> ServerInfo:
    """A ready server with the base model and every registered adapter, started if needed."""
    from rich.console import Console

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
