"""Benchmark: does `predict` say "not a digit" to non-digits, and only to them?

Runs every image through `Predictor.predict_many`, as `python -m digitlab predict` does, and
counts the answers "not a digit" (rejected). Sets:
  - generated non-digits (`digitlab.images.nondigits`, seed 7, never seen in training; the
    MNIST-made kinds from MNIST *test* digits), per kind: the share rejected;
  - `../shared/not_digits_dev` (real handwritten characters of 20 non-Latin alphabets), if here;
  - `../shared/real_digits_dev` (real digits), if here: the share wrongly rejected, and the
    accuracy of the accepted ones;
  - the MNIST test digits, each as a picture (white on black, 28x28): wrongly rejected, and
    the accuracy of the accepted ones. Reported only: nothing is chosen on them.
Beside the digit check, the second approach compared: the digit model's own top probability,
with its threshold chosen on validation (MNIST validation digits, the check's validation split)
to reject the same share of digits as the check's threshold does.

Run: .venv/bin/python benchmarks/not_digits.py [--model PATH] [--per-kind 100] [--limit N]
     [--validation-limit N] [--shared FOLDER]
Writes benchmarks/results/not_digits.json and not_digits.md.
"""

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab import config
from digitlab.images import nondigits
from digitlab.images.preprocess import prepare
from digitlab.images.segment import SEVERAL_DIGITS
from digitlab.mnist.data import load_mnist
from digitlab.mnist.pipeline import split_validation
from digitlab.provenance import file_sha256
from digitlab.report.tables import markdown_table
from digitlab.serve import digit_check
from digitlab.serve.digit_check import NOT_A_DIGIT
from digitlab.serve.predict import Predictor

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SHARED = config.PROJ_ROOT.parent / "shared"
SEED = 7


def mnist_picture(image: np.ndarray) -> Image.Image:
    """An MNIST digit as a user's picture would come: a 28x28 white-on-black image."""
    return Image.fromarray(image)


def answers(predictor: Predictor, pictures: list) -> dict:
    """Predict every picture; returns digits (-1: none), rejected, no ink found, top
    probabilities and digit-likeness (0 where no ink was found)."""
    predictions = predictor.predict_many(pictures)
    return {"digit": np.array([-1 if p.digit is None else p.digit for p in predictions]),
            "likeness": np.array([p.digit_likeness or 0.0 for p in predictions]),
            "rejected": np.array([p.reason == NOT_A_DIGIT for p in predictions]),
            "no_ink": np.array([p.reason == NOT_A_DIGIT and p.digit_likeness is None
                                for p in predictions]),
            "several": np.array([p.reason == SEVERAL_DIGITS for p in predictions]),
            "top": np.array([p.confidence if p.probabilities is not None else 0.0
                             for p in predictions]),
            "answer": np.array([-1 if p.probabilities is None else int(np.argmax(p.probabilities))
                                for p in predictions])}


def softmax_threshold(predictor: Predictor, mnist, rate: float, limit: int | None = None
                      ) -> float:
    """The top-probability threshold that rejects `rate` of the validation digit pictures (the
    first `limit` of them; all by default)."""
    (x_train, y_train), _ = mnist
    _, (x_val, _) = split_validation(x_train, y_train, digit_check.VALIDATION_SIZE,
                                     digit_check.SEED)
    inputs = [prepare(mnist_picture(image)).model_input for image in x_val[:limit]]
    top = predictor.probabilities(np.stack([x for x in inputs if x is not None])).max(axis=1)
    return digit_check.choose_threshold(top, rate)


def summary(result: dict, labels: np.ndarray | None, softmax_cut: float) -> dict:
    """Shares rejected (by the check, and by the top-probability approach) and accuracy; each
    image's digit-likeness and top probability (and for digits whether the model's answer is
    right, rejected or not), for the curves of notebook 06."""
    row = {"images": len(result["digit"]),
           "rejected": float(result["rejected"].mean()),
           "no_ink": float(result["no_ink"].mean()),
           "several_digits": float(result["several"].mean()),
           "rejected_by_top_probability": float(np.mean(result["top"] < softmax_cut)),
           "digit_likeness": [round(float(x), 5) for x in result["likeness"]],
           "top_probability": [round(float(x), 5) for x in result["top"]]}
    if labels is not None:
        row["right_answer"] = [bool(x) for x in result["answer"] == labels]
        accepted = result["digit"] >= 0
        row["accuracy"] = float(np.mean(result["digit"] == labels))
        row["accuracy_of_accepted"] = float(np.mean(result["digit"][accepted] == labels[accepted]))
    return row


