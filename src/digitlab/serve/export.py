"""Export a model to LiteRT (float32, full-integer int8) and ONNX, and measure every file.

Each exported file is measured in its own runtime (LiteRT interpreter, ONNX Runtime), never
through TensorFlow, so the table says what a phone or a server would really get.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from digitlab import config
from digitlab.atomic import write_atomically, write_bytes_atomically, write_text_atomically
from digitlab.mnist.models import INPUT_SHAPE
from digitlab.mnist.pipeline import scale_images
from digitlab.mnist.speed import latency_ms
from digitlab.provenance import file_sha256
from digitlab.serve.runtimes import load_runner, predict_in_batches

# name -> file suffix appended to the model's stem, e.g. models/cnn_int8.tflite
EXPORTS = {"float32": "_float32.tflite", "int8": "_int8.tflite", "onnx": ".onnx"}
REPRESENTATIVE_IMAGES = 500  # training images that calibrate the int8 ranges
ONNX_OPSET = 17


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
    `runtimes.LiteRTRunner` quantizes the input and dequantizes the output.
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
    write_bytes_atomically(path, flatbuffer)
    return path


def to_onnx(model, path: str | Path) -> Path:
    """Write `model` as an ONNX graph (opset 17) with a free batch dimension."""
    import tf2onnx

    function = _serving_function(model)
    path = Path(path)
    write_atomically(path, lambda partial: tf2onnx.convert.from_function(
        function, input_signature=function.input_signature, opset=ONNX_OPSET,
        output_path=str(partial)))
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
    from digitlab.mnist.models import load_model
    from digitlab.serve.predict import default_model_path

    model_path = Path(model_path or default_model_path())
    model = load_model(model_path)
    if x_train is None:
        from digitlab.mnist.data import load_mnist

        (x_train, _), _ = load_mnist()
    out_dir = Path(out_dir or model_path.parent)
    stem = out_dir / model_path.stem
    return {
        "keras": model_path,
        "float32": to_tflite(model, f"{stem}{EXPORTS['float32']}"),
        "int8": to_tflite(model, f"{stem}{EXPORTS['int8']}", representative_images(x_train)),
        "onnx": to_onnx(model, f"{stem}{EXPORTS['onnx']}"),
    }


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
    runners = {name: load_runner(path) for name, path in paths.items()}
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
            "latency_ms": round(latency_ms(runner, images[:1], repeats), 3),
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
        save_to = Path(save_to or config.MODELS_DIR / config.EXPORTS_TABLE)
        write_text_atomically(save_to, table.to_csv(index=False))
    return table


