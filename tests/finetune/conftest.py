"""Fixtures of the fine-tuning tests: the base model's tokenizer and the registered ms-swift template.

Only the tokenizer files of the prepared base model folder are read (no weights), so these tests take
seconds. They are skipped when the folder has not been prepared (`agentgraph model prepare`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentgraph.serving.prepare import model_dir
from agentgraph.serving.profile import GEMMA3_270M_CPU
from agentgraph.settings import get_settings


@pytest.fixture(scope="session", autouse=True)
def _no_vllm_plugins() -> Iterator[None]:
    """ms-swift registers a vLLM plugin that imports torchvision; vLLM must not load it here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VLLM_PLUGINS", "none")
        yield


@pytest.fixture(scope="session")
def gemma_dir() -> Path:
    """The prepared Gemma 3 folder; only its tokenizer and config are used."""
    folder = model_dir(get_settings(), GEMMA3_270M_CPU)
    if not (folder / "tokenizer.json").is_file() or not (folder / "config.json").is_file():
        pytest.skip(f"no prepared base model in {folder}; run `agentgraph model prepare`")
    return folder


@pytest.fixture(scope="session")
def swift_template(gemma_dir: Path):  # noqa: ANN201 - ms-swift's Template type
    """ms-swift's `agentgraph_gemma3` template (agent template `agentgraph_pythonic`) in training mode."""
    from agentgraph.finetune.datasets.common import swift_template as make

    return make(gemma_dir)


@pytest.fixture(scope="session")
def tokenizer(swift_template):  # noqa: ANN001, ANN201 - transformers' tokenizer type
    """The base model's Hugging Face tokenizer (adds <bos>), as loaded from the prepared folder."""
    return swift_template.tokenizer
