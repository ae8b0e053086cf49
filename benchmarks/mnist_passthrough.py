"""Benchmark: does an MNIST digit pass through `prepare` unchanged?

Runs the first N MNIST test digits (28x28, already centred in a 20x20 box) through
`digitlab.images.preprocess.prepare`, as if a user had drawn them, and compares the CNN's
answers with and without it, and the pixels (best of the nine 1-pixel shifts: re-centring
by mass may move a digit by one pixel).

Run: .venv/bin/python benchmarks/mnist_passthrough.py [--model PATH] [--images 2000]
Writes benchmarks/results/mnist_passthrough.txt.
"""

import argparse
from pathlib import Path

import numpy as np

from digitlab import config
from digitlab.images.preprocess import prepare
from digitlab.mnist import data
from digitlab.provenance import file_sha256
from digitlab.serve.predict import Predictor

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    parser.add_argument("--images", type=int, default=2000)
    args = parser.parse_args(argv)
    _, (x_test, y_test) = data.load_mnist()
    images, labels = x_test[: args.images], y_test[: args.images]
    originals = images.astype(np.float32) / 255
    prepared = np.stack([prepare(image).model_input for image in images])
    predictor = Predictor(args.model)
    direct = predictor.probabilities(originals).argmax(axis=1)
    through = predictor.probabilities(prepared).argmax(axis=1)
    aligned = np.min([np.abs(np.roll(prepared, (dy, dx), axis=(1, 2)) - originals).mean((1, 2))
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    text = (f"{len(images)} MNIST test digits through prepare, model {Path(args.model).name} "
            f"(SHA-256 {file_sha256(args.model)}):\n"
            f"  accuracy direct {np.mean(direct == labels):.2%}, through prepare "
            f"{np.mean(through == labels):.2%}; same answer {np.mean(direct == through):.2%}\n"
            f"  mean absolute pixel difference, best 1-pixel shift: {aligned.mean():.4f}; "
            f"ink through prepare / original: {prepared.sum() / originals.sum():.3f}")
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "mnist_passthrough.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
