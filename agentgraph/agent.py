"""What an agent is: a name, a prompt, a tool allow-list and the LoRA adapter that backs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

CallCheck = Callable[[str, str, Mapping], "str | None"]
"""(task, tool name, arguments) -> what is wrong with the call for this task, or None."""
ResultStatement = Callable[[str, str, Sequence[str]], str]
"""(task, the model's answer, the results of the tool calls that ran) -> a statement that stands alone."""


@dataclass(frozen=True)
class AgentLimits:
    """Limits of one agent on one subtask, within the run's limits (`policy.*`); None: only the run's."""

    max_model_calls: int | None = None
    max_tokens: int | None = None
    max_tool_rounds: int | None = None
    """Overrides `graph.max_tool_rounds` for this agent."""
    calls_per_minute: Mapping[str, int] = field(default_factory=dict, hash=False)
    """Calls per minute per thread of this agent's tools, by tool name (overrides `policy.tool_rate_limits`)."""


@dataclass(frozen=True)
class AgentSpec:
    """A specialised agent; the graph turns it into a node, the trainer into training rows."""

    name: str
    """Node name, handoff target (`transfer_to_<name>`) and default adapter name."""
    description: str
    """One line the router reads to decide when to hand work to this agent."""
    system_prompt: str
    tools: Sequence[BaseTool] = ()
    """The allow-list: the only tools this agent may run."""
    adapter: str | None = None
    """Served LoRA adapter name; None means the agent's own name."""
    needs_approval: frozenset[str] = field(default_factory=frozenset)
    """Tools that interrupt the run for a person's approval before they run."""
    limits: AgentLimits = field(default_factory=AgentLimits)
    """This agent's own limits (model calls, tokens, tool rounds, tool calls per minute)."""
    check_call: CallCheck | None = field(default=None, hash=False, compare=False)
    """Checks a call against the task before it runs; a problem it names is sent back as a correction."""
    result_statement: ResultStatement | None = field(default=None, hash=False, compare=False)
    """Turns the model's final answer into the statement the agents after it read (default: the answer as written)."""

    @property
    def adapter_name(self) -> str:
        """The `model=` name this agent sends to the server."""
        return self.adapter or self.name

    def openai_tools(self) -> list[dict]:
        """The agent's tools as OpenAI function schemas, exactly as sent to the server and trained on."""
        return [convert_to_openai_tool(tool) for tool in self.tools]

    def tool(self, name: str) -> BaseTool | None:
        """The allowed tool called `name`, or None when it is not on this agent's allow-list."""
        return next((tool for tool in self.tools if tool.name == name), None)


def facts_request(task: str, facts: Sequence[str]) -> str:
    """An agent's user turn when earlier steps' results are its facts: `Facts: ...` then `Task: ...`."""
    if not facts:
        return task
    return "Facts: " + " ".join(" ".join(f.split()) for f in facts) + f"\nTask: {task}"
