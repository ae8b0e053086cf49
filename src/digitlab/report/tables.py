"""Each generated README table, rendered from a saved results file (never typed by hand)."""

import json
from pathlib import Path

import pandas as pd

from digitlab import config
from digitlab.errors import DigitlabError
from digitlab.mnist.speed import SPEED_BATCH_SIZE


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub markdown table from a list of row dictionaries."""
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |"
              for row in rows]
    return "\n".join(lines)


def comparison_markdown(csv_path: Path | None = None) -> str:
    """The comparison CSV as the README "Results" markdown table, numbers rounded for reading."""
    csv_path = Path(csv_path or config.MODELS_DIR / "comparison.csv")
    if not csv_path.is_file():
        raise DigitlabError(f"{csv_path}: no comparison table yet. Run notebook "
                                "05_evaluate_and_compare first.")
    table = pd.read_csv(csv_path)
    rows = [{
        "Model": row.model.upper(),
        "Test accuracy": f"{row.test_accuracy:.2%}",
        "Errors": f"{row.test_errors:,} / {row.test_images:,}",
        "Test loss": f"{row.test_loss:.4f}",
        "Parameters": f"{row.parameters:,}",
        "Training time": "n/a" if pd.isna(row.train_seconds) else f"{row.train_seconds:,.0f} s",
        "Size on disk": f"{row.size_mb:.1f} MB",
        "Latency (1 image)": f"{row.latency_ms:.1f} ms",
        "Throughput": f"{row.throughput_images_per_s:,.0f} images/s",
    } for row in table.itertuples()]
    return markdown_table(rows)


# The figures the README shows under the table, with their captions.
RESULTS_FIGURES = {
    "05_confusion_normalized": "Confusion matrices, row-normalised",
    "05_robustness": "Accuracy as test digits are rotated, shifted, blurred and noised",
    "05_reliability": "Reliability diagrams: is a 90% confidence right 90% of the time?",
    "05_misclassified_both": "Test digits both models get wrong",
}


def results_markdown(csv_path: Path | None = None, figures_dir: str = "figures") -> str:
    """The README "Results" section: the comparison table, where speed was measured, figures."""
    csv_path = Path(csv_path or config.MODELS_DIR / "comparison.csv")
    machine = pd.read_csv(csv_path)["speed_measured_on"].iloc[0] if csv_path.is_file() else ""
    lines = [comparison_markdown(csv_path), "",
             f"Computed by notebook `05_evaluate_and_compare` from `models/*.keras` on the MNIST "
             f"test set. Latency is the median time of one direct model call on one image; "
             f"throughput runs `model.predict` in batches of {SPEED_BATCH_SIZE} ({machine}).", ""]
    lines += [f"![{caption}]({figures_dir}/{name}.png)"
              for name, caption in RESULTS_FIGURES.items()]
    return "\n".join(lines)


def exports_markdown(table: pd.DataFrame | str | Path | None = None) -> str:
    """The export table as GitHub markdown (from a DataFrame or the saved CSV)."""
    if isinstance(table, pd.DataFrame):
        frame = table
    else:
        csv_path = Path(table or config.MODELS_DIR / config.EXPORTS_TABLE)
        if not csv_path.is_file():
            raise FileNotFoundError(f"{csv_path}: no export table yet; run notebook 07 "
                                    "or `digitlab.serve.export.measure_exports` first.")
        frame = pd.read_csv(csv_path)
    headers = {"format": "format", "file": "file", "size_kb": "size (KiB)",
               "size_vs_float32": "size vs float32", "test_accuracy": "test accuracy (%)",
               "accuracy_change": "change (points)", "agreement": "same digit as Keras (%)",
               "latency_ms": "1-image latency (ms)"}
    rows = [{headers[column]: _format_cell(column, value) for column, value in row.items()
             if column in headers} for row in frame.to_dict("records")]
    return markdown_table(rows, [headers[column] for column in frame.columns if column in headers])


def _format_cell(column: str, value) -> str:
    formats = {"size_kb": "{:,.1f}", "size_vs_float32": "{:.2f}", "test_accuracy": "{:.2f}",
               "accuracy_change": "{:+.2f}", "agreement": "{:.2f}", "latency_ms": "{:.3f}"}
    return formats[column].format(value) if column in formats else str(value)


# Published figures we compare with (not measured here), each with the page that reports it.
REFERENCE_RESULTS = [
    ("Keras example `mnist_cnn.py` (12 epochs)", "99.25%",
     "the example's docstring, https://github.com/keras-team/keras/blob/2.2.4/examples/"
     "mnist_cnn.py"),
    ('keras-io "Simple MNIST convnet" (15 epochs)', "about 99%",
     "https://keras.io/examples/vision/mnist_convnet/"),
    ("ensemble of 15 CNNs trained on 25 million augmented images", "99.75% (mean of 100 runs)",
     "C. Deotte, https://github.com/cdeotte/MNIST-CNN-99.75"),
    ("majority vote of three simple CNNs", "up to 99.87%",
     "S. An et al., An Ensemble of Simple Convolutional Neural Network Models for MNIST Digit "
     "Recognition, 2020, https://arxiv.org/abs/2008.10400"),
]


def training_table(models_dir: Path | None = None, names: tuple[str, ...] = ("mlp", "cnn")) -> str:
    """Markdown table of our trained models (from their .metrics.json) beside published figures."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    rows = []
    for name in names:
        path = models_dir / f"{name}.metrics.json"
        if not path.exists():
            continue
        metrics = json.loads(path.read_text())
        rows.append({
            "model": f"digitlab `{name}`",
            "test accuracy": f"**{metrics['test_accuracy']:.2%}**",
            "test errors": f"{metrics['test_errors']} / 10,000",
            "validation accuracy": f"{metrics['val_accuracy']:.2%}",
            "parameters": f"{metrics['parameters']:,}",
            "epochs": metrics["epochs_run"],
            "training time": f"{metrics['train_seconds'] / 60:.1f} min",
            "seed": metrics["seed"],
        })
    rows += [{"model": f"{name} [{number}]", "test accuracy": accuracy}
             for number, (name, accuracy, _) in enumerate(REFERENCE_RESULTS, 1)]
    sources = "\n".join(f"[{number}] {source}"
                         for number, (_, _, source) in enumerate(REFERENCE_RESULTS, 1))
    return markdown_table(rows) + "\n\nSources of the published figures (not measured here):\n\n" \
        + sources.replace("\n", "  \n")


