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


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, mnist_dir) -> Path:
    """A small MLP trained for one epoch on 5,000 MNIST images (seconds): enough for contracts."""
    import keras

    from digitlab.mnist import data, models
    from digitlab.mnist.pipeline import scale_images

    (x_train, y_train), _ = data.subsample(data.load_mnist(mnist_dir), 5000, 10)
    model = models.build_mlp(models.MLPConfig(hidden_units=(64,)), name="tiny")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    keras.utils.set_random_seed(0)
    model.fit(scale_images(x_train), y_train, epochs=1, batch_size=128, verbose=0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path
