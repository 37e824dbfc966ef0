"""The graph the durability trials kill and resume: a clerk that records two lines with a side-effecting tool,
and the math agent beside it, on a scripted model that any process can load.

The model is stateless: each reply follows from the conversation alone, so a process that resumes a
thread gets the same replies as the one that was killed (with fresh tool call ids, as a server gives).
`agentgraph run --graph tests/safety/safety_durable_graph.py:build` loads it; the ledger file is
`LEDGER_PATH`, or the `SAFETY_LEDGER` environment variable in a new process.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agentgraph import build_graph
from agentgraph.agent import AgentSpec
from agentgraph.agents.math import MATH
from safety_tools import Ledger

LEDGER_PATH: Path | None = None
IDEMPOTENT = True
MODEL_DELAY_S = 0.005
"""Each reply takes this long, as a (very fast) server would."""

_TAG = re.compile(r"items of (\S+?)\.")


def question(tag: str) -> str:
    """The question of one trial."""
    return f"Record the items of {tag}."


def expected_answer(tag: str) -> str:
    """The answer a finished trial gives."""
    return f"Recorded {tag} A and B.\n\nThe answer is 4."


def _call(name: str, **args: Any) -> dict:
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}


def reply(model: str, messages: Sequence[BaseMessage]) -> AIMessage:
    """The scripted reply of `model` to a conversation."""
    asked = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage))
    done = sum(isinstance(m, ToolMessage) for m in messages)
    if model == "router":
        return AIMessage(content="", tool_calls=[_call("transfer_to_clerk", task=asked), _call("transfer_to_math", task="What is 2+2?")])
    if model == "math":
        return (
            AIMessage(content="", tool_calls=[_call("calculator", expression="2+2")]) if not done else AIMessage(content="The answer is 4.")
        )
    tag = _TAG.search(asked).group(1)  # type: ignore[union-attr]
    if done < 2:
        return AIMessage(content="", tool_calls=[_call("record", text=f"{tag} {'AB'[done]}")])
    return AIMessage(content=f"Recorded {tag} A and B.")


class StatelessModel(BaseChatModel):
    """Replies with `reply(served_name, messages)`."""

    served_name: str

    @property
    def _llm_type(self) -> str:
        return "stateless-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> StatelessModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        time.sleep(MODEL_DELAY_S)
        return ChatResult(generations=[ChatGeneration(message=reply(self.served_name, messages))])


def ledger() -> Ledger:
    """The side-effecting tool's ledger of this process."""
    path = LEDGER_PATH or Path(os.environ["SAFETY_LEDGER"])
    return Ledger(path, idempotent=IDEMPOTENT)


def build(checkpointer: Any = None, store: Any = None, settings: Any = None) -> Any:
    """The trial graph on the given saver."""
    clerk = AgentSpec("clerk", "Records items.", "You are the clerk. Record each item.", tools=(ledger().tool,))
    return build_graph([clerk, MATH], checkpointer, store, settings, model_factory=lambda name: StatelessModel(served_name=name))
