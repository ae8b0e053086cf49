"""Benchmark: accuracy on the synthetic real-world test set, per kind of degradation.

Compares three ways of turning an image into the model input:
  naive:         grayscale + resize to 28x28 (what most tutorials do);
  naive+invert:  the same, inverted when the picture is mostly light;
  digitlab:      `digitlab.images.preprocess.prepare` (ink finding, MNIST-style normalisation).
"No digit found" counts as wrong. The set is generated (deterministic seed) when missing.

Run: .venv/bin/python benchmarks/custom_images.py [--model PATH] [--per-kind 200]
Writes benchmarks/results/custom_images.json and custom_images.md.
"""

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from digitlab import config
from digitlab.images import synth
from digitlab.images.preprocess import naive_input, prepare
from digitlab.provenance import file_sha256
from digitlab.report.tables import markdown_table
from digitlab.serve.predict import Predictor

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    parser.add_argument("--data", default=str(config.DATA_DIR / "synthetic"))
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--results", default=str(RESULTS_DIR), help="where to write results")
    args = parser.parse_args(argv)
    data_dir = Path(args.data)
    labels_path = data_dir / "labels.csv"
    if not labels_path.is_file():
        print(f"Generating the synthetic set into {data_dir} ...")
        synth.generate(data_dir, args.per_kind)
    rows = list(csv.DictReader(labels_path.open()))
    predictor = Predictor(args.model)
    pipelines = {"naive": [], "naive+invert": [], "digitlab": []}
    found = []
    start = time.perf_counter()
    for row in rows:
        path = data_dir / row["file"]
        pipelines["naive"].append(naive_input(path, invert=False))
        pipelines["naive+invert"].append(naive_input(path, invert=True))
        prepared = prepare(path).model_input
        found.append(prepared is not None)
        pipelines["digitlab"].append(np.zeros((28, 28), np.float32) if prepared is None
                                     else prepared)
    seconds = time.perf_counter() - start
    truth = np.array([int(row["digit"]) for row in rows])
    kinds = np.array([row["kind"] for row in rows])
    correct = {}
    for name, inputs in pipelines.items():
        predicted = predictor.probabilities(np.stack(inputs)).argmax(axis=1)
        hit = predicted == truth
        if name == "digitlab":
            hit &= np.array(found)  # "no digit found" is wrong
        correct[name] = hit
    table, results = [], {"model": Path(args.model).name,
                          "model_sha256": file_sha256(args.model), "images": len(rows),
                          "preprocess_seconds_all_pipelines": round(seconds, 1), "kinds": {}}
    for kind in [*synth.KINDS, "all"]:
        chosen = kinds == kind if kind != "all" else np.ones(len(rows), bool)
        if not chosen.any():
            continue
        accuracy = {name: float(hit[chosen].mean()) for name, hit in correct.items()}
        results["kinds"][kind] = {"images": int(chosen.sum()), **accuracy}
        table.append({"kind": f"**{kind}**" if kind == "all" else kind,
                      "images": int(chosen.sum()),
                      **{name: f"{accuracy[name]:.1%}" for name in pipelines}})
    text = markdown_table(table)
    print(text)
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "custom_images.json").write_text(json.dumps(results, indent=2) + "\n")
    (results_dir / "custom_images.md").write_text(
        f"Accuracy on the synthetic real-world set ({len(rows)} images), model "
        f"`{Path(args.model).name}`:\n\n{text}\n")


if __name__ == "__main__":
    main()
