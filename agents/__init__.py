"""The agents that ship with agentgraph; each module defines one `AgentSpec`."""

from agentgraph.agents.math import MATH
from agentgraph.agents.memory import MEMORY
from agentgraph.agents.retrieval import RETRIEVAL
from agentgraph.agents.writing import WRITING

DEFAULT_AGENTS = (RETRIEVAL, MATH, WRITING)

__all__ = ["DEFAULT_AGENTS", "MATH", "MEMORY", "RETRIEVAL", "WRITING"]
