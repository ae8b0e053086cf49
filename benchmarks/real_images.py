"""Benchmark: accuracy on real handwritten digits (phone photos, scans, drawings).

Reads a labelled folder with a `manifest.csv` (file, label, source_repo, kind, polarity), by
default the development set `../shared/real_digits_dev` beside this repository, and runs every
image through the same code path as `python -m digitlab predict` (`Predictor.predict`). Reports
accuracy overall, per kind, polarity, size band (longest side) and source, beside the naive
pipeline (grayscale + resize to 28x28); how many wrong answers are flagged (`low_confidence`, or
no digit: "not a digit" or "several digits"); and the accuracy of the answers that are not
flagged (selective accuracy). Unreadable images and no digit count as wrong.

Run: .venv/bin/python benchmarks/real_images.py [--data FOLDER] [--model PATH]
Writes benchmarks/results/real_images.json and real_images.md (file names, labels and answers:
no pixels), and a contact sheet of the misses to benchmarks/output/ (gitignored: pictures of
these images are never committed).
"""

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab import config
from digitlab.errors import ImageError
from digitlab.images import reading
from digitlab.images.preprocess import naive_input
from digitlab.plots import own_images
from digitlab.provenance import file_sha256
from digitlab.report.tables import markdown_table
from digitlab.serve.predict import Prediction, Predictor

BENCHMARKS_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCHMARKS_DIR / "results"
OUTPUT_DIR = BENCHMARKS_DIR / "output"  # gitignored
DEFAULT_DATA = config.PROJ_ROOT.parent / "shared" / "real_digits_dev"
SIZE_BANDS = ((64, "<= 64 px"), (512, "65-512 px"), (None, "> 512 px"))
GROUPS = ("kind", "polarity", "size", "family")


def size_band(path: Path) -> tuple[int, str]:
    """The image's longest side in pixels (as stored) and its size band."""
    try:
        with Image.open(path) as image:
            longest = max(image.size)
    except Exception:  # an unreadable file is scored as wrong below; its band does not matter
        return 0, SIZE_BANDS[0][1]
    band = next(name for limit, name in SIZE_BANDS if limit is None or longest <= limit)
    return longest, band


def family(source_repo: str) -> str:
    """The source's family: a repository's name without its owner (forks share one)."""
    return source_repo.rsplit("/", 1)[-1]


