"""Benchmark: digits cropped to their own box, as forms and postal scans store them.

Such digits touch the image's edges, are small (16-32 px), often binarised, sometimes stretched
to fill the box. The proxies are made from MNIST: each digit is cropped to its ink's box (the
pixels at least half ink), then kept at that size ("tight"), or resized to 16x16 or 32x32,
keeping its aspect ratio and padded ("fit") or stretched to fill ("stretched"); each grey or
binarised, light on dark (as MNIST) or dark on light. "mnist 28x28" is the digit as MNIST
stores it (MNIST-normalised digits, as some historical records are published).

Choices are made on the validation digits (the training set's validation split, as training
makes it); the test digits are for reporting only. Every image goes through
`Predictor.predict_many`, as `python -m digitlab predict` does; no digit ("not a digit", "several
digits") counts as wrong.

Run: .venv/bin/python benchmarks/crops.py [--split validation|test] [--limit 1000] [--model PATH]
     [--check PATH]
Writes benchmarks/results/crops.json and crops.md (test split), or crops_validation.json and
crops_validation.md (validation split).
"""

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab import config
from digitlab.mnist import data
from digitlab.mnist.pipeline import split_validation
from digitlab.mnist.train import TrainConfig
from digitlab.provenance import file_sha256
from digitlab.report.tables import markdown_table
from digitlab.serve.predict import Predictor

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HALF_INK = 128  # the crop keeps the pixels at least half ink: the faint fringe may be cut off
SIZES = (16, 32)  # the sizes of the postal and form collections


def ink_box(digit: np.ndarray) -> np.ndarray:
    """The digit cropped to the box of its pixels that are at least half ink."""
    rows, columns = np.nonzero(digit >= HALF_INK)
    return digit[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]


def resized(crop: np.ndarray, size: int, stretch: bool) -> np.ndarray:
    """The crop in a `size` x `size` image: stretched to fill it, or fitted (aspect ratio kept)
    and centred on black."""
    if stretch:
        width, height = size, size
    else:
        scale = size / max(crop.shape)
        width = max(1, round(crop.shape[1] * scale))
        height = max(1, round(crop.shape[0] * scale))
    small = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BILINEAR))
    image = np.zeros((size, size), np.uint8)
    top, left = (size - height) // 2, (size - width) // 2
    image[top: top + height, left: left + width] = small
    return image


def shapes(digit: np.ndarray) -> dict[str, np.ndarray]:
    """Every geometry of one MNIST digit (28x28 uint8, white on black)."""
    crop = ink_box(digit)
    result = {"mnist 28x28": digit, "tight": crop}
    for size in SIZES:
        result[f"{size} fit"] = resized(crop, size, stretch=False)
        result[f"{size} stretched"] = resized(crop, size, stretch=True)
    return result


def variants(digit: np.ndarray) -> dict[str, np.ndarray]:
    """Every proxy of one digit: each geometry, grey or binarised, in both polarities."""
    result = {}
    for shape, image in shapes(digit).items():
        tones = {"grey": image}
        if shape != "mnist 28x28":
            tones["binary"] = np.where(image >= HALF_INK, 255, 0).astype(np.uint8)
        for tone, toned in tones.items():
            result[f"{shape}, {tone}, light on dark"] = toned
            result[f"{shape}, {tone}, dark on light"] = 255 - toned
    return result


def digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The validation digits (split off the training set as training does) or the test digits."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    if split == "test":
        return x_test, y_test
    train_config = TrainConfig()
    _, validation = split_validation(x_train, y_train, train_config.validation_size,
                                     train_config.seed)
    return validation


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    parser.add_argument("--check", default=None, help="default: models/digit_check.keras")
    parser.add_argument("--split", choices=["validation", "test"], default="test")
    parser.add_argument("--limit", type=int, default=1000, help="digits per variant")
    parser.add_argument("--results", default=str(RESULTS_DIR), help="where to write results")
    args = parser.parse_args(argv)
    images, labels = digits(args.split)
    images, labels = images[: args.limit], labels[: args.limit].astype(int)
    proxies = [variants(image) for image in images]
    predictor = Predictor(args.model, args.check)
    start = time.perf_counter()
    results = {"model": Path(args.model).name, "model_sha256": file_sha256(args.model),
               "check": predictor.check.provenance(), "split": args.split,
               "digits": len(images), "variants": {}}
    rows, right_all, answered_all = [], 0, 0
    for name in proxies[0]:
        predictions = predictor.predict_many(
            [Image.fromarray(proxy[name]) for proxy in proxies])
        answers = np.array([-1 if p.digit is None else p.digit for p in predictions])
        answered = answers >= 0
        right = answers == labels
        right_all, answered_all = right_all + right.sum(), answered_all + answered.sum()
        reasons = Counter(p.detail for p in predictions if p.digit is None)
        results["variants"][name] = {
            "accuracy": float(right.mean()), "no_answer": float(1 - answered.mean()),
            "accuracy_answered": float(right[answered].mean()) if answered.any() else None,
            "reasons": dict(reasons.most_common()),
            "wrong_by_label": dict(Counter(int(label) for label in labels[~right])),
        }
        rows.append({"variant": name, "accuracy": f"{right.mean():.1%}",
                     "no answer": f"{1 - answered.mean():.1%}"})
        print(f"{name}: {right.mean():.1%} right, {1 - answered.mean():.1%} no answer",
              flush=True)
    total = len(images) * len(proxies[0])
    results["all"] = {"accuracy": float(right_all / total),
                      "no_answer": float(1 - answered_all / total)}
    results["seconds"] = round(time.perf_counter() - start, 1)
    rows.append({"variant": "**all**", "accuracy": f"{right_all / total:.1%}",
                 "no answer": f"{1 - answered_all / total:.1%}"})
    text = (f"MNIST {args.split} digits as tight crops ({len(images)} per variant), model "
            f"`{results['model']}` (SHA-256 {results['model_sha256'][:12]}...); no answer "
            f"counts as wrong.\n\n{markdown_table(rows)}\n")
    print(text)
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = "crops" if args.split == "test" else "crops_validation"
    (results_dir / f"{stem}.json").write_text(json.dumps(results, indent=1) + "\n")
    (results_dir / f"{stem}.md").write_text(text)


if __name__ == "__main__":
    main()
