"""Generated README sections: tables written from saved metrics, never typed by hand."""

import json
import re
from pathlib import Path

from digitlab import config


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub markdown table from a list of row dictionaries."""
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |"
              for row in rows]
    return "\n".join(lines)


def replace_section(text: str, name: str, content: str) -> str:
    """Replace what stands between `<!-- name:start -->` and `<!-- name:end -->` in `text`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README has no {start} ... {end} markers for section {name!r}.")
    return pattern.sub(lambda _: f"{start}\n{content.strip()}\n{end}", text)


def update_readme(name: str, content: str, readme: Path | None = None) -> Path:
    """Write `content` into the README section `name` (between its markers)."""
    readme = Path(readme or config.PROJ_ROOT / "README.md")
    readme.write_text(replace_section(readme.read_text(), name, content))
    return readme


# Published figures we compare with (not measured here): where each number comes from.
REFERENCE_RESULTS = [
    ("Keras MLPs in comparable repositories", "96.8–97.9%"),
    ("Keras CNNs in comparable repositories", "99.0–99.1%"),
    ('keras-io "Simple MNIST convnet" (15 epochs)', "99.25%"),
    ("strong single Keras CNNs, mean over many seeds", "99.64%"),
    ("ensembles of such CNNs", "about 99.75%"),
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
    rows += [{"model": source, "test accuracy": accuracy} for source, accuracy in REFERENCE_RESULTS]
    return markdown_table(rows)


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
        cells.setdefault(str(row["k"]), {})[row["strategy"]] = f"{row['mean']:.2%}{sd}"
    strategies = list(dict.fromkeys(row["strategy"] for row in record["summary"]))
    rows = [{"labelled images per digit": k, **by_strategy} for k, by_strategy in cells.items()]
    return (f"Without any new label (zero-shot) the MNIST CNN reads "
            f"**{record['zero_shot_accuracy']:.2%}** of them.\n\n"
            + markdown_table(rows, ["labelled images per digit", *strategies])
            + f"\n\nHeld-out accuracy on {record['held_out']} scikit-learn digits, mean ± sd "
            f"over {record['draws']} draws; from `models/transfer.json` (notebook 08, starting "
            f"from `{record['source_model']}`, SHA-256 `{record['source_model_sha256'][:12]}…`).")


def update_all(readme: Path | None = None) -> list[str]:
    """Regenerate every README section whose source files exist; return the sections written."""
    from digitlab import evaluate, export

    results = config.PROJ_ROOT / "benchmarks" / "results"
    custom_images, real_images = results / "custom_images.md", results / "real_images.md"
    sections = {
        "training": (config.MODELS_DIR / "mlp.metrics.json", training_table),
        "main-job": (config.MODELS_DIR / "main_job_times.json", main_job_table),
        "results": (config.MODELS_DIR / "comparison.csv", evaluate.results_markdown),
        "exports": (config.MODELS_DIR / export.TABLE_NAME, export.exports_markdown),
        "transfer": (config.MODELS_DIR / "transfer.json", transfer_table),
        "custom-images": (custom_images, custom_images.read_text),
        "real-images": (real_images, real_images.read_text),
    }
    written = []
    for name, (source, render) in sections.items():
        if source.exists():
            update_readme(name, render(), readme)
            written.append(name)
    return written
