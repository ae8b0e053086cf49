"""Generated README sections: tables written from saved metrics, never typed by hand."""

import csv
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


def sections(models_dir: Path | None = None, results_dir: Path | None = None) -> dict:
    """Each generated README section: (the results file it comes from, a function rendering it)."""
    from digitlab import evaluate, export

    models_dir = Path(models_dir or config.MODELS_DIR)
    results = Path(results_dir or config.PROJ_ROOT / "benchmarks" / "results")
    return {
        "training": (models_dir / "mlp.metrics.json", lambda: training_table(models_dir)),
        "seeds": (results / "seeds.md", (results / "seeds.md").read_text),
        "main-job": (models_dir / "main_job_times.json", lambda: main_job_table(models_dir)),
        "results": (models_dir / "comparison.csv",
                    lambda: evaluate.results_markdown(models_dir / "comparison.csv")),
        "exports": (models_dir / export.TABLE_NAME,
                    lambda: export.exports_markdown(models_dir / export.TABLE_NAME)),
        "transfer": (models_dir / "transfer.json",
                     lambda: transfer_table(models_dir / "transfer.json")),
        "custom-images": (results / "custom_images.md", (results / "custom_images.md").read_text),
        "real-images": (results / "real_images.md", (results / "real_images.md").read_text),
    }


def update_all(readme: Path | None = None) -> list[str]:
    """Regenerate every README section whose source files exist; return the sections written."""
    written = []
    for name, (source, render) in sections().items():
        if source.exists():
            update_readme(name, render(), readme)
            written.append(name)
    return written


def section_text(text: str, name: str) -> str | None:
    """What stands between the markers of section `name` in `text`, stripped; None if absent."""
    match = re.search(re.escape(f"<!-- {name}:start -->") + "(.*?)"
                      + re.escape(f"<!-- {name}:end -->"), text, re.DOTALL)
    return match.group(1).strip() if match else None


def measured_models(record) -> list[tuple[str, str]]:
    """Every (model file name, SHA-256) a results record names as measured, at any depth: a
    dictionary holding `model` and `model_sha256` (or `source_model` and `source_model_sha256`,
    the model notebook 08 measured before adapting it)."""
    found = []
    if isinstance(record, dict):
        for key in ("model", "source_model"):
            if isinstance(record.get(key), str) and isinstance(record.get(f"{key}_sha256"), str):
                found.append((Path(record[key]).name, record[f"{key}_sha256"]))
        for value in record.values():
            found += measured_models(value)
    elif isinstance(record, list):
        for value in record:
            found += measured_models(value)
    return found


def results_records(models_dir: Path, results_dir: Path) -> dict[Path, object]:
    """Every results file's content: JSON as parsed, CSV as a list of row dictionaries."""
    records: dict[Path, object] = {}
    for path in sorted([*models_dir.glob("*.json"), *results_dir.glob("*.json")]):
        records[path] = json.loads(path.read_text())
    for path in sorted(models_dir.glob("*.csv")):
        with path.open(newline="") as handle:
            records[path] = [{"model": row["file"], "model_sha256": row["sha256"]}
                             for row in csv.DictReader(handle)
                             if row.get("file") and row.get("sha256")]
    return records


def check(readme: Path | None = None, models_dir: Path | None = None,
          results_dir: Path | None = None, shared_dir: Path | None = None) -> list[str]:
    """What is out of date: README sections that differ from what their results give, and
    results files that measured another model than the one in models/ (or one no longer there).
    Results measured on data that is not here (`"data"` names a folder missing from `shared_dir`,
    ../shared by default) are not held against a retrained model: nobody here can remeasure them.
    Empty when all agree."""
    from digitlab.provenance import file_sha256

    models_dir = Path(models_dir or config.MODELS_DIR)
    results_dir = Path(results_dir or config.PROJ_ROOT / "benchmarks" / "results")
    shared_dir = Path(shared_dir or config.PROJ_ROOT.parent / "shared")
    readme = Path(readme or config.PROJ_ROOT / "README.md")
    if not readme.is_file():
        return [f"{readme}: no README to check"]
    text = readme.read_text()
    problems = []
    for name, (source, render) in sections(models_dir, results_dir).items():
        shown = section_text(text, name)
        if shown is None:
            problems.append(f"README section {name!r}: its markers are missing")
        elif not source.exists():
            problems.append(f"README section {name!r}: its source {source.name} is missing")
        elif shown != render().strip():
            problems.append(f"README section {name!r} differs from {source.name}: run "
                            "`python -m digitlab report`")
    try:
        records = results_records(models_dir, results_dir)
    except (ValueError, KeyError) as error:
        return [*problems, f"a results file cannot be read ({error})"]
    hashes: dict[str, str] = {}
    for path, record in records.items():
        data = record.get("data") if isinstance(record, dict) else None
        if isinstance(data, str) and not (shared_dir / data).is_dir():
            continue
        for model, digest in measured_models(record):
            if model not in hashes:
                if not (models_dir / model).is_file():
                    problems.append(f"{path.name} measured {model}, which is not in models/")
                    continue
                hashes[model] = file_sha256(models_dir / model)
            if digest != hashes[model]:
                problems.append(f"{path.name} measured {model} with SHA-256 {digest[:12]}…, but "
                                f"models/{model} is {hashes[model][:12]}…: measure it again")
    return problems
