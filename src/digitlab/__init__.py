"""digitlab: handwritten digit recognition on MNIST with Keras 3."""

import os

# TensorFlow's oneDNN kernels: on by default only on some Intel CPUs. Set before TensorFlow is
# imported; on a 2-core AMD EPYC they used about 10% less CPU time per CNN epoch and stay
# deterministic (benchmarks/results/cnn_experiments_2026-11-21.txt, E9). Set it to 0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