def folder_pictures(folder: Path, label_column: str | None) -> tuple[list, np.ndarray | None]:
    """The image paths of a folder with a manifest.csv, and their labels when it has them."""
    with (folder / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([int(row[label_column]) for row in rows]) if label_column else None
    return [folder / row["file"] for row in rows], labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    parser.add_argument("--check", default=None, help="default: models/digit_check.keras")
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--limit", type=int, default=10_000, help="MNIST test digits measured")
    parser.add_argument("--validation-limit", type=int, default=digit_check.VALIDATION_SIZE,
                        help="MNIST validation digits that set the top-probability threshold")
    parser.add_argument("--shared", type=Path, default=SHARED,
                        help="the folder holding not_digits_dev/ and real_digits_dev/")
    parser.add_argument("--results", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    predictor = Predictor(args.model, args.check)
    mnist = load_mnist()
    (x_train, y_train), (x_test, y_test) = mnist
    softmax_cut = softmax_threshold(predictor, mnist, digit_check.FALSE_REJECTIONS,
                                    args.validation_limit)
    sets: dict[str, dict] = {}
    rng = np.random.default_rng(SEED)
    for kind in nondigits.KINDS:
        pictures = [nondigits.make_non_digit(rng, (x_test, y_test), (kind,))[1]
                    for _ in range(args.per_kind)]
        sets[f"generated {kind}"] = summary(answers(predictor, pictures), None, softmax_cut)
    generated = [row for name, row in sets.items() if name.startswith("generated")]
    sets["generated, all kinds"] = {
        "images": sum(row["images"] for row in generated),
        **{key: float(np.mean([row[key] for row in generated]))
           for key in ("rejected", "no_ink", "several_digits", "rejected_by_top_probability")}}
    for row in generated:  # the per-image lists once, in the row of all kinds
        for key in ("digit_likeness", "top_probability"):
            sets["generated, all kinds"].setdefault(key, []).extend(row.pop(key))
    for name, folder, label in (("not_digits_dev (real characters)", "not_digits_dev", None),
                                ("real_digits_dev (real digits)", "real_digits_dev", "label")):
        if (args.shared / folder / "manifest.csv").is_file():
            paths, labels = folder_pictures(args.shared / folder, label)
            sets[name] = {**summary(answers(predictor, paths), labels, softmax_cut),
                          "data": folder}
        else:
            print(f"{args.shared / folder} is absent: {name} not measured")
    count = min(args.limit, len(x_test))
    sets["MNIST test digits"] = summary(
        answers(predictor, [mnist_picture(image) for image in x_test[:count]]), y_test[:count],
        softmax_cut)
    check_record = json.loads(predictor.check.path.with_suffix(".json").read_text())
    results = {"model": Path(args.model).name, "model_sha256": file_sha256(args.model),
               "check": {**predictor.check.provenance(),
                         "chosen_on": check_record["chosen_on"]},
               # Pictures answered "several digits" were read by the number reader with it.
               "touching": predictor.touching_provenance(),
               "top_probability_threshold": round(softmax_cut, 6),
               "validation_digits": min(args.validation_limit, digit_check.VALIDATION_SIZE),
               "seed": SEED, "sets": sets}
    rows = [{"set": name, "images": row["images"],
             "'not a digit' (digit check)": f"{row['rejected']:.1%}",
             "rejected by top probability": f"{row['rejected_by_top_probability']:.1%}",
             "of which no ink found": f"{row['no_ink']:.1%}",
             "several digits": f"{row['several_digits']:.1%}",
             "accuracy of accepted": (f"{row['accuracy_of_accepted']:.2%}"
                                      if "accuracy_of_accepted" in row else "")}
            for name, row in sets.items()]
    text = (f"Answers of `python -m digitlab predict` (model `{results['model']}`, digit check "
            f"`{results['check']['model']}`, threshold {predictor.check.threshold:.3f}); the "
            f"top-probability approach rejects below {softmax_cut:.3f}, the threshold that "
            f"rejects as many validation digits ({digit_check.FALSE_REJECTIONS:.2%}) as the "
            f"check.\n\n" + markdown_table(rows) + "\n")
    print(text)
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "not_digits.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "not_digits.md").write_text(text)


if __name__ == "__main__":
    main()
