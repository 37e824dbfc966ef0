"""The task an agent is working on, readable by the tools it runs (a search ranks what it returns for it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_task", "working_on"]

_TASK: ContextVar[str | None] = ContextVar("agentgraph_task", default=None)


def current_task() -> str | None:
    """The task of the agent whose tool is running, or None outside an agent's tool round."""
    return _TASK.get()


@contextmanager
def working_on(task: str) -> Iterator[None]:
    """Tools run inside the block see `task` as `current_task()`."""
    token = _TASK.set(task)
    try:
        yield
    finally:
        _TASK.reset(token)
