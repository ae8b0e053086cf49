"""Evaluate saved models: predictions, confusion, per-class metrics, errors, calibration, speed.

Everything here works on plain arrays, so each number can be checked against scikit-learn.
"""

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from digitlab import config
from digitlab.errors import DigitlabError, ModelError
from digitlab.models import load_model
from digitlab.preprocess import scale_images
from digitlab.provenance import file_sha256
from digitlab.report import markdown_table

NUM_CLASSES = 10
# The notebook that trains and saves each model, named when a model file is missing.
TRAINING_NOTEBOOKS = {"mlp": "03_train_mlp", "cnn": "04_train_cnn"}
SPEED_BATCH_SIZE = 256  # images per model.predict batch when measuring throughput


@dataclass(frozen=True)
class Predictions:
    """A model's softmax outputs on labelled images."""

    labels: np.ndarray  # (n,) int, the true digits
    probabilities: np.ndarray  # (n, 10) float32

    @property
    def predicted(self) -> np.ndarray:
        """(n,) the most probable digit."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """(n,) the probability of the predicted digit."""
        return self.probabilities.max(axis=1)

    @property
    def correct(self) -> np.ndarray:
        """(n,) bool, prediction equals label."""
        return self.predicted == self.labels

    @property
    def accuracy(self) -> float:
        """Fraction of images predicted correctly."""
        return float(self.correct.mean())

    @property
    def errors(self) -> int:
        """Number of misclassified images."""
        return int((~self.correct).sum())

    @property
    def loss(self) -> float:
        """Mean cross-entropy, clipped as Keras does, so it matches `model.evaluate`."""
        true_probability = self.probabilities[np.arange(len(self.labels)), self.labels]
        return float(-np.log(np.clip(true_probability, 1e-7, 1.0)).mean())


def model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images go through `scale_images`; float images must already be (n, 28, 28, 1)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return scale_images(images)
    if images.shape[1:] not in {(28, 28), (28, 28, 1)}:
        raise ValueError(f"Expected images of shape (n, 28, 28) or (n, 28, 28, 1), "
                         f"got {images.shape}.")
    return images.reshape(-1, 28, 28, 1).astype(np.float32)


def predict_proba(model: keras.Model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Softmax probabilities, (n, 10) float32, for uint8 (n, 28, 28) or scaled float images."""
    x = model_input(images)
    if len(x) <= batch_size:
        # One direct call skips predict's ~0.3 s of set-up, which dominates on small inputs.
        return keras.ops.convert_to_numpy(model(x, training=False))
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def predict(model: keras.Model, images: np.ndarray, labels: np.ndarray,
            batch_size: int = 1024) -> Predictions:
    """Run `model` over labelled images."""
    if len(images) != len(labels):
        raise ValueError(f"Got {len(images)} images but {len(labels)} labels; they must pair up.")
    return Predictions(np.asarray(labels).astype(int), predict_proba(model, images, batch_size))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, normalize: bool = False,
                     num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Rows are true digits, columns predicted ones: counts, or each row divided by its total."""
    labels, predicted = np.asarray(labels).astype(int), np.asarray(predicted).astype(int)
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    if not normalize:
        return counts
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def per_class_report(labels: np.ndarray, predicted: np.ndarray,
                     num_classes: int = NUM_CLASSES) -> pd.DataFrame:
    """Precision, recall, F1 and support of every digit (0 where a ratio has no denominator)."""
    counts = confusion_matrix(labels, predicted, num_classes=num_classes)
    hits = np.diag(counts).astype(float)
    support, predicted_total = counts.sum(axis=1), counts.sum(axis=0)
    precision = np.divide(hits, predicted_total, out=np.zeros(num_classes),
                          where=predicted_total > 0)
    recall = np.divide(hits, support, out=np.zeros(num_classes), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(num_classes), where=both > 0)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support},
                        index=pd.Index(range(num_classes), name="digit"))


def most_confused(counts: np.ndarray, top: int = 10) -> pd.DataFrame:
    """The largest off-diagonal cells of a confusion count matrix, largest first."""
    errors = np.array(counts, dtype=np.int64)
    np.fill_diagonal(errors, 0)
    true, predicted = np.nonzero(errors)
    rows = pd.DataFrame({"true": true, "predicted": predicted, "count": errors[true, predicted]})
    support = np.asarray(counts).sum(axis=1)[true]
    rows["share of true digit"] = rows["count"] / support
    rows = rows.sort_values(["count", "true", "predicted"], ascending=[False, True, True])
    return rows.head(top).reset_index(drop=True)


def misclassified(predictions: Predictions) -> np.ndarray:
    """Indices of wrongly predicted images, the most confident mistakes first."""
    wrong = np.flatnonzero(~predictions.correct)
    order = np.argsort(-predictions.confidence[wrong], kind="stable")
    return wrong[order]


def bin_index(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of each confidence; bin i holds (i/bins, (i+1)/bins], bin 0 also 0."""
    return np.clip(np.ceil(np.asarray(confidence) * bins).astype(int) - 1, 0, bins - 1)


