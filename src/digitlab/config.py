"""Paths and defaults, anchored at the package location, never the working directory."""

import os
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJ_ROOT / "data"
MNIST_CACHE_DIR = DATA_DIR / "raw" / "mnist"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
EXECUTED_NOTEBOOKS_DIR = NOTEBOOKS_DIR / "executed"

# Environment variables the project reads.
MNIST_DIR_ENV = "DIGITLAB_MNIST_DIR"  # a local folder holding the four MNIST .gz files
QUICK_ENV = "DIGITLAB_QUICK"  # "1": shrink data and epochs to a seconds-long smoke run
OUTPUT_DIR_ENV = "DIGITLAB_OUTPUT_DIR"  # where figures/ and models/ are written

# Quick runs (the tests) write here instead of the committed figures/ and models/.
OUTPUT_DIR = Path(os.environ.get(OUTPUT_DIR_ENV) or PROJ_ROOT)
FIGURES_DIR = OUTPUT_DIR / "figures"
MODELS_DIR = OUTPUT_DIR / "models"
EXPORTS_TABLE = "exports.csv"  # in MODELS_DIR: each exported format's size, accuracy, speed


def quick_mode() -> bool:
    """True when DIGITLAB_QUICK=1 asks for a seconds-long smoke run."""
    return os.environ.get(QUICK_ENV, "0").strip().lower() in {"1", "true", "yes"}


def saved_model(filename: str) -> Path | None:
    """This run's `models/<filename>` (in DIGITLAB_OUTPUT_DIR if set), else the committed one,
    else None."""
    for folder in (MODELS_DIR, PROJ_ROOT / "models"):
        if (folder / filename).is_file():
            return folder / filename
    return None
