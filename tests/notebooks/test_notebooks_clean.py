"""The notebooks are committed without outputs or execution counts (run them locally as much as you
like: `nbstripout notebooks/*.ipynb` or the nbstripout git filter cleans them before a commit)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def staged_text(path: Path) -> str:
    """The notebook as git would commit it (the index, after any clean filter); the file if untracked."""
    relative = path.relative_to(ROOT).as_posix()
    shown = subprocess.run(["git", "show", f":{relative}"], cwd=ROOT, capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else path.read_text(encoding="utf-8")


def test_the_three_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_custom_agent.ipynb", "03_finetune.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path):
    notebook = nbformat.reads(staged_text(path), as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    with_outputs = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and cell.outputs]
    counted = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and cell.execution_count is not None]
    assert not with_outputs, f"{path.name}: cells {with_outputs} have outputs; run nbstripout on it"
    assert not counted, f"{path.name}: cells {counted} have execution counts; run nbstripout on it"
