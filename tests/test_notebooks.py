"""The papermill runner (on tiny notebooks), and every numbered notebook in quick mode."""

import json
import os
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from digitlab.errors import NotebookError
from digitlab.notebooks import execute_notebook, notebook_paths
from digitlab.tflog import TensorFlowLogFilter

NOTEBOOKS = notebook_paths()


def write_notebook(path, *sources):
    """A notebook whose first cell is tagged `parameters`, then one code cell per source."""
    cells = [new_code_cell("quick = False", metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(source) for source in sources]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, path)
    return path


def stream_text(path):
    cells = nbformat.read(path, as_version=4).cells
    return "".join(output.get("text", "") for cell in cells for output in cell.get("outputs", []))


def test_quick_is_injected_after_the_parameters_cell_and_set_for_the_kernel(tmp_path):
    path = write_notebook(tmp_path / "tiny.ipynb",
                          "import os\nprint('quick', quick, os.environ['DIGITLAB_QUICK'])")
    execute_notebook(path, tmp_path / "executed.ipynb", quick=True)
    cells = nbformat.read(tmp_path / "executed.ipynb", as_version=4).cells
    assert "injected-parameters" in cells[1].metadata.tags
    assert "quick = True" in cells[1].source
    assert stream_text(tmp_path / "executed.ipynb") == "quick True 1\n"


def test_cell_output_reaches_stdout_while_the_cell_still_runs(tmp_path, monkeypatch):
    # The cell waits until its first line has reached the runner's stdout (a file here).
    stdout = tmp_path / "stdout.txt"
    waits = f"""import time
print("first line", flush=True)
for _ in range(100):
    if "first line" in open({str(stdout)!r}).read():
        break
    time.sleep(0.1)
else:
    raise RuntimeError("the first line was not printed while the cell ran")
print("second line")"""
    path = write_notebook(tmp_path / "live.ipynb", waits)
    with stdout.open("w") as out:
        monkeypatch.setattr(sys, "stdout", out)
        execute_notebook(path, tmp_path / "executed.ipynb")
    lines = stdout.read_text().splitlines()
    assert lines == ["  [1/3] quick = False", "  [2/3] quick = False", "  [3/3] import time",
                     "first line", "second line"]


def test_failing_cell_is_named_and_the_executed_copy_keeps_its_error(tmp_path):
    path = write_notebook(tmp_path / "broken.ipynb", "print('before')",
                          "# Fails on purpose.\nvalue = 41\nraise ValueError(f'bad value {value}')",
                          "print('never')")
    executed = tmp_path / "out" / "broken.ipynb"
    with pytest.raises(NotebookError) as error:
        execute_notebook(path, executed)
    assert str(error.value).startswith(
        "broken.ipynb, cell 4 (value = 41): ValueError: bad value 41\nThe traceback is in ")
    assert str(executed) in str(error.value)
    outputs = [output for cell in nbformat.read(executed, as_version=4).cells
               for output in cell.get("outputs", [])]
    assert [output.get("text") for output in outputs if output.output_type == "stream"] == [
        "before\n"]
    assert [(output.ename, output.evalue) for output in outputs
            if output.output_type == "error"] == [("ValueError", "bad value 41")]


def test_cell_past_the_timeout_is_named(tmp_path):
    path = write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(3)")
    with pytest.raises(NotebookError,
                       match=r"^slow.ipynb, cell 3 \(import time\) ran past the 1 s timeout"):
        execute_notebook(path, tmp_path / "executed.ipynb", timeout=1)
    assert (tmp_path / "executed.ipynb").exists()


# Written by TensorFlow 2.21 on import, whatever TF_CPP_MIN_LOG_LEVEL says.
TF_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796151057.541179   16449 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.\n",
    "E0000 00:00:1796151065.152957   16449 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
]


def test_tensorflow_log_lines_are_dropped_and_other_stderr_kept(capsys):
    stream = TensorFlowLogFilter(sys.stderr)
    stream.write("".join(TF_LINES[:2]) + "UserWarning: shuffle is ignored\n" + TF_LINES[2])
    assert capsys.readouterr().err == "UserWarning: shuffle is ignored\n"


def test_kernel_runs_quietly_unless_verbose(tmp_path, monkeypatch, capfd):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    # A kernel started from pytest leaves low-level output alone; the main job's does not.
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    # Low-level output, as TensorFlow's C++ code writes it, and a Python warning.
    path = write_notebook(tmp_path / "noisy.ipynb", f"""import os, sys, time
os.write(2, {TF_LINES[1].encode()!r})
time.sleep(0.5)  # ipykernel forwards low-level output from a thread
print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
print("a warning", file=sys.stderr)""")
    execute_notebook(path, tmp_path / "quiet.ipynb")
    quiet = capfd.readouterr()
    execute_notebook(path, tmp_path / "verbose.ipynb", verbose=True)
    verbose = capfd.readouterr()
    assert "level 2\n" in quiet.out and "level None\n" in verbose.out
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ  # set for the kernel only
    assert "a warning\n" in quiet.err and "a warning\n" in verbose.err
    assert "oneDNN" not in quiet.err
    assert verbose.err.count("oneDNN") == 1
    # ipykernel warns on its stderr when the kernel's transport is not encrypted.
    assert "without encryption" not in quiet.err + verbose.err


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS[0].name == "01_load_and_explore.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    cells = json.loads(path.read_text())["cells"]
    assert not any(cell.get("outputs") or cell.get("execution_count") for cell in cells)
    code_cells = [cell for cell in cells if cell["cell_type"] == "code"]
    assert "parameters" in code_cells[0].get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_derives_nothing_from_quick(path):
    # papermill injects `quick = True` after this cell, too late for values computed in it.
    cells = json.loads(path.read_text())["cells"]
    parameters = next(cell for cell in cells if cell["cell_type"] == "code")
    assert "if quick" not in "".join(parameters["source"])


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


def test_notebook_05_table_equals_evaluate_on_the_chain_models(quick_output, mnist_dir):
    # Notebook 05 ran above on the models notebooks 03 and 04 saved in quick mode.
    import pandas as pd

    from digitlab.mnist import data, evaluate

    models_dir = quick_output / "models"
    assert (models_dir / "comparison.csv").is_file(), "run with the notebooks above"
    table = pd.read_csv(models_dir / "comparison.csv", index_col="model")
    _, (x_test, y_test) = data.load_mnist(mnist_dir)
    for name, model in evaluate.load_models(("mlp", "cnn"), models_dir).items():
        size = int(table.loc[name, "test_images"])
        result = evaluate.predict(model, x_test[:size], y_test[:size])
        assert table.loc[name, "test_accuracy"] == pytest.approx(result.accuracy)
        assert table.loc[name, "test_errors"] == result.errors
    figures = {path.stem for path in (quick_output / "figures").glob("05_*.png")}
    assert {"05_confusion_counts", "05_confusion_normalized", "05_misclassified_mlp",
            "05_misclassified_cnn", "05_misclassified_both", "05_grid_mlp", "05_grid_cnn",
            "05_reliability", "05_robustness"} <= figures


def test_the_tflog_command_drops_tensorflow_lines_from_what_it_copies():
    import subprocess

    done = subprocess.run([sys.executable, "-m", "digitlab.tflog"], capture_output=True,
                          text=True, input=TF_LINES[0] + "epoch 1/12\n" + TF_LINES[2])
    assert done.returncode == 0 and done.stdout == "epoch 1/12\n"
