"""`build_graph`: a set of agents becomes a compiled supervisor graph.

```python
from agentgraph import AgentSpec, build_graph
from agentgraph.agents import MATH, WRITING

graph = build_graph([MATH, WRITING, AgentSpec("units", "Converts units.", "You convert units.", tools=(convert,))])
graph.invoke({"messages": [("user", "Convert 5 miles to km and write it as a note.")]})["answer"]
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from agentgraph.agent import AgentSpec
from agentgraph.compat import CONFIG_KEY_DURABILITY
from agentgraph.errors import ConfigError
from agentgraph.modelcall import ModelFactory, served_model_factory
from agentgraph.node import Citer, RequestBuilder, agent_node
from agentgraph.settings import Settings, get_settings
from agentgraph.state import GraphState
from agentgraph.supervisor import FINISH, JOIN, RESERVED_NODES, SUPERVISOR, Supervisor

__all__ = ["build_graph"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def build_graph(
    agents: Sequence[AgentSpec] | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    settings: Settings | None = None,
    *,
    model_factory: ModelFactory | None = None,
    run_last: Mapping[str, RequestBuilder] | None = None,
    cite: Citer | None = None,
) -> CompiledStateGraph:
    """The supervisor graph over `agents` (default: retrieval, math, writing).

    `model_factory` gives the chat model for a served name (default: the configured vLLM server);
    `run_last` names the agents that run after the others, each with how it receives their facts
    (default: `writing` with `writing_request`); `cite` finds the sources an answer cites
    (default: the retrieval agent's `[source: ...]` format). With a `checkpointer`, checkpoints are
    written synchronously (durability "sync"), so that side effects never outrun the state that records them.
    """
    settings = settings or get_settings()
    agents = list(agents) if agents is not None else _default_agents()
    _check_names(agents)
    run_last = dict(run_last) if run_last is not None else _default_run_last(agents)
    unknown = set(run_last) - {a.name for a in agents}
    if unknown:
        raise ConfigError(f"run_last names agents that are not in the graph: {', '.join(sorted(unknown))}")
    model_factory = model_factory or served_model_factory(settings)
    cite = cite or _default_cite()

    supervisor = Supervisor(agents, model_factory=model_factory, settings=settings, run_last=run_last)
    builder = StateGraph(GraphState)
    builder.add_node(SUPERVISOR, supervisor.plan)
    builder.add_node(JOIN, supervisor.join)
    builder.add_node(FINISH, supervisor.finish)
    graph_tools = {tool.name for agent in agents for tool in agent.tools}
    for agent in agents:
        node = agent_node(
            agent, model_factory=model_factory, settings=settings, request=run_last.get(agent.name), cite=cite, graph_tools=graph_tools
        )
        builder.add_node(agent.name, node)
        builder.add_edge(agent.name, JOIN)
    targets = [agent.name for agent in agents] + [FINISH]
    builder.add_edge(START, SUPERVISOR)
    builder.add_conditional_edges(SUPERVISOR, supervisor.next_step, targets)
    builder.add_conditional_edges(JOIN, supervisor.next_step, targets)
    builder.set_finish_point(FINISH)
    compiled = builder.compile(checkpointer=checkpointer, store=store, name="agentgraph")
    if checkpointer is None:  # LangGraph's "sync" durability needs a saver (one given at run time gets "async")
        return compiled
    # Each step's checkpoint is written before the next step starts: a tool never acts on a model turn
    # that a crash could still lose (and that would then be asked again, with new tool call ids).
    return compiled.with_config(configurable={CONFIG_KEY_DURABILITY: "sync"})


def _check_names(agents: Sequence[AgentSpec]) -> None:
    if not agents:
        raise ConfigError("a graph needs at least one agent")
    names = [a.name for a in agents]
    for name in names:
        if not _NAME.match(name):
            raise ConfigError(f"agent name {name!r} must be lowercase letters, digits and '_' (it becomes a tool name)")
        if name in RESERVED_NODES:
            raise ConfigError(f"agent name {name!r} is reserved for the supervisor's own nodes")
    if len(set(names)) != len(names):
        raise ConfigError(f"agent names must be unique, got {', '.join(names)}")


# The framework does not import the shipped agents at import time; these defaults load them on use.


def _default_agents() -> list[AgentSpec]:
    from agentgraph.agents import DEFAULT_AGENTS

    return list(DEFAULT_AGENTS)


def _default_run_last(agents: Sequence[AgentSpec]) -> dict[str, RequestBuilder]:
    if not any(a.name == "writing" for a in agents):
        return {}
    from agentgraph.agents.writing import writing_request

    return {"writing": writing_request}


def _default_cite() -> Citer:
    from agentgraph.agents.retrieval import citations

    return citations
