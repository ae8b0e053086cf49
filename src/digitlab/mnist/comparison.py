"""The comparison table of notebook 05: each model's test metrics, training time, size, speed."""

from pathlib import Path

import keras
import numpy as np
import pandas as pd

from digitlab import config
from digitlab.atomic import write_text_atomically
from digitlab.mnist.evaluate import Predictions
from digitlab.mnist.runfiles import read_metrics
from digitlab.mnist.speed import measure_speed
from digitlab.provenance import file_sha256, machine_description


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
        metrics = models_dir / f"{name}.metrics.json"
        rows.append({
            "model": name,
            "file": path.name,
            "sha256": file_sha256(path) if path.is_file() else "",
            "test_images": len(result.labels),
            "test_accuracy": result.accuracy,
            "test_errors": result.errors,
            "test_loss": result.loss,
            "parameters": int(model.count_params()),
            "train_seconds": read_metrics(metrics).get("train_seconds", np.nan)
            if metrics.is_file() else np.nan,
            "size_mb": path.stat().st_size / 1e6 if path.is_file() else np.nan,
            "latency_ms": speed["latency_ms"],
            "throughput_images_per_s": speed["throughput_per_s"],
            "speed_measured_on": machine_description(),
        })
    return pd.DataFrame(rows).set_index("model")


def save_comparison(table: pd.DataFrame, path: Path | None = None) -> Path:
    """Write the comparison table as CSV (default `models/comparison.csv`)."""
    path = Path(path or config.MODELS_DIR / "comparison.csv")
    write_text_atomically(path, table.to_csv())
    return path
