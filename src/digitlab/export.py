"""Export a model to LiteRT (float32, full-integer int8) and ONNX, and measure every file.

Each exported file is measured in its own runtime (LiteRT interpreter, ONNX Runtime), never
through TensorFlow, so the table says what a phone or a server would really get.
"""

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from digitlab import config
from digitlab.errors import ModelError
from digitlab.models import INPUT_SHAPE, NUM_CLASSES
from digitlab.preprocess import scale_images
from digitlab.provenance import file_sha256

# name -> file suffix appended to the model's stem, e.g. models/cnn_int8.tflite
EXPORTS = {"float32": "_float32.tflite", "int8": "_int8.tflite", "onnx": ".onnx"}
REPRESENTATIVE_IMAGES = 500  # training images that calibrate the int8 ranges
ONNX_OPSET = 17
TABLE_NAME = "exports.csv"

Runner = Callable[[np.ndarray], np.ndarray]


def _serving_function(model):
    """A tf.function of the model in inference mode, with a free batch dimension."""
    import tensorflow as tf

    signature = [tf.TensorSpec((None, *INPUT_SHAPE), tf.float32, name="image")]
    return tf.function(lambda images: model(images, training=False), input_signature=signature)


def representative_images(x_train: np.ndarray, count: int = REPRESENTATIVE_IMAGES,
                          seed: int = 0) -> np.ndarray:
    """A random sample of training images, scaled: what the int8 calibration sees.

    Args:
        x_train: (n, 28, 28) uint8 training images (never test images: no peeking).

    Returns:
        (count, 28, 28, 1) float32 in 0..1.
    """
    if len(x_train) == 0:
        raise ValueError("representative_images needs training images, got an empty array.")
    chosen = np.random.default_rng(seed).choice(len(x_train), min(count, len(x_train)),
                                                replace=False)
    return scale_images(x_train[chosen])


def to_tflite(model, path: str | Path, representative: np.ndarray | None = None) -> Path:
    """Write `model` as a LiteRT flatbuffer; full-integer int8 when `representative` is given.

    The int8 model takes and returns int8 tensors (as microcontrollers need);
    `load_runtime_model` quantizes the input and dequantizes the output.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved_model:
        # A SavedModel freezes the weights into constants, which int8 calibration needs.
        model.export(saved_model, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        if representative is not None:
            samples = np.asarray(representative, dtype=np.float32)

            def calibration():
                for image in samples:
                    yield [image[np.newaxis]]

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = calibration
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        flatbuffer = converter.convert()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flatbuffer)
    return path


def to_onnx(model, path: str | Path) -> Path:
    """Write `model` as an ONNX graph (opset 17) with a free batch dimension."""
    import tf2onnx

    function = _serving_function(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tf2onnx.convert.from_function(function, input_signature=function.input_signature,
                                  opset=ONNX_OPSET, output_path=str(path))
    return path


def export_model(model_path: str | Path | None = None, x_train: np.ndarray | None = None,
                 out_dir: str | Path | None = None) -> dict[str, Path]:
    """Export a saved Keras model to every format in EXPORTS, next to it by default.

    Args:
        model_path: a .keras file; default `models/cnn.keras`.
        x_train: (n, 28, 28) uint8 training images for int8 calibration; default MNIST train.
        out_dir: where to write; default the model's folder.

    Returns:
        {"keras": model_path, "float32": ..., "int8": ..., "onnx": ...}
    """
    from digitlab.models import load_model

    model_path = Path(model_path or config.MODELS_DIR / "cnn.keras")
    model = load_model(model_path)
    if x_train is None:
        from digitlab.data import load_mnist

        (x_train, _), _ = load_mnist()
    out_dir = Path(out_dir or model_path.parent)
    stem = out_dir / model_path.stem
    return {
        "keras": model_path,
        "float32": to_tflite(model, f"{stem}{EXPORTS['float32']}"),
        "int8": to_tflite(model, f"{stem}{EXPORTS['int8']}", representative_images(x_train)),
        "onnx": to_onnx(model, f"{stem}{EXPORTS['onnx']}"),
    }


class LiteRTRunner:
    """Run a .tflite file in the LiteRT interpreter: float32 images in, probabilities out."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path))
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.batch = None
        self.lock = threading.Lock()  # one interpreter holds one set of tensors

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        with self.lock:
            if images.shape[0] != self.batch:
                self.interpreter.resize_tensor_input(self.input["index"], images.shape)
                self.interpreter.allocate_tensors()
                self.batch = images.shape[0]
            self.interpreter.set_tensor(self.input["index"], _quantize(images, self.input))
            self.interpreter.invoke()
            output = self.interpreter.get_tensor(self.output["index"])
        return _dequantize(output, self.output)


