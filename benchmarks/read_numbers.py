"""Benchmark: reading handwritten numbers (several digits in one picture).

Runs every picture through `digitlab.numbers.read.read_number` with the digit model, the
digit check and the touching-digits network (`digitlab.numbers.touching`, when there is one),
as `python -m digitlab predict` does for a picture of several digits, and reports
the share of numbers read exactly (every digit, nothing more; several numbers in a picture
apart by one space, in reading order) and the digit accuracy (one minus the edit distance over
the digits written), per set, source, kind and number length. Beside it, what
`python -m digitlab predict` answers (its `number`): it reads a picture as a number when
preparing it as one digit finds digits side by side, or when the picture is no digit as a whole
and the reader's reading is a `predict.plausible_number`; a number missed both ways is answered
as one digit or "not a digit". And the single-digit model on the whole picture (grayscale,
resized to 28x28, inverted when light: one digit).
Sets:
  - a labelled folder with a manifest.csv (`file,label,kind,...`; label: the digits, numbers
    apart by single spaces), by default `../shared/real_numbers_dev`, if here;
  - numbers composed from MNIST *validation* digits (`digitlab.numbers.synthetic`): the set
    the reader's settings are chosen on;
  - numbers composed from MNIST *test* digits: reported only, nothing is chosen on them;
  - numbers the handwriting generator writes (`handwriting.draw_number`), photographed.

Not named numbers.py: in this folder that name would stand in for Python's own `numbers`
module (which NumPy imports) in every benchmark run as a script.

Run: .venv/bin/python benchmarks/read_numbers.py [--data FOLDER] [--count 300]
Writes benchmarks/results/numbers.json and numbers.md (labels and answers, no pixels).
"""

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from digitlab import config
from digitlab.errors import ImageError
from digitlab.images import handwriting
from digitlab.images.preprocess import naive_input
from digitlab.images.synth import lighting, photograph
from digitlab.mnist.data import load_mnist
from digitlab.mnist.pipeline import split_validation
from digitlab.mnist.recipes import CNN
from digitlab.numbers.synthetic import make_numbers
from digitlab.provenance import file_sha256
from digitlab.report.tables import markdown_table
from digitlab.serve.predict import Predictor

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DATA = config.PROJ_ROOT.parent / "shared" / "real_numbers_dev"
LENGTH_BANDS = ((1, "1 digit"), (3, "2-3 digits"), (6, "4-6 digits"), (None, "7+ digits"))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions turning a into b."""
    row = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, char_b in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1,
                                           diagonal + (char_a != char_b))
    return row[-1]


def length_band(label: str) -> str:
    longest = max(len(number) for number in label.split())
    return next(name for limit, name in LENGTH_BANDS if limit is None or longest <= limit)


def scores(records: list[dict], key: str = "read") -> dict:
    """Exact share and digit accuracy of `records`' `key` answers against their labels."""
    digits = sum(len(r["label"].replace(" ", "")) for r in records)
    errors = sum(edit_distance(r[key].replace(" ", ""), r["label"].replace(" ", ""))
                 for r in records)
    return {"numbers": len(records),
            "exact": float(np.mean([r[key] == r["label"] for r in records])),
            "digit_accuracy": max(0.0, 1.0 - errors / max(1, digits))}


def whole_picture_digit(predictor: Predictor, picture) -> str:
    """The single-digit model on the whole picture: one digit, as a string."""
    image = naive_input(picture, invert=True)
    return str(int(np.argmax(predictor.probabilities(image[np.newaxis])[0])))


def measure(predictor: Predictor, pictures: list, labels: list[str], extra: list[dict]
            ) -> list[dict]:
    """Read every picture; one record per picture (its label, the answers, `extra` fields)."""
    records = []
    for picture, label, more in zip(pictures, labels, extra, strict=True):
        try:
            prediction = predictor.predict(picture)
            # Where `predict` read the picture as a number, its reading is the reader's.
            read = prediction.number_read or predictor.read_number(picture)
            answer, sure, answered = read.number, read.sure, prediction.number
        except ImageError:
            answer, sure, answered = "", False, ""
        records.append({**more, "label": label, "read": answer, "sure": sure,
                        "predict": answered,
                        "whole_picture": whole_picture_digit(predictor, picture)})
    return records


