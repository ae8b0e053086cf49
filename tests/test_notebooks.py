"""Every numbered notebook runs top to bottom in quick mode; committed ones carry no outputs."""

import json

import pytest

from digitlab.notebooks import execute_notebook, notebook_paths

NOTEBOOKS = notebook_paths()


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS[0].name == "01_load_and_explore.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    cells = json.loads(path.read_text())["cells"]
    assert not any(cell.get("outputs") or cell.get("execution_count") for cell in cells)
    code_cells = [cell for cell in cells if cell["cell_type"] == "code"]
    assert "parameters" in code_cells[0].get("metadata", {}).get("tags", [])


@pytest.fixture(scope="module")
def quick_output(tmp_path_factory, mnist_dir, monkeypatch_module):
    """One output folder shared by the notebooks, run in order as the main job does."""
    monkeypatch_module.setenv("DIGITLAB_MNIST_DIR", str(mnist_dir))
    return tmp_path_factory.mktemp("quick")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, quick_output):
    executed = quick_output / "notebooks" / path.name
    execute_notebook(path, executed, quick=True, output_dir=quick_output, timeout=600)
    prefix = path.name[:2]
    figures = sorted(p.name for p in (quick_output / "figures").glob(f"{prefix}_*.png"))
    assert figures, f"{path.name} saved no figure to figures/"
    cells = json.loads(executed.read_text())["cells"]
    outputs = [output for cell in cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
