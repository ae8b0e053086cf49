import os
from pathlib import Path

import pytest

from digitlab.config import MNIST_CACHE_DIR, MNIST_DIR_ENV, PROJ_ROOT
from digitlab.mnist.data import MNIST_FILES


def _has_all_files(folder: Path) -> bool:
    return all((folder / spec.name).is_file() for spec in MNIST_FILES.values())


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """A folder with the four real MNIST files: $DIGITLAB_MNIST_DIR, ../shared or the cache."""
    candidates = [os.environ.get(MNIST_DIR_ENV), PROJ_ROOT.parent / "shared" / "data" / "mnist",
                  MNIST_CACHE_DIR]
    for candidate in candidates:
        if candidate and _has_all_files(Path(candidate)):
            return Path(candidate)
    pytest.skip(f"no local MNIST copy: set {MNIST_DIR_ENV} or run `make data` first")
