"""Evaluate saved models: predictions, confusion, per-class metrics, errors, calibration, speed.

Everything here works on plain arrays, so each number can be checked against scikit-learn.
"""

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from digitlab import config
from digitlab.errors import ModelError
from digitlab.mnist.models import NUM_CLASSES, load_model
from digitlab.mnist.pipeline import model_input

# The notebook that trains and saves each model, named when a model file is missing.
TRAINING_NOTEBOOKS = {"mlp": "03_train_mlp", "cnn": "04_train_cnn"}


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


