"""Errors that agentgraph reports to its users: each message names what was wrong and what to do."""

__all__ = ["AgentgraphError", "ConfigError", "ModelError", "ServingError", "StorageError"]


class AgentgraphError(Exception):
    """Base of every error agentgraph raises on purpose; the CLI prints these without a traceback."""


class ConfigError(AgentgraphError):
    """The settings, a profile or the adapter registry are wrong."""


class ModelError(AgentgraphError):
    """The base model cannot be prepared or loaded."""


class ServingError(AgentgraphError):
    """The vLLM server cannot be started, reached or used."""


class StorageError(AgentgraphError):
    """The checkpoint or memory store cannot be opened, read or written."""
