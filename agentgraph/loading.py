"""Loading a graph builder named in the settings or on the command line (`module:function` or `file.py:function`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agentgraph.errors import ConfigError

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

__all__ = ["GraphBuilder", "load_builder"]

GraphBuilder = Callable[..., "CompiledStateGraph"]
"""Builds a graph: called with checkpointer=, store= and settings=."""


def load_builder(reference: str) -> GraphBuilder:
    """The graph builder named `module:function` or `path/to/file.py:function`."""
    import importlib
    import importlib.util
    from pathlib import Path

    target, _, name = reference.rpartition(":")
    if not target or not name:
        raise ConfigError(f"graph builder {reference!r} must look like module:function or file.py:function")
    if target.endswith(".py"):
        path = Path(target)
        spec = importlib.util.spec_from_file_location(f"agentgraph_graph_{path.stem}", path)
        if spec is None or spec.loader is None or not path.is_file():
            raise ConfigError(f"graph builder file {target!r} not found")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"graph builder module {target!r} not found ({exc})") from None
    builder = getattr(module, name, None)
    if not callable(builder):
        raise ConfigError(f"{target!r} has no graph builder function {name!r}")
    return builder  # type: ignore[no-any-return]
