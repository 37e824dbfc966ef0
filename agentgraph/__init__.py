"""agentgraph: a LangGraph multi-agent framework whose agents run on their own LoRA adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["AgentSpec", "build_graph"]

if TYPE_CHECKING:
    from agentgraph.agent import AgentSpec
    from agentgraph.graph import build_graph


def __getattr__(name: str) -> Any:
    # Loaded on first use, so `import agentgraph.settings` (and the CLI) stays light.
    if name == "build_graph":
        from agentgraph.graph import build_graph

        return build_graph
    if name == "AgentSpec":
        from agentgraph.agent import AgentSpec

        return AgentSpec
    raise AttributeError(f"module 'agentgraph' has no attribute {name!r}")