def main_job_table(models_dir: Path | None = None) -> str:
    """Markdown table of how long each notebook took in the last full run of `make all`."""
    path = Path(models_dir or config.MODELS_DIR) / "main_job_times.json"
    record = json.loads(path.read_text())
    rows = [{"notebook": name, "minutes": f"{seconds / 60:.1f}"}
            for name, seconds in record["seconds"].items()]
    rows.append({"notebook": "**total**", "minutes": f"**{record['total_seconds'] / 60:.1f}**"})
    return markdown_table(rows) + f"\n\nMeasured on {record['cpus']} CPU cores, no GPU."


def transfer_table(path: Path | None = None) -> str:
    """Markdown table of notebook 08's held-out accuracy, strategy by k, from transfer.json."""
    record = json.loads(Path(path or config.MODELS_DIR / "transfer.json").read_text())
    cells: dict[str, dict[str, str]] = {}
    for row in record["summary"]:
        sd = "" if row["sd"] is None else f" ± {row['sd']:.2%}"
        cells.setdefault(str(row["k"]), {})[row["strategy"]] = \
            f"{row['mean']:.2%}{sd} ({row['draws']})"
    strategies = list(dict.fromkeys(row["strategy"] for row in record["summary"]))
    order = sorted(cells, key=lambda k: (k == "all", int(k) if k.isdigit() else 0))
    rows = [{"labelled images per digit": k, **cells[k]} for k in order]
    return (f"Without any new label (zero-shot) the MNIST CNN reads "
            f"**{record['zero_shot_accuracy']:.2%}** of them.\n\n"
            + markdown_table(rows, ["labelled images per digit", *strategies])
            + f"\n\nHeld-out accuracy on {record['held_out']} scikit-learn digits: mean ± sd "
            f"over (n) draws of the k images; from `models/transfer.json` (notebook 08, "
            f"starting from `{record['source_model']}`, SHA-256 "
            f"`{record['source_model_sha256'][:12]}…`).")
