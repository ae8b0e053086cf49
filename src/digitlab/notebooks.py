"""Run the numbered notebooks headless, in order, as the main job and the tests do."""

import json
import os
import platform
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from digitlab import config


def notebook_paths(notebooks_dir: Path = config.NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks (`01_...ipynb`, `02_...`), in order."""
    return sorted(p for p in Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(path: Path, executed_path: Path, quick: bool = False,
                     output_dir: Path | None = None, timeout: int | None = None) -> float:
    """Execute one notebook top to bottom and write the executed copy.

    Args:
        path: the notebook to run (left unchanged).
        executed_path: where the notebook with its outputs is written.
        quick: set DIGITLAB_QUICK=1 for the kernel (tiny data, few epochs).
        output_dir: where the kernel writes figures/ and models/ (default: the project).
        timeout: seconds one cell may run; None for no limit.

    Returns:
        Seconds the notebook took.
    """
    notebook = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env[config.QUICK_ENV] = "1" if quick else "0"
    if output_dir is not None:
        env[config.OUTPUT_DIR_ENV] = str(output_dir)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    start = time.perf_counter()
    try:
        client.execute(env=env)
    finally:
        # Written even when a cell fails, so the error can be read in context.
        Path(executed_path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, executed_path)
    return time.perf_counter() - start


def run_all(quick: bool = False, output_dir: Path | None = None,
            executed_dir: Path = config.EXECUTED_NOTEBOOKS_DIR) -> dict[str, float]:
    """Execute every numbered notebook in order; return seconds per notebook."""
    times = {}
    for path in notebook_paths():
        print(f"Running {path.name} ...", flush=True)
        seconds = execute_notebook(path, Path(executed_dir) / path.name, quick, output_dir)
        times[path.name] = round(seconds, 1)
        print(f"  done in {seconds:.0f} s", flush=True)
    if not quick:
        record = {"seconds": times, "total_seconds": round(sum(times.values()), 1),
                  "machine": platform.machine(), "cpus": os.cpu_count()}
        out = Path(output_dir or config.OUTPUT_DIR) / "models" / "main_job_times.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=2) + "\n")
    return times