def _quantize(values: np.ndarray, details: dict) -> np.ndarray:
    """Float values as the tensor's type: unchanged for float, scaled and rounded for int8."""
    if details["dtype"] == np.float32:
        return values
    scale, zero_point = details["quantization"]
    info = np.iinfo(details["dtype"])
    return np.clip(np.round(values / scale + zero_point), info.min, info.max).astype(
        details["dtype"])


def _dequantize(values: np.ndarray, details: dict) -> np.ndarray:
    """A tensor's values as float32 (int8 outputs scaled back to probabilities)."""
    if details["dtype"] == np.float32:
        return values.copy()
    scale, zero_point = details["quantization"]
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)


class OnnxRunner:
    """Run an .onnx file in ONNX Runtime (CPU): float32 images in, probabilities out."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(str(path), options,
                                                    providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        return self.session.run(None, {self.input_name: images})[0]


class KerasRunner:
    """Run a .keras file with a direct call (no `predict` overhead for a single image)."""

    def __init__(self, path: Path):
        from digitlab.models import load_model

        self.model = load_model(path)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        return np.asarray(self.model(images, training=False))


RUNNERS = {".tflite": LiteRTRunner, ".onnx": OnnxRunner, ".keras": KerasRunner}


def load_runtime_model(path: str | Path) -> Runner:
    """Load a .tflite, .onnx (or .keras) file in its own runtime.

    Returns:
        A function from (n, 28, 28, 1) float32 images in 0..1 to (n, 10) float32 probabilities.
    """
    path = Path(path)
    if path.suffix not in RUNNERS:
        raise ModelError(f"{path}: unknown model format {path.suffix!r}; use one of "
                         f"{sorted(RUNNERS)} (see `digitlab.export`).")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found. Export it with notebook 07 or "
                         "`digitlab.export.export_model()`, or pass an existing file.")
    try:
        runner = RUNNERS[path.suffix](path)
        probabilities = runner(np.zeros((1, *INPUT_SHAPE), np.float32))
    except ModelError:
        raise
    except Exception as error:  # each runtime raises its own types for a damaged file
        raise ModelError(f"{path}: cannot be loaded as a {path.suffix} model ({error}). "
                         "It may be truncated; export it again.") from error
    if probabilities.shape != (1, NUM_CLASSES):
        raise ModelError(f"{path}: returns {probabilities.shape} for one image; a digitlab "
                         f"model returns (1, {NUM_CLASSES}) probabilities.")
    return runner


def predict_in_batches(runner: Runner, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Probabilities for many images, `batch_size` at a time. Returns (n, 10) float32."""
    parts = [runner(images[start:start + batch_size])
             for start in range(0, len(images), batch_size)]
    return np.concatenate(parts)


