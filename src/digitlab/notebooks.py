"""Run the numbered notebooks headless with papermill, in order, printing their output live."""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import papermill
import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError
from traitlets import Bool, Dict, default
from traitlets.config import Config

from digitlab import config
from digitlab.atomic import write_text_atomically
from digitlab.errors import NotebookError
from digitlab.tflog import QUIET_ENV, TensorFlowLogFilter


class NotebookKernelManager(AsyncKernelManager):
    """Starts the kernel with extra environment variables, over encrypted transport.

    Unless verbose, the kernel's own stderr is discarded: there ipykernel repeats what cells write
    below Python (TensorFlow's C++ logs), which also arrives as the cells' output.
    """

    extra_env = Dict().tag(config=True)
    verbose = Bool(False).tag(config=True)

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        # Without CurveZMQ keys ipykernel 7 warns "Kernel is running over TCP without encryption".
        return "auto" if zmq.has("curve") else "disabled"

    # mypy reads the base class as the blocking KernelManager; this one is awaited.
    async def start_kernel(self, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs["env"] = {**kwargs.get("env", os.environ), **self.extra_env}
        if not self.verbose:
            kwargs["stderr"] = subprocess.DEVNULL
        await super().start_kernel(**kwargs)


def notebook_paths(notebooks_dir: Path = config.NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks (`01_...ipynb`, `02_...`), in order."""
    return sorted(p for p in Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))


def first_line(source: str, width: int = 80) -> str:
    """The first line of a cell's code, skipping blanks, comments and magics."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith(("#", "%"))]
    line = (code or lines or [""])[0]
    return line if len(line) <= width else line[:width - 3] + "..."


class CellPrinter:
    """Prints `[3/12] first line of code` as each code cell starts (papermill's numbering)."""

    def __init__(self, path: Path):
        cells = nbformat.read(path, as_version=4).cells
        # +1: the cell papermill injects after the parameters cell.
        self.total = 1 + sum(cell.cell_type == "code" and bool(cell.source.strip())
                             for cell in cells)
        self.count = 0
        self.source = ""

    def __call__(self, cell: nbformat.NotebookNode, cell_index: int) -> None:
        self.count += 1
        self.source = cell.source
        print(f"  [{self.count}/{self.total}] {first_line(cell.source)}", flush=True)


def execute_notebook(path: Path, executed_path: Path, quick: bool = False,
                     output_dir: Path | None = None, timeout: int | None = None,
                     verbose: bool = False) -> float:
    """Execute one notebook with papermill, printing each cell's output as it comes.

    Args:
        path: the notebook to run (left unchanged).
        executed_path: where the notebook with its outputs is written, also when a cell fails.
        quick: papermill parameter `quick=True` and DIGITLAB_QUICK=1 for the kernel (tiny data,
            few epochs).
        output_dir: where the kernel writes figures/ and models/ (default: the project).
        timeout: seconds one cell may run; None for no limit.
        verbose: show TensorFlow's C++ log lines and the kernel's own stderr.

    Returns:
        Seconds the notebook took.

    Raises:
        NotebookError: a cell raised or timed out, or the kernel died. It names the cell.
    """
    # papermill runs the kernel in the notebook's folder: every path handed over is absolute.
    path, executed_path = Path(path).resolve(), Path(executed_path).resolve()
    env = {config.QUICK_ENV: "1" if quick else "0"}
    if output_dir is not None:
        env[config.OUTPUT_DIR_ENV] = str(Path(output_dir).resolve())
    if not verbose:
        env.update(QUIET_ENV)
    kernel = Config({"NotebookKernelManager": {"extra_env": env, "verbose": verbose}})
    printer = CellPrinter(path)
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            path, executed_path, parameters={"quick": quick}, kernel_name="python3",
            cwd=path.parent, progress_bar=False, stdout_file=sys.stdout,
            stderr_file=TensorFlowLogFilter(sys.stderr),
            execution_timeout=timeout, kernel_manager_class=NotebookKernelManager, config=kernel,
            on_cell_execute=printer)
    except PapermillExecutionError as error:
        raise NotebookError(
            f"{path.name}, cell {error.exec_count} ({first_line(error.source)}): "
            f"{error.ename}: {error.evalue}\nThe traceback is in {executed_path}") from error
    except (CellTimeoutError, DeadKernelError) as error:
        what = (f"ran past the {timeout} s timeout" if isinstance(error, CellTimeoutError)
                else "killed the kernel (out of memory? --verbose shows its stderr)")
        raise NotebookError(
            f"{path.name}, cell {printer.count} ({first_line(printer.source)}) {what}\n"
            f"Its output so far is in {executed_path}") from error
    return time.perf_counter() - start


def run_all(quick: bool = False, output_dir: Path | None = None,
            executed_dir: Path = config.EXECUTED_NOTEBOOKS_DIR, verbose: bool = False,
            notebooks_dir: Path = config.NOTEBOOKS_DIR) -> dict[str, float]:
    """Execute every numbered notebook in order; return seconds per notebook."""
    paths = notebook_paths(notebooks_dir)
    times = {}
    for number, path in enumerate(paths, start=1):
        print(f"Running {path.name} ({number}/{len(paths)}{', quick' if quick else ''})",
              flush=True)
        seconds = execute_notebook(path, Path(executed_dir) / path.name, quick, output_dir,
                                   verbose=verbose)
        times[path.name] = round(seconds, 1)
        print(f"{path.name} done in {seconds:.0f} s", flush=True)
    if not quick:
        record = {"seconds": times, "total_seconds": round(sum(times.values()), 1),
                  "machine": platform.machine(), "cpus": os.cpu_count()}
        out = Path(output_dir or config.OUTPUT_DIR) / "models" / "main_job_times.json"
        write_text_atomically(out, json.dumps(record, indent=2) + "\n")
    return times
