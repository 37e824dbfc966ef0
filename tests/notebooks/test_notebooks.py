"""The notebooks run from top to bottom against the real stack: the session's vLLM server with the
committed adapters, and a SQLite file of the test. Each is executed in a fresh `python3` kernel of this
interpreter, with the settings given through `AGENTGRAPH_*` variables, and its outputs are checked."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from agentgraph.serving.client import list_models
from agentgraph.serving.server import ServerInfo

pytestmark = pytest.mark.server

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT_S = 1800


@pytest.fixture
def kernel_env(vllm_server: ServerInfo, tmp_path: Path) -> dict[str, str]:
    """This process's environment, pointed at the session's server and a database of the test."""
    env = dict(os.environ)
    env.setdefault("AGENTGRAPH_CONFIG", str(Path("agentgraph.toml").resolve()))
    env["AGENTGRAPH_SERVER__URLS"] = json.dumps([vllm_server.url])
    env["AGENTGRAPH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'notebook.db'}"
    return env


def execute(name: str, env: dict[str, str], keep: Path) -> NotebookNode:
    """The notebook after running every cell in `notebooks/` (an error in a cell fails with its traceback).

    The executed notebook, with its outputs so far, is written to `keep` for reading after the test.
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute(env=env)
    finally:
        nbformat.write(notebook, keep / name)
    return notebook


def output(notebook: NotebookNode, tag: str) -> str:
    """The printed text and result text of the cell tagged `tag`."""
    cells = [cell for cell in notebook.cells if tag in cell.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    texts = []
    for item in cells[0].get("outputs", []):
        if item.output_type == "stream":
            texts.append(item.text)
        elif item.output_type in ("execute_result", "display_data"):
            texts.append(item.data.get("text/plain", ""))
    return "".join(texts)


def line(text: str, prefix: str) -> str:
    """The first line of `text` that starts with `prefix`."""
    found = [row for row in text.splitlines() if row.startswith(prefix)]
    assert found, f"no line starting with {prefix!r} in:\n{text}"
    return found[0]


def numbers(text: str) -> list[str]:
    return [token.replace(",", "") for token in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def test_quickstart(kernel_env, tmp_path):
    notebook = execute("01_quickstart.ipynb", kernel_env, tmp_path)

    ingest = output(notebook, "ingest")
    assert "3 files" in ingest and "failed: {}" in ingest, ingest
    answer = output(notebook, "answer")
    assert "1987" in numbers(answer), answer
    assert "citations: ['velmora-bridge.md']" in answer, answer
    state = output(notebook, "state")
    assert "next: ()" in state
    assert "model: retrieval" in state and "('search'," in state, state
    history = output(notebook, "history")
    assert "written by supervisor" in history and "written by retrieval" in history, history
    fork = output(notebook, "fork")
    assert "412" in numbers(line(fork, "branch:")), fork  # the main span, asked on the branch only
    assert "1987" in numbers(line(fork, "original:")), fork
    branch_history = output(notebook, "branch-history")
    assert " fork " in branch_history and "forked from:" in branch_history, branch_history


def test_custom_agent(kernel_env, vllm_server, tmp_path):
    assert loads_adapters_at_run_time(vllm_server.url), "the session's vLLM server must load adapters at run time"
    notebook = execute("02_custom_agent.ipynb", {**kernel_env, "UNITS_TRAIN_STEPS": "4"}, tmp_path)

    tool = output(notebook, "tool")
    assert "5 mi = 8.04672 km" in tool and "100 C = 212 F" in tool, tool
    assert "served model name: units" in output(notebook, "spec")
    assert "units adapter served: False" in output(notebook, "served")
    graph = output(notebook, "graph")
    assert "'units'" in graph and "transfer_to_units: Converts quantities" in graph, graph
    alone = output(notebook, "units-alone")
    assert "model: tools | fell back: True" in alone, alone  # no units adapter: the generalist adapter
    assert "('convert_units', {'value': 5" in alone, alone
    math = output(notebook, "graph-math")
    assert "agents: ['math', 'writing']" in math, math
    assert "12" in numbers(math.split("\n", 2)[-1]), math  # 15% of 80, in the note
    assert "agents:" in output(notebook, "graph-units")
    train = output(notebook, "units-train")
    assert "4 steps on" in train and "starting from tools" in train, train
    assert "model: own adapter | fell back: False" in output(notebook, "units-own")
    scores = output(notebook, "units-eval")
    assert "own adapter:" in scores and "tools:" in scores and "exact calls" in scores, scores


def loads_adapters_at_run_time(url: str) -> bool:
    """Whether the server has vLLM's runtime adapter endpoint (settings: server.runtime_adapters)."""
    request = urllib.request.Request(
        f"{url.rstrip('/')}/load_lora_adapter", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code != 404


def test_finetune(kernel_env, vllm_server, tmp_path):
    assert loads_adapters_at_run_time(vllm_server.url), (
        "the session's vLLM server cannot load adapters at run time: it must be started with "
        "server.runtime_adapters = true"
    )
    notebook = execute("03_finetune.ipynb", kernel_env, tmp_path)

    assert "n_train=24" in output(notebook, "config")
    assert "'train': 24" in output(notebook, "dataset")
    train = output(notebook, "train")
    assert "6 steps on 24 rows" in train, train
    first, last = (float(x) for x in re.search(r"train loss ([\d.]+) -> ([\d.]+)", train).groups())
    assert last < first, train
    assert "registered: True" in train
    assert "adapter_model.safetensors" in train and "metrics.json" in train and "loss.png" in train
    assert "servable: math v1, rank 8" in output(notebook, "registry")
    load = output(notebook, "load")
    assert re.search(r"math_small_\w+ served: True", load), load
    evaluation = output(notebook, "eval")
    for metric in ("tool_call_exact", "answer_correct"):
        assert re.search(rf"\| math \| {metric} \| [\d.]+% \| [\d.]+% \| 5 \|", evaluation), evaluation
    assert not [name for name in list_models(vllm_server.url) if name.startswith("math_small_")], "the adapter was not unloaded"
