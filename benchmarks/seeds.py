"""Benchmark: how much the shipped recipes' results vary with the seed, and what an ensemble of
the seeds' CNNs reaches.

Trains `digitlab.mnist.recipes.MLP` and `digitlab.mnist.recipes.CNN` (exactly what notebooks 03
and 04 train) under several seeds. The seed sets the weights, dropout, shuffling, augmentation
and which 5,000 training images are held out for validation. Each run is saved under
benchmarks/output/seeds/ and skipped when its metrics exist, so an interrupted benchmark carries
on where it stopped. Then it records per-seed validation and test accuracy, mean and sample
standard deviation, and the test accuracy of the ensemble of the seeds' CNNs (their
probabilities averaged). Test numbers are reported only: nothing here is chosen on them.

About 15 min per CNN seed and 3 min per MLP seed on a 2-core CPU.

Run: .venv/bin/python benchmarks/seeds.py [--seeds 1 2 3 4 5] [--kinds cnn mlp cnn_no_smoothing]
Writes benchmarks/results/seeds.json and seeds.md (the README's seeds table).
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from digitlab.mnist import data, recipes
from digitlab.mnist.evaluate import predict_proba
from digitlab.mnist.models import load_model
from digitlab.provenance import file_sha256, git_state
from digitlab.report.tables import markdown_table

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RUNS_DIR = HERE / "output" / "seeds"


# The shipped recipes, and the variants a choice was made against (on validation accuracy).
RECIPES = {
    **recipes.RECIPES,
    "cnn_no_smoothing": replace(recipes.CNN, train=replace(recipes.CNN.train,
                                                           label_smoothing=0.0)),
}


def run_name(kind: str, seed: int) -> str:
    return f"{kind}_seed{seed}"


def train_missing(kinds: list[str], seeds: list[int], runs_dir: Path, mnist,
                  quick: bool = False) -> None:
    """Train every (kind, seed) whose metrics file does not exist yet (`quick`: smoke runs)."""
    for kind in kinds:
        for seed in seeds:
            name = run_name(kind, seed)
            if (runs_dir / f"{name}.metrics.json").exists():
                continue
            print(f"training {name} ...", flush=True)
            recipe = recipes.with_seed(RECIPES[kind], seed)
            if quick:
                recipe = recipes.quick(recipe)
            metrics = recipes.run(recipe, mnist, name=name, models_dir=runs_dir, verbose=0)
            print(f"  {name}: validation {metrics['val_accuracy']:.2%}, "
                  f"test {metrics['test_accuracy']:.2%}, {metrics['train_seconds']:.0f} s",
                  flush=True)


def spread(values: list[float]) -> dict:
    """Mean and sample standard deviation (n - 1)."""
    values = np.asarray(values, np.float64)
    sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return {"mean": float(values.mean()), "sd": sd, "n": int(len(values))}


def summarize(kinds: list[str], seeds: list[int], runs_dir: Path, mnist) -> dict:
    """Per-seed results, mean ± sd per kind, and the CNN ensemble's test accuracy."""
    (_, _), (x_test, y_test) = mnist
    result = {"seeds": seeds, "runs": [], "summary": {}, "git": git_state()}
    for kind in kinds:
        probabilities = []
        rows = []
        for seed in seeds:
            name = run_name(kind, seed)
            metrics = json.loads((runs_dir / f"{name}.metrics.json").read_text())
            path = runs_dir / f"{name}.keras"
            rows.append({"kind": kind, "seed": seed, "val_accuracy": metrics["val_accuracy"],
                         "test_accuracy": metrics["test_accuracy"],
                         "kept_epoch": metrics["kept_epoch"],
                         "train_seconds": metrics["train_seconds"],
                         "model_sha256": file_sha256(path),
                         "trained_at": metrics.get("git")})  # the code that trained it
            if kind == "cnn":
                probabilities.append(predict_proba(load_model(path), x_test))
        result["runs"] += rows
        summary = {"val_accuracy": spread([row["val_accuracy"] for row in rows]),
                   "test_accuracy": spread([row["test_accuracy"] for row in rows])}
        if probabilities:
            averaged = np.mean(probabilities, axis=0)
            summary["ensemble_test_accuracy"] = float((averaged.argmax(1) == y_test).mean())
        result["summary"][kind] = summary
    return result


def markdown(result: dict) -> str:
    """The README's seeds table: mean ± sd per recipe, and the CNN ensemble."""
    rows = []
    for kind, summary in result["summary"].items():
        val, test = summary["val_accuracy"], summary["test_accuracy"]
        rows.append({
            "recipe": f"`{kind}`",
            "seeds": val["n"],
            "validation accuracy, mean ± sd": f"{val['mean']:.2%} ± {val['sd']:.2%}",
            "test accuracy, mean ± sd": f"{test['mean']:.2%} ± {test['sd']:.2%}",
            "range over seeds (test)": _range(result, kind),
        })
        if "ensemble_test_accuracy" in summary:
            ensemble = summary["ensemble_test_accuracy"]
            rows.append({"recipe": f"ensemble of the {val['n']} `{kind}`s (mean probabilities)",
                         "test accuracy, mean ± sd": f"**{ensemble:.2%}**"})
    columns = ["recipe", "seeds", "validation accuracy, mean ± sd", "test accuracy, mean ± sd",
               "range over seeds (test)"]
    seeds = ", ".join(str(seed) for seed in result["seeds"])
    return (markdown_table(rows, columns) + f"\n\nSeeds {seeds}; each seed also draws its own "
            "5,000 validation images. Sample standard deviation. The committed models (seed "
            "42) are the table above. Measured by `benchmarks/seeds.py` (the seeds' models by "
            "SHA-256 in `benchmarks/results/seeds.json`).\n")


def _range(result: dict, kind: str) -> str:
    tests = [run["test_accuracy"] for run in result["runs"] if run["kind"] == kind]
    return f"{min(tests):.2%}–{max(tests):.2%}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--kinds", nargs="+", default=["cnn", "mlp"], choices=sorted(RECIPES),
                        help="recipes to train (cnn_no_smoothing: the CNN without label "
                             "smoothing, the choice smoothing was made against)")
    parser.add_argument("--runs", help="where the seeds' models go (default: "
                                        "benchmarks/output/seeds/)")
    parser.add_argument("--results", help="where to write results (default: benchmarks/results/)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run (tiny data, 1-2 epochs) in benchmarks/output/seeds_quick")
    args = parser.parse_args(argv)
    mnist = data.load_mnist()
    quick_dir = HERE / "output" / "seeds_quick"  # smoke runs never mix with the real ones
    if args.quick:
        mnist = data.subsample(mnist, 2000, 500)
    runs_dir = Path(args.runs or (quick_dir if args.quick else RUNS_DIR))
    args.results = args.results or str(quick_dir if args.quick else RESULTS_DIR)
    train_missing(args.kinds, args.seeds, runs_dir, mnist, args.quick)
    result = summarize(args.kinds, args.seeds, runs_dir, mnist)
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "seeds.json").write_text(json.dumps(result, indent=2) + "\n")
    (results_dir / "seeds.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
