"""Teach a model your handwriting: fine-tune it on your own labelled images.

    python -m digitlab finetune FOLDER [--model PATH] [--out PATH] [--overwrite]

FOLDER holds images in subfolders `0` ... `9`, or files named `<digit>_<anything>.<ext>`
(`7_kitchen.jpg`). Each image goes through `preprocess.prepare`, as `predict` does. A fifth of
each digit's images is held out (when the digit has at least three) to measure the base and the
new model on and, when every digit has some held out, to calibrate the new model's confidences;
otherwise they keep the base model's calibration, and with nothing held out no accuracy is
measured. The new model is written to --out (default models/finetuned.keras) with its metrics,
and `predict --model` or `app --model` take it.
"""

import argparse
import re
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from digitlab import config
from digitlab.errors import DatasetError, ImageError, LabelError, ModelError
from digitlab.images.preprocess import prepare
from digitlab.images.reading import image_files
from digitlab.provenance import file_sha256
from digitlab.transfer.digits import held_out_split

LABELLED_NAME = re.compile(r"^(\d+)_")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # what Keras accepts as a model name
HOLD_OUT_SHARE = 0.2
MIN_TO_HOLD_OUT = 3  # images of a digit before one is held out: two are left to learn from


@dataclass
class LabelledImages:
    """What a folder of labelled images gave: model inputs, their digits, what was skipped."""

    images: np.ndarray  # (n, 28, 28) uint8, white digit on black
    labels: np.ndarray  # (n,) int
    paths: list[Path]
    skipped: list[str] = field(default_factory=list)  # "path: why", one per image not used


