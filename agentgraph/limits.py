"""Limits of one run (one question): steps, model calls, tokens and running time, and what is left of them.

The supervisor gives each agent it sends a `Budget`: what is left of the run's limits (`policy.*`),
shared out evenly between agents that run at the same time, so that together they cannot exceed the
run's limits. An agent stops when its `Usage` reaches its budget or its own `AgentLimits`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from langchain_core.messages import AIMessage

from agentgraph.settings import PolicySettings
from agentgraph.state import Budget, Usage

__all__ = ["add", "COUNTED", "exhausted", "no_usage", "remaining", "run_usage", "share", "tokens_of"]

COUNTED = ("steps", "model_calls", "tokens")
"""Budget entries that are shared out between agents running at the same time."""

_NAMES = {
    "steps": ("steps", "policy.max_steps"),
    "model_calls": ("model calls", "policy.max_model_calls"),
    "tokens": ("tokens", "policy.max_tokens"),
    "seconds": ("seconds of running time", "policy.max_wall_s"),
}


def no_usage() -> Usage:
    """Nothing used yet."""
    return Usage(steps=0, model_calls=0, tokens=0, seconds=0.0)


def add(used: Usage | None, *, steps: int = 0, model_calls: int = 0, tokens: int = 0, seconds: float = 0.0) -> Usage:
    """`used` plus the given amounts."""
    base = used or no_usage()
    return Usage(
        steps=base["steps"] + steps,
        model_calls=base["model_calls"] + model_calls,
        tokens=base["tokens"] + tokens,
        seconds=base["seconds"] + seconds,
    )


def tokens_of(message: AIMessage) -> int:
    """Tokens the server reported for the request that produced `message` (0 when it reported none)."""
    usage = message.usage_metadata
    return int(usage.get("total_tokens", 0)) if usage else 0


def run_usage(usages: Mapping[str, Usage], batches: Iterable[Iterable[str]]) -> Usage:
    """A run's total usage: counts added up; seconds of the parts that ran at the same time (`batches`
    of usage keys) count once, as the longest of them."""
    total = no_usage()
    in_batches: set[str] = set()
    for batch in batches:
        keys = [key for key in batch if key in usages]
        in_batches.update(keys)
        total = add(total, seconds=max((usages[key]["seconds"] for key in keys), default=0.0))
    for key, used in usages.items():
        total = add(
            total,
            steps=used["steps"],
            model_calls=used["model_calls"],
            tokens=used["tokens"],
            seconds=0.0 if key in in_batches else used["seconds"],
        )
    return total


def remaining(policy: PolicySettings, used: Usage) -> Budget:
    """What is left of the run's limits after `used`."""
    return Budget(
        steps=max(0, policy.max_steps - used["steps"]),
        model_calls=max(0, policy.max_model_calls - used["model_calls"]),
        tokens=max(0, policy.max_tokens - used["tokens"]),
        seconds=max(0.0, policy.max_wall_s - used["seconds"]),
    )


def share(budget: Budget, parts: int) -> Budget:
    """One of `parts` agents' share of `budget`: counts divided evenly, running time not (they run at once)."""
    shared = Budget(**budget)
    shared["parts"] = max(1, parts)
    for key in COUNTED:
        if key in shared:
            shared[key] = shared[key] // max(1, parts)  # type: ignore[literal-required]
    return shared


def exhausted(used: Usage, budget: Budget, policy: PolicySettings) -> str | None:
    """Why `used` has reached `budget` (naming the run limit and its setting), or None."""
    limits = {"steps": policy.max_steps, "model_calls": policy.max_model_calls, "tokens": policy.max_tokens, "seconds": policy.max_wall_s}
    for key, (what, setting) in _NAMES.items():
        allowed = budget.get(key)
        if allowed is None or used[key] < allowed:  # type: ignore[literal-required]
            continue
        limit = limits[key]
        shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
        if budget.get("parts", 1) > 1 and key in COUNTED:
            return f"stopped at its share ({allowed}) of the run's limit of {shown} {what} ({setting})"
        return f"stopped at the run's limit of {shown} {what} ({setting})"
    return None
