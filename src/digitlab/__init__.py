"""digitlab: handwritten digit recognition on MNIST with Keras 3.

The few names most people need, importable from the top (each loads its subpackage, and with
it TensorFlow, only when first used):

    load_mnist(...)     the four MNIST files, verified  -> ((x_train, y_train), (x_test, y_test))
    load_model(path)    a saved .keras model, checked
    prepare(image)      any photo, scan or drawing of one digit -> an MNIST-like 28x28
    Predictor(path)     load a model once, predict digits in image files

Everything else lives in the subpackages: `digitlab.mnist` (data, models, training,
evaluation), `digitlab.images` (people's own images), `digitlab.serve` (predict, export,
app), `digitlab.transfer` (other handwriting), `digitlab.plots`, `digitlab.report`.
"""

import importlib
import os

# TensorFlow's oneDNN kernels: on by default only on some Intel CPUs. Set before TensorFlow is
# imported; on a 2-core AMD EPYC they used about 10% less CPU time per CNN epoch and stay
# deterministic (benchmarks/results/cnn_experiments_2026-11-21.txt, E9). Set it to 0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

_SURFACE = {
    "load_mnist": "digitlab.mnist.data",
    "load_model": "digitlab.mnist.models",
    "prepare": "digitlab.images.preprocess",
    "Predictor": "digitlab.serve.predict",
}
__all__ = ["__version__", *_SURFACE]


def __getattr__(name: str):
    if name in _SURFACE:
        return getattr(importlib.import_module(_SURFACE[name]), name)
    raise AttributeError(f"module 'digitlab' has no attribute {name!r}")
