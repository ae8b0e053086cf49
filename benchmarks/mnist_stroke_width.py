"""Benchmark: MNIST's stroke widths, the range `preprocess` brings people's strokes into.

Crops each training digit to its ink, scales it to STROKE_SCALE pixels on its long side
(bilinear), keeps pixels above half intensity and measures `preprocess.stroke_width`, as a
fraction of the long side. The 10th, 50th and 90th percentiles are the constants THIN_STROKE,
MEDIAN_STROKE and BOLD_STROKE in `digitlab.images.preprocess`.

Run: .venv/bin/python benchmarks/mnist_stroke_width.py [--images 3000]
Writes benchmarks/results/mnist_stroke_width.txt.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab.images.preprocess import (
    BOLD_STROKE,
    MEDIAN_STROKE,
    STROKE_SCALE,
    THIN_STROKE,
    stroke_width,
)
from digitlab.mnist import data

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def relative_width(image: np.ndarray) -> float:
    """The stroke width of one (28, 28) uint8 digit, as a fraction of its long side."""
    rows, columns = np.nonzero(image > 12)
    crop = image[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1] / 255
    scale = STROKE_SCALE / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    scaled = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(
        size, Image.Resampling.BILINEAR))
    return stroke_width(np.pad(scaled > 0.5, 4)) / STROKE_SCALE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=3000)
    args = parser.parse_args(argv)
    (x_train, _), _ = data.load_mnist()
    widths = np.array([relative_width(image) for image in x_train[: args.images]])
    low, median, high = np.percentile(widths, [10, 50, 90])
    text = (f"Stroke width of the first {len(widths)} MNIST training digits, as a fraction of "
            f"the digit's long side:\n  10th percentile {low:.3f}, median {median:.3f}, "
            f"90th percentile {high:.3f}\n  digitlab.images.preprocess uses {THIN_STROKE}, "
            f"{MEDIAN_STROKE}, {BOLD_STROKE}")
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "mnist_stroke_width.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
