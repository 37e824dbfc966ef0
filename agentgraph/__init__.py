"""agentgraph: a LangGraph multi-agent framework whose agents run on their own LoRA adapters."""

__version__ = "0.1.0"