def single_image_latency(runner: Runner, image: np.ndarray, repeats: int = 200,
                         warmup: int = 20) -> float:
    """Median wall time of one single-image prediction, in milliseconds."""
    batch = np.asarray(image, np.float32).reshape(1, *INPUT_SHAPE)
    for _ in range(warmup):
        runner(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        runner(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def measure_exports(paths: dict[str, Path], x_test: np.ndarray, y_test: np.ndarray,
                    repeats: int = 200, save_to: str | Path | None = None) -> pd.DataFrame:
    """Size, test accuracy, agreement with Keras and latency of every file, each in its runtime.

    Args:
        paths: {"keras": .keras file, other names: exported files}, as `export_model` returns.
        x_test, y_test: (n, 28, 28) uint8 images and (n,) labels.
        repeats: single-image predictions timed per file (the median is reported).
        save_to: CSV path; default `models/exports.csv`; "" skips saving.

    Returns:
        One row per file: format, file, size_kb, size_vs_float32 (the .tflite float32 file,
        or Keras without one), test_accuracy (%),
        accuracy_change (points vs Keras), agreement (% of test images with Keras' digit),
        latency_ms (median single image), sha256 (of the file measured).
    """
    if "keras" not in paths:
        raise ValueError("measure_exports needs the Keras model under the key 'keras' "
                         f"as the reference; got {sorted(paths)}.")
    images = scale_images(x_test)
    runners = {name: load_runtime_model(path) for name, path in paths.items()}
    reference = predict_in_batches(runners["keras"], images).argmax(axis=1)
    rows = []
    for name, runner in runners.items():
        path = Path(paths[name])
        predicted = predict_in_batches(runner, images).argmax(axis=1)
        rows.append({
            "format": name,
            "file": path.name,
            "size_kb": round(path.stat().st_size / 1024, 1),
            "test_accuracy": round(float(np.mean(predicted == y_test)) * 100, 2),
            "agreement": round(float(np.mean(predicted == reference)) * 100, 3),
            "latency_ms": round(single_image_latency(runner, images[0], repeats), 3),
            "sha256": file_sha256(path),
        })
    table = pd.DataFrame(rows)
    keras_row = table[table["format"] == "keras"].iloc[0]
    # The int8 goal is stated against the float32 file (the .keras archive holds more).
    float_rows = table[table["format"] == "float32"]
    float_size = float_rows["size_kb"].iloc[0] if len(float_rows) else keras_row["size_kb"]
    table.insert(3, "size_vs_float32", (table["size_kb"] / float_size).round(3))
    table.insert(5, "accuracy_change",
                 (table["test_accuracy"] - keras_row["test_accuracy"]).round(2))
    if save_to != "":
        save_to = Path(save_to or config.MODELS_DIR / TABLE_NAME)
        save_to.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(save_to, index=False)
    return table


def exports_markdown(table: pd.DataFrame | str | Path | None = None) -> str:
    """The export table as GitHub markdown (from a DataFrame or the saved CSV)."""
    from digitlab.report import markdown_table

    if not isinstance(table, pd.DataFrame):
        csv_path = Path(table or config.MODELS_DIR / TABLE_NAME)
        if not csv_path.is_file():
            raise FileNotFoundError(f"{csv_path}: no export table yet; run notebook 07 "
                                    "or `digitlab.export.measure_exports` first.")
        table = pd.read_csv(csv_path)
    headers = {"format": "format", "file": "file", "size_kb": "size (KiB)",
               "size_vs_float32": "size vs float32", "test_accuracy": "test accuracy (%)",
               "accuracy_change": "change (points)", "agreement": "same digit as Keras (%)",
               "latency_ms": "1-image latency (ms)"}
    rows = [{headers[column]: _format_cell(column, value) for column, value in row.items()
             if column in headers} for row in table.to_dict("records")]
    return markdown_table(rows, [headers[column] for column in table.columns if column in headers])


def _format_cell(column: str, value) -> str:
    formats = {"size_kb": "{:,.1f}", "size_vs_float32": "{:.2f}", "test_accuracy": "{:.2f}",
               "accuracy_change": "{:+.2f}", "agreement": "{:.2f}", "latency_ms": "{:.3f}"}
    return formats[column].format(value) if column in formats else str(value)


def plot_exports(table: pd.DataFrame):
    """Three bar charts side by side: file size, test accuracy and 1-image latency per format."""
    import matplotlib.pyplot as plt

    panels = [("size_kb", "file size (KiB)", "{:,.0f}"),
              ("test_accuracy", "MNIST test accuracy (%)", "{:.2f}"),
              ("latency_ms", "1-image latency (ms, median)", "{:.2f}")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (column, title, text) in zip(axes, panels, strict=True):
        bars = ax.bar(table["format"], table[column], color=colors[: len(table)])
        ax.bar_label(bars, [text.format(value) for value in table[column]], fontsize=8)
        ax.set_title(title)
        if column == "test_accuracy":  # the differences are hundredths of a point
            low = table[column].min()
            ax.set_ylim(max(0.0, low - 1.0), min(100.0, table[column].max() + 0.5))
        ax.margins(y=0.15)
    fig.suptitle("The CNN in each format, each run in its own runtime")
    fig.tight_layout()
    return fig
