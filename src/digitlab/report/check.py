"""Generated README sections: tables written from saved metrics, never typed by hand, between
`<!-- name:start -->` and `<!-- name:end -->` markers."""

import csv
import json
import re
from pathlib import Path

from digitlab import config
from digitlab.provenance import file_sha256
from digitlab.report import tables


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


def section_text(text: str, name: str) -> str | None:
    """What stands between the markers of section `name` in `text`, stripped; None if absent."""
    match = re.search(re.escape(f"<!-- {name}:start -->") + "(.*?)"
                      + re.escape(f"<!-- {name}:end -->"), text, re.DOTALL)
    return match.group(1).strip() if match else None


def sections(models_dir: Path | None = None, results_dir: Path | None = None) -> dict:
    """Each generated README section: (the results file it comes from, a function rendering it)."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    results = Path(results_dir or config.PROJ_ROOT / "benchmarks" / "results")
    return {
        "training": (models_dir / "mlp.metrics.json", lambda: tables.training_table(models_dir)),
        "seeds": (results / "seeds.md", (results / "seeds.md").read_text),
        "main-job": (models_dir / "main_job_times.json", lambda: tables.main_job_table(models_dir)),
        "results": (models_dir / "comparison.csv",
                    lambda: tables.results_markdown(models_dir / "comparison.csv")),
        "exports": (models_dir / config.EXPORTS_TABLE,
                    lambda: tables.exports_markdown(models_dir / config.EXPORTS_TABLE)),
        "transfer": (models_dir / "transfer.json",
                     lambda: tables.transfer_table(models_dir / "transfer.json")),
        "custom-images": (results / "custom_images.md", (results / "custom_images.md").read_text),
        "real-images": (results / "real_images.md", (results / "real_images.md").read_text),
        "not-digits": (results / "not_digits.md", (results / "not_digits.md").read_text),
        "numbers": (results / "numbers.md", (results / "numbers.md").read_text),
        "time-to-accuracy": (results / "time_to_accuracy.md",
                             (results / "time_to_accuracy.md").read_text),
    }


def update_all(readme: Path | None = None) -> list[str]:
    """Regenerate every README section whose source files exist; return the sections written."""
    written = []
    for name, (source, render) in sections().items():
        if source.exists():
            update_readme(name, render(), readme)
            written.append(name)
    return written


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
