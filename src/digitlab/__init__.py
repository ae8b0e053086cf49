"""digitlab: handwritten digit recognition on MNIST with Keras 3."""

import os

# TensorFlow's oneDNN kernels: on by default only on some Intel CPUs. Set before TensorFlow is
# imported; on a 2-core AMD EPYC they train the CNN about 1.3x faster and stay deterministic
# (benchmarks/results/determinism.txt). Set TF_ENABLE_ONEDNN_OPTS=0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
