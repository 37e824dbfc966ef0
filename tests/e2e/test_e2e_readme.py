"""The README's Python example runs as written (every ```python block, in order), against the real vLLM server and the trained adapters."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from e2e_support import numbers

from agentgraph.serving.server import ServerInfo
from agentgraph.settings import get_settings

pytestmark = pytest.mark.server

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


def test_readme_python_example_answers_its_question(vllm_server: ServerInfo, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGRAPH_SERVER__URLS", f'["{vllm_server.url}"]')
    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", f"sqlite:///{tmp_path / 'readme.db'}")
    monkeypatch.setenv("AGENTGRAPH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no python example"
    namespace: dict = {"__name__": "readme_example"}
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            for code in blocks:  # in order, in one namespace, as a reader would paste them
                exec(compile(code, str(README), "exec"), namespace)
    finally:
        get_settings.cache_clear()

    answer = printed.getvalue()
    assert "12" in numbers(answer), answer  # 15% of 80
    assert answer.startswith("Note:"), answer
