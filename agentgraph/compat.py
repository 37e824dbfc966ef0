"""The private LangGraph names agentgraph relies on, imported in this one place.

They are not part of LangGraph's public API and may move or change in any release: when an upgrade
breaks an import here, this module is the only one to adapt.

- `CONFIG_KEY_DURABILITY`: the `configurable` key of a compiled graph's checkpoint durability.
- `SAFE_MSGPACK_TYPES`, `SAFE_MSGPACK_METHODS`: what LangGraph's serializer restores without an allow-list.
- `msgpack_ext_hook`, `send_from_args`: LangGraph's own decoding of msgpack extension types and of `Send`.
- `DeltaSnapshot`: the wrapper of a delta channel's stored snapshot.
"""

from __future__ import annotations

from langgraph._internal._constants import CONFIG_KEY_DURABILITY
from langgraph.checkpoint.serde._msgpack import SAFE_MSGPACK_METHODS, SAFE_MSGPACK_TYPES
from langgraph.checkpoint.serde.jsonplus import _msgpack_ext_hook as msgpack_ext_hook
from langgraph.checkpoint.serde.jsonplus import _send_from_args as send_from_args
from langgraph.checkpoint.serde.types import _DeltaSnapshot as DeltaSnapshot

__all__ = [
    "CONFIG_KEY_DURABILITY",
    "SAFE_MSGPACK_METHODS",
    "SAFE_MSGPACK_TYPES",
    "DeltaSnapshot",
    "msgpack_ext_hook",
    "send_from_args",
]
