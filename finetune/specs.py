"""What fine-tuning knows about each shipped agent's adapter, declared once: its data builder, its
evaluation (the metrics, the reply cap, the function that scores a row), where its mistakes lie, and
how many rows it trains on by default.

The data builder of an agent is the module of its name in `agentgraph.finetune.datasets`; its row
evaluator is the function `evaluator` of `agentgraph.finetune.evaluate`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

__all__ = ["AGENTS", "EVALUATED", "ROUTER_AGENTS", "TRAINING", "AgentTraining", "FailingTurn"]

FailingTurn = tuple[str, int, int]
"""A metric, the adapter's reply its failure blames (0: first, 1: second) and the reference turn that should
have been written instead (-2: the last call, after any refused ones; -1: the final turn)."""


@dataclass(frozen=True)
class AgentTraining:
    """One agent's fine-tuning: data, evaluation and defaults."""

    name: str
    default_train: int
    """Train rows built when the agent's config sets no `n_train`."""
    metrics: tuple[str, ...] = ()
    """The scores of its evaluation (`agentgraph eval`); none when it has no built-in evaluation."""
    evaluator: str | None = None
    """The function of `agentgraph.finetune.evaluate` that runs and scores one of its rows (retrieval's also
    takes the search over its test corpus)."""
    max_tokens: int = 128
    """Reply length cap in evaluation: well above every reference reply, so only run-on replies are cut."""
    failing_turns: tuple[FailingTurn, ...] = ()
    """In order: which reply a failed metric blames, for preference pairs made from its mistakes."""

    def builder(self) -> ModuleType:
        """Its data builder, `agentgraph.finetune.datasets.<name>`."""
        return importlib.import_module(f"agentgraph.finetune.datasets.{self.name}")


TRAINING: dict[str, AgentTraining] = {
    spec.name: spec
    for spec in (
        AgentTraining("router", 600, ("agent_accuracy",), "eval_router", max_tokens=128, failing_turns=(("agent_accuracy", 0, -1),)),
        AgentTraining(
            "math",
            600,
            ("tool_call_exact", "answer_correct"),
            "eval_math",
            max_tokens=64,
            failing_turns=(("tool_call_exact", 0, -2), ("answer_correct", 1, -1)),
        ),
        AgentTraining(
            "retrieval",
            400,
            ("search_hit", "citation_correct"),
            "eval_retrieval",
            max_tokens=96,
            failing_turns=(("search_hit", 0, -2), ("citation_correct", 1, -1)),
        ),
        AgentTraining("writing", 400, ("format_ok",), "eval_writing", max_tokens=192, failing_turns=(("format_ok", 0, -1),)),
        AgentTraining("tools", 800),
    )
}

AGENTS: tuple[str, ...] = tuple(TRAINING)
"""The agents with a data builder and a training config."""
EVALUATED: tuple[str, ...] = tuple(name for name, spec in TRAINING.items() if spec.metrics)
"""The agents `agentgraph eval` scores on their test split."""
ROUTER_AGENTS: tuple[str, ...] = ("retrieval", "math", "writing")
"""The agents the router's training rows and evaluation hand off to."""