def labelled_files(folder: str | Path) -> list[tuple[Path, int]]:
    """(path, digit) for every image in `folder/<digit>/` or named `<digit>_*.<ext>`.

    Raises:
        LabelError: the folder does not exist, holds no labelled image, or names a label that
            is not a single digit (0-9).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LabelError(f"{folder}: not a folder. Give a folder with subfolders 0 ... 9, or "
                         "files named <digit>_<anything>.png.")
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not sub.name.isdigit():
            continue
        found += [(path, _digit(sub.name, sub)) for path in image_files(sub)]
    for path in image_files(folder):
        match = LABELLED_NAME.match(path.name)
        if match:
            found.append((path, _digit(match.group(1), path)))
    if not found:
        raise LabelError(f"{folder}: no labelled images. Put them in subfolders 0 ... 9, or "
                         "name them <digit>_<anything>.png (for example 7_kitchen.jpg).")
    return found


def _digit(text: str, where: Path) -> int:
    if len(text) != 1:
        raise LabelError(f"{where}: label {text!r} is not a digit 0-9.")
    return int(text)


def read_labelled(folder: str | Path) -> LabelledImages:
    """Prepare every labelled image of `folder`; unreadable images and images with no digit
    found are skipped and listed, as `predict` reports them."""
    images, labels, paths, skipped = [], [], [], []
    for path, digit in labelled_files(folder):
        try:
            prepared = prepare(path)
        except ImageError as error:
            skipped.append(f"{path}: {error}")
            continue
        if prepared.model_input is None:
            skipped.append(f"{path}: {prepared.reason}")
            continue
        images.append(np.round(prepared.model_input * 255).astype(np.uint8))
        labels.append(digit)
        paths.append(path)
    if not images:
        raise LabelError(f"{folder}: none of the labelled images could be used:\n  "
                         + "\n  ".join(skipped))
    return LabelledImages(np.stack(images), np.array(labels), paths, skipped)


def local_mnist() -> tuple[np.ndarray, np.ndarray] | None:
    """MNIST's training images and labels when a local copy exists (the cache `make all`
    fills, or DIGITLAB_MNIST_DIR); None rather than a download."""
    from digitlab.mnist.data import load_mnist

    try:
        (images, labels), _ = load_mnist(mirrors=())
    except DatasetError:
        return None
    return images, labels


def missing_digits(labels: np.ndarray) -> list[int]:
    """The digits 0-9 with no example."""
    return sorted(set(range(10)) - set(int(label) for label in labels))


def unmeasured_digits(labels: np.ndarray) -> list[int]:
    """The digits with examples, but too few to hold one out (`MIN_TO_HOLD_OUT`)."""
    counts = np.bincount(labels, minlength=10)
    return [digit for digit in range(10) if 0 < counts[digit] < MIN_TO_HOLD_OUT]


def honesty_note(labels: np.ndarray) -> str | None:
    """What the folder's images leave unmeasured and uncalibrated, in words; None when every
    digit has a held-out image."""
    unmeasured = unmeasured_digits(labels)
    if not unmeasured:
        return None
    if len(unmeasured) == len(np.unique(labels)):
        return (f"No digit has {MIN_TO_HOLD_OUT} or more images, so none was held out: no honest "
                "accuracy can be measured (the metrics record none), and confidences keep the "
                f"base model's calibration. Give each digit {MIN_TO_HOLD_OUT} or more images to "
                "measure how well the new model reads them.")
    return (f"Digit(s) {', '.join(map(str, unmeasured))} have fewer than {MIN_TO_HOLD_OUT} "
            "images: none of theirs was held out, so they are not measured, and confidences "
            "keep the base model's calibration (fitting it needs a held-out image of every "
            "digit).")


def main(argv: list[str] | None = None) -> int:
    """The `python -m digitlab finetune` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m digitlab finetune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="labelled images: subfolders 0-9 or <digit>_*.png")
    parser.add_argument("--model", help="the model to start from (default: models/cnn.keras)")
    parser.add_argument("--out", default=str(config.MODELS_DIR / "finetuned.keras"),
                        help="where to write the new model (default: models/finetuned.keras)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from digitlab.serve.predict import available_model

    out = Path(args.out)
    if out.suffix != ".keras" or not MODEL_NAME.match(out.stem):
        raise ModelError(f"{out}: give the new model a name of letters, digits, '_', '-' or "
                         "'.' ending in .keras (for example models/my_digits.keras).")
    written = [out, out.with_name(f"{out.stem}.metrics.json"),
               out.with_name(f"{out.stem}.history.csv")]
    existing = [path for path in written if path.exists()]
    if existing and not args.overwrite:
        raise ModelError(f"{existing[0]} exists; pass --overwrite to replace it, or another "
                         "--out.")
    model_path = Path(args.model) if args.model else available_model()
    if model_path is None:
        raise ModelError("No model to start from: train one (`make all`) or pass --model.")
    if not model_path.is_file():
        raise ModelError(f"{model_path}: model file not found.")
    found = read_labelled(args.folder)  # a bad folder is said before TensorFlow loads
    from digitlab.mnist import evaluate
    from digitlab.mnist.models import load_model
    from digitlab.transfer import finetune

    base = load_model(model_path)
    for line in found.skipped:
        print(f"skipped {line}", file=sys.stderr)
    missing = missing_digits(found.labels)
    if missing:
        warnings.warn(f"no examples of digit(s) {', '.join(map(str, missing))}: the model keeps "
                      "what it knew of them", stacklevel=1)
    train_idx, held_idx = held_out_split(found.labels, HOLD_OUT_SHARE, args.seed,
                                         MIN_TO_HOLD_OUT)
    training = (found.images[train_idx], found.labels[train_idx])
    held = (found.images[held_idx], found.labels[held_idx]) if len(held_idx) else None
    note = honesty_note(found.labels)
    # A temperature fitted on some digits' images would set every digit's confidences: it is
    # fitted only when every digit has a held-out image, never on the training images.
    calibration = held if note is None else None
    settings = finetune.CONFIGS["full"]
    mnist = local_mnist()
    if mnist is None:
        # Rehearsal keeps the model from forgetting MNIST while it learns a few images.
        warnings.warn("no local MNIST copy (run `make data`): fine-tuning without rehearsal",
                      stacklevel=1)
        settings = replace(settings, rehearsal=0)
    source = {"started_from": str(model_path), "started_from_sha256": file_sha256(model_path),
              "held_out": len(held_idx),
              "test_images": "the held-out share of the folder" if len(held_idx) else "none",
              "calibrated_on": "the held-out images" if calibration else
              "nothing: the base model's calibration is kept (temperature 1)",
              **({"note": note} if note else {})}
    metrics = finetune.finetune(base, training, calibration, held, settings, args.seed,
                                out.parent, name=out.stem, record=source, rehearse_on=mnist)
    print(f"fine-tuned on {len(train_idx)} images in {metrics['train_seconds']:.0f} s; "
          f"wrote {out}")
    if held is not None:
        before = evaluate.predict(base, *held).accuracy
        print(f"held-out {len(held_idx)} images: {before:.0%} right before, "
              f"{metrics['test_accuracy']:.0%} after")
    if calibration is not None:
        print(f"confidences calibrated on the held-out images (temperature "
              f"{metrics['temperature']:.2f})")
    if note:
        print(note)
    print(f"use it: python -m digitlab predict --model {out} IMAGE ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