def reliability(predictions: Predictions, bins: int = 10) -> pd.DataFrame:
    """Reliability-diagram data: per confidence bin, the mean confidence and the accuracy.

    Returns:
        One row per bin (empty bins included, with NaN means): lower, upper, count,
        confidence, accuracy.
    """
    index = bin_index(predictions.confidence, bins)
    count = np.bincount(index, minlength=bins)
    confidence_sum = np.bincount(index, weights=predictions.confidence, minlength=bins)
    correct_sum = np.bincount(index, weights=predictions.correct, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "lower": np.arange(bins) / bins,
            "upper": np.arange(1, bins + 1) / bins,
            "count": count,
            "confidence": confidence_sum / count,
            "accuracy": correct_sum / count,
        })


def expected_calibration_error(predictions: Predictions, bins: int = 10) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    table = reliability(predictions, bins).query("count > 0")
    gaps = (table["accuracy"] - table["confidence"]).abs()
    return float((gaps * table["count"]).sum() / table["count"].sum())


def load_models(names: tuple[str, ...] = ("mlp", "cnn"),
                models_dir: Path | None = None) -> dict[str, keras.Model]:
    """Load `<models_dir>/<name>.keras` for each name; a missing one names its notebook."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    loaded = {}
    for name in names:
        path = models_dir / f"{name}.keras"
        if not path.is_file():
            notebook = TRAINING_NOTEBOOKS.get(name, "the training notebook")
            raise ModelError(f"{path}: model file not found. Run notebooks/{notebook}.ipynb "
                             "first (same DIGITLAB_OUTPUT_DIR), or `make all`.")
        loaded[name] = load_model(path)
    return loaded


def measure_speed(model: keras.Model, images: np.ndarray, batch_size: int = SPEED_BATCH_SIZE,
                  single_calls: int = 50, warmup: int = 5) -> dict:
    """Single-image latency and batch throughput of `model` on this machine.

    Latency calls the model directly, `model(x, training=False)`, on one image at a time, as an
    app answering one request would; throughput runs `model.predict` over all `images`.

    Returns:
        latency_ms (median of `single_calls`), throughput_per_s (images/s, best of three runs),
        batch_size, images.
    """
    x = model_input(images)
    single = x[:1]
    for _ in range(warmup):
        model(single, training=False)
    seconds = []
    for index in range(single_calls):
        one = x[index % len(x)][np.newaxis]
        start = time.perf_counter()
        keras.ops.convert_to_numpy(model(one, training=False))
        seconds.append(time.perf_counter() - start)
    model.predict(x[:batch_size], batch_size=batch_size, verbose=0)  # builds the predict function
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        model.predict(x, batch_size=batch_size, verbose=0)
        runs.append(time.perf_counter() - start)
    return {"latency_ms": float(np.median(seconds) * 1000),
            "throughput_per_s": float(len(x) / min(runs)),
            "batch_size": batch_size, "images": len(x)}


def read_metrics(name: str, models_dir: Path) -> dict:
    """The `.metrics.json` that training wrote next to the model, or {} if there is none."""
    path = Path(models_dir) / f"{name}.metrics.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        message = f"{path}: not valid JSON ({error}). Retrain the model to rewrite it."
        raise ModelError(message) from error


def machine_description() -> str:
    """Where speed was measured, e.g. "x86_64, 2 CPUs, no GPU"."""
    gpus = tf.config.list_physical_devices("GPU")
    gpu = f"{len(gpus)} GPU" if gpus else "no GPU"
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {gpu}"


def comparison_table(models: dict[str, keras.Model], results: dict[str, Predictions],
                     speed_images: np.ndarray, models_dir: Path | None = None,
                     latency_calls: int = 50) -> pd.DataFrame:
    """One row per model: test metrics computed from `results`, training time, size and speed."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    rows = []
    for name, model in models.items():
        result = results[name]
        speed = measure_speed(model, speed_images, single_calls=latency_calls)
        path = models_dir / f"{name}.keras"
        rows.append({
            "model": name,
            "file": path.name,
            "sha256": file_sha256(path) if path.is_file() else "",
            "test_images": len(result.labels),
            "test_accuracy": result.accuracy,
            "test_errors": result.errors,
            "test_loss": result.loss,
            "parameters": int(model.count_params()),
            "train_seconds": read_metrics(name, models_dir).get("train_seconds", np.nan),
            "size_mb": path.stat().st_size / 1e6 if path.is_file() else np.nan,
            "latency_ms": speed["latency_ms"],
            "throughput_images_per_s": speed["throughput_per_s"],
            "speed_measured_on": machine_description(),
        })
    return pd.DataFrame(rows).set_index("model")


def save_comparison(table: pd.DataFrame, path: Path | None = None) -> Path:
    """Write the comparison table as CSV (default `models/comparison.csv`)."""
    path = Path(path or config.MODELS_DIR / "comparison.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path)
    return path


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
