"""Load a model file in its own runtime (Keras, LiteRT, ONNX Runtime) as one function:
(n, 28, 28, 1) float32 images in 0..1 in, (n, 10) float32 probabilities out."""

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digitlab.errors import ModelError
from digitlab.mnist.data import INPUT_SHAPE, NUM_CLASSES

Runner = Callable[[np.ndarray], np.ndarray]
BATCH_SIZE = 1024  # images per call when predicting many (as `digitlab.mnist.evaluate`)


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
    """Run a loaded Keras model: one image through an XLA-compiled call, batches through
    `predict_on_batch` (a compiled graph with no per-call set-up)."""

    def __init__(self, model):
        self.model = model
        self.single = single_image_function(self.model)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if self.single is not None and len(images) == 1:
            return self.single(images).numpy()
        return np.asarray(self.model.predict_on_batch(images))


def keras_runner(path: Path) -> KerasRunner:
    """Load a .keras file (safely: see `digitlab.mnist.models.load_model`) as a runner."""
    from digitlab.mnist.models import load_model

    return KerasRunner(load_model(path))


RUNNERS: dict[str, Callable[[Path], Runner]] = {
    ".tflite": LiteRTRunner, ".onnx": OnnxRunner, ".keras": keras_runner}


def load_runner(path: str | Path) -> Runner:
    """Load a .keras, .tflite or .onnx file in its own runtime, checked on one image.

    Returns:
        A function from (n, 28, 28, 1) float32 images in 0..1 to (n, 10) float32 probabilities.
    """
    path = Path(path)
    if path.suffix not in RUNNERS:
        raise ModelError(f"{path}: unknown model format {path.suffix!r}; use one of "
                         f"{sorted(RUNNERS)} (see `digitlab.serve.export`).")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found. Export it with notebook 07 or "
                         "`digitlab.serve.export.export_model()`, or pass an existing file.")
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


def predict_in_batches(runner: Runner, images: np.ndarray, batch_size: int = BATCH_SIZE
                       ) -> np.ndarray:
    """Probabilities for many images, `batch_size` at a time. Returns (n, 10) float32."""
    parts = [runner(images[start:start + batch_size])
             for start in range(0, len(images), batch_size)]
    return np.concatenate(parts)


def single_image_function(model) -> Callable | None:
    """The model compiled by XLA for exactly one image, or None where XLA is unavailable.

    One image at a time (the app, the CLI) is bound by TensorFlow's per-operation dispatch, not
    by arithmetic: between preprocessing steps the XLA-compiled call took about 2 ms on a 2-core
    CPU, `predict_on_batch` 3 to 5 ms.
    """
    import tensorflow as tf

    function = tf.function(lambda batch: model(batch, training=False), jit_compile=True,
                           input_signature=[tf.TensorSpec((1, 28, 28, 1), tf.float32)])
    try:
        function(np.zeros((1, 28, 28, 1), np.float32))  # compile now, not on the first image
    except Exception:  # no XLA for this platform or device: the plain graph still works
        return None
    return function
