"""The files a training run leaves: the model (written atomically), its metrics and history."""

import csv
import io
import json
from pathlib import Path

import keras
import numpy as np

from digitlab.atomic import write_atomically
from digitlab.errors import ModelError


def save_atomically(model: keras.Model, path: Path) -> None:
    """Write the model next to `path`, then rename: an interrupted save keeps the old file."""
    write_atomically(path, model.save)


def save_in(model: keras.Model, out_dir: Path | None, name: str) -> Path:
    """Save `model` atomically as `<name>.keras` in `out_dir` (default: this run's models/,
    made if missing); returns its path."""
    from digitlab import config

    folder = Path(out_dir) if out_dir else config.MODELS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.keras"
    save_atomically(model, path)
    return path


def without_optimizer(model: keras.Model) -> keras.Model:
    """A copy of `model` with its architecture and weights but no optimizer state.

    Saved, it is a third the size: AdamW keeps two more numbers per weight, which inference
    never needs.
    """
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def history_csv(history: dict[str, list[float]]) -> str:
    """Keras history as CSV text, one row per epoch."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", *history])
    for epoch, values in enumerate(zip(*history.values(), strict=True), start=1):
        writer.writerow([epoch, *values])
    return out.getvalue()


def kept_epoch(history: dict[str, list[float]]) -> int:
    """Index of the epoch whose weights training keeps: the lowest validation loss."""
    return int(np.argmin(history["val_loss"]))


def read_metrics(path: Path) -> dict:
    """Read a `.metrics.json` file written by `train`; ModelError when it is not JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ModelError(f"{path}: not valid JSON ({error}). Train the model again to "
                         "rewrite it.") from error


def read_history(path: Path) -> dict[str, list[float]]:
    """Read a `.history.csv` back into Keras' history format."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in rows[0] if key != "epoch"}