def folder(path: Path) -> tuple[list, list[str], list[dict]]:
    """A labelled folder's pictures, labels and (file, kind, source) records."""
    with (path / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return ([path / row["file"] for row in rows], [row["label"] for row in rows],
            [{"file": row["file"], "kind": row.get("kind", ""),
              "source": row.get("source_repo", "")} for row in rows])


def generated(count: int, seed: int) -> tuple[list, list[str], list[dict]]:
    """Numbers the handwriting generator writes, on photographed paper."""
    rng = np.random.default_rng(seed)
    pictures, labels = [], []
    for _ in range(count):
        label = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(2, 9))))
        size = int(rng.integers(40, 90))
        ink = np.asarray(handwriting.draw_number(label, str(rng.choice(sorted(handwriting.PENS))),
                                                 size, rng)) / 255
        ink = np.pad(ink, size // 2)  # paper around the number
        page = 1.0 - 0.85 * ink[..., None] * np.ones(3)
        pictures.append(photograph(page * lighting(*ink.shape, rng, False), rng))
        labels.append(label)
    return pictures, labels, [{} for _ in labels]


def table_rows(name: str, records: list[dict], groups: tuple[str, ...]) -> list[dict]:
    """The set's row, then one row per value of each of `groups` (and per number length)."""
    parts: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        parts["length: " + length_band(record["label"])].append(record)
        for group in groups:
            parts[f"{group}: {record[group]}"].append(record)
    rows = []
    for label, part in [(f"**{name}**", records), *sorted(parts.items())]:
        ours, whole = scores(part), scores(part, "whole_picture")
        answered = scores(part, "predict")
        rows.append({"set": label, "pictures": len(part), "exact": f"{ours['exact']:.1%}",
                     "digit accuracy": f"{ours['digit_accuracy']:.1%}",
                     "sure (share)": f"{np.mean([r['sure'] for r in part]):.0%}",
                     "`predict`, exact": f"{answered['exact']:.1%}",
                     "single-digit model, exact": f"{whole['exact']:.1%}",
                     "single-digit model, digit accuracy": f"{whole['digit_accuracy']:.1%}"})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    parser.add_argument("--count", type=int, default=300, help="composed numbers per MNIST set")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    predictor = Predictor(args.model)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    _, (x_val, y_val) = split_validation(x_train, y_train, CNN.train.validation_size,
                                         CNN.train.seed)
    sets: dict[str, list[dict]] = {}
    rows: list[dict] = []
    if (args.data / "manifest.csv").is_file():
        sets[args.data.name] = measure(predictor, *folder(args.data))
        rows += table_rows(f"{args.data.name} (real photos)", sets[args.data.name],
                           ("source", "kind"))
    else:
        print(f"{args.data} is absent: real numbers not measured")
    for name, images, labels, seed in (("MNIST validation digits, composed", x_val, y_val, 1),
                                       ("MNIST test digits, composed", x_test, y_test, 2)):
        made = make_numbers(images, labels, args.count, seed)
        sets[name] = measure(predictor, [m[0] for m in made], [m[1] for m in made],
                             [{} for _ in made])
        rows += table_rows(name, sets[name], ())
    sets["generator"] = measure(predictor, *generated(args.count // 3, 3))
    rows += table_rows("the handwriting generator's numbers", sets["generator"], ())
    results = {"model": Path(args.model).name, "model_sha256": file_sha256(args.model),
               "check": predictor.check.provenance(),
               "touching": predictor.touching_provenance(),
               "summary": {name: scores(records) for name, records in sets.items()},
               "summary_predict": {name: scores(records, "predict")
                                   for name, records in sets.items()},
               "sets": sets}
    touching_model = results["touching"]["model"] if results["touching"] else "none"
    text = (f"Numbers read by `digitlab.numbers.read` (model `{results['model']}`, digit check "
            f"`{results['check']['model']}`, touching digits `{touching_model}`): exact = every "
            "digit of every number and nothing more; digit accuracy = one minus the edit "
            "distance over the digits written; sure = every digit read with confidence >= 0.8 "
            "and above the digit check's threshold. "
            "Beside it, what `python -m digitlab predict` answers (a number when preparing "
            "the picture as one digit finds digits side by side, or when it is no digit as a "
            "whole and the reading is a plausible number), and the single-digit model on the "
            "whole picture.\n\n"
            + markdown_table(rows) + "\n")
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "numbers.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.results / "numbers.md").write_text(text)


if __name__ == "__main__":
    main()