def read_manifest(data_dir: Path) -> list[dict]:
    """The manifest rows, each with its path, longest side, size band and source family."""
    with (data_dir / "manifest.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        row["path"] = data_dir / row["file"]
        row["label"] = int(row["label"])
        row["longest_side"], row["size"] = size_band(row["path"])
        row["family"] = family(row["source_repo"])
    return rows


def run(rows: list[dict], predictor: Predictor) -> tuple[list[dict], list[Prediction]]:
    """Predict every image as `digitlab predict` does, and with the naive pipeline.

    Returns:
        One record per image (for the results file) and its `Prediction` (unreadable: no digit).
    """
    naive = predictor.probabilities(np.stack([naive_input(row["path"]) for row in rows]))
    records, predictions = [], []
    for row, naive_row in zip(rows, naive, strict=True):
        try:
            prediction = predictor.predict(row["path"])
        except ImageError as error:
            prediction = Prediction(None, reason=str(error))
        predictions.append(prediction)
        digit, confidence, reason = prediction.digit, prediction.confidence, prediction.reason
        flagged = digit is None or prediction.low_confidence
        records.append({
            "file": row["file"], "label": row["label"], "kind": row["kind"],
            "polarity": row["polarity"], "size": row["size"], "family": row["family"],
            "source": row["source_repo"], "longest_side": row["longest_side"],
            "digit": digit, "confidence": round(confidence, 4), "flagged": flagged,
            "reason": reason, "detail": prediction.detail,
            "digit_likeness": None if prediction.digit_likeness is None
            else round(prediction.digit_likeness, 4), "naive": int(np.argmax(naive_row)),
        })
    return records, predictions


def accuracy(records: list[dict], key: str = "digit") -> float:
    """The share of records whose `key` ("digit" or "naive") equals the label."""
    return float(np.mean([record[key] == record["label"] for record in records]))


def summarize(records: list[dict]) -> dict:
    """Accuracy overall and per group, flagged share of the misses, selective accuracy."""
    def row(chosen: list[dict]) -> dict:
        return {"images": len(chosen), "naive": accuracy(chosen, "naive"),
                "digitlab": accuracy(chosen)}

    summary = {"all": row(records)}
    for group in (*GROUPS, "source"):
        members = defaultdict(list)
        for record in records:
            members[record[group]].append(record)
        summary[group] = {name: row(chosen) for name, chosen in sorted(members.items())}
    wrong = [record for record in records if record["digit"] != record["label"]]
    answered = [record for record in records if not record["flagged"]]
    summary["wrong"] = len(wrong)
    summary["wrong_flagged"] = sum(record["flagged"] for record in wrong)
    summary["unflagged"] = len(answered)
    summary["selective_accuracy"] = accuracy(answered) if answered else None
    return summary


def markdown(summary: dict, model_name: str) -> str:
    """The README's real-image section: per group, then the flagged misses."""
    def line(group: str, name: str, values: dict) -> dict:
        return {"group": group, "subset": name, "images": values["images"],
                "naive": f"{values['naive']:.1%}", "digitlab": f"{values['digitlab']:.1%}"}

    rows = [line("**all**", "", summary["all"])]
    for group in GROUPS:
        order = [name for _, name in SIZE_BANDS] if group == "size" else summary[group]
        rows += [line(group, name, summary[group][name]) for name in order
                 if name in summary[group]]
    wrong, flagged = summary["wrong"], summary["wrong_flagged"]
    selective = summary["selective_accuracy"]
    images = summary["all"]["images"]
    text = (f"Accuracy on {images} real handwritten digits (development set), model "
            f"`{model_name}`; naive = grayscale + resize to 28x28.\n\n{markdown_table(rows)}\n\n"
            f"Of the {wrong} wrong answers, {flagged} are flagged (`low_confidence`, or no "
            f"digit: not a digit, several digits). The {summary['unflagged']} unflagged answers "
            f"({summary['unflagged'] / images:.1%} of the images) are "
            f"{'n/a' if selective is None else f'{selective:.1%}'} right.")
    return text


def plot_misses(records: list[dict], rows: list[dict], predictions: list[Prediction],
                path: Path) -> None:
    """A contact sheet of the misses: each image, what the model saw, true and predicted."""
    import matplotlib
    matplotlib.use("Agg")


    misses = [number for number, record in enumerate(records)
              if record["digit"] != record["label"]]
    if not misses:
        return
    originals = []
    for number in misses:
        try:
            originals.append(np.squeeze(reading.load(rows[number]["path"], with_color=True)[1]))
        except ImageError:
            originals.append(np.zeros((28, 28), np.float32))
    fig = own_images.plot_model_inputs(
        originals, [predictions[number] for number in misses],
        [records[number]["file"] for number in misses],
        [records[number]["label"] for number in misses], columns=4,
        title=f"Misses on the real-image set ({len(misses)}): the image, what the model saw")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="folder with the images and manifest.csv")
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    parser.add_argument("--results", default=str(RESULTS_DIR), help="where to write results")
    parser.add_argument("--no-sheet", action="store_true", help="skip the misses' contact sheet")
    args = parser.parse_args(argv)
    data_dir = Path(args.data)
    if not (data_dir / "manifest.csv").is_file():
        print(f"No real-image set at {data_dir} (a folder with manifest.csv). This benchmark "
              "needs the development set in ../shared/real_digits_dev, or pass --data FOLDER.",
              file=sys.stderr)
        return 1
    rows = read_manifest(data_dir)
    predictor = Predictor(args.model)
    start = time.perf_counter()
    records, predictions = run(rows, predictor)
    seconds = time.perf_counter() - start
    summary = summarize(records)
    model = Path(args.model)
    text = markdown(summary, model.name)
    print(text)
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    result = {"model": model.name, "model_sha256": file_sha256(model),
              "check": predictor.check.provenance(), "data": data_dir.name,
              "manifest_sha256": file_sha256(data_dir / "manifest.csv"),
              "seconds": round(seconds, 1), "summary": summary, "images": records}
    (results_dir / "real_images.json").write_text(json.dumps(result, indent=1) + "\n")
    (results_dir / "real_images.md").write_text(text + "\n")
    if not args.no_sheet:
        sheet = OUTPUT_DIR / "real_images_misses.png"
        plot_misses(records, rows, predictions, sheet)
        print(f"Contact sheet of the misses: {sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
