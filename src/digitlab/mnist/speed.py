"""How fast a model answers: one image at a time (latency) and in batches (throughput).

Timings are medians in this process: compare them as ratios between models measured in the
same run, not across machines.
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

SPEED_BATCH_SIZE = 256  # images per model.predict batch when measuring throughput


def latency_ms(call: Callable[[np.ndarray], object], images: np.ndarray, repeats: int = 200,
               warmup: int = 20) -> float:
    """Median wall time of `call` on a batch of one image, in milliseconds.

    Args:
        call: a model or runner taking (1, 28, 28, 1) float32.
        images: (n, 28, 28, 1) float32; the calls cycle through them.
    """
    def one(index: int) -> np.ndarray:
        return images[index % len(images)][np.newaxis]

    for index in range(warmup):
        call(one(index))
    seconds = []
    for index in range(repeats):
        batch = one(index)
        start = time.perf_counter()
        call(batch)
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds) * 1000)


def measure_speed(model: "keras.Model", images: np.ndarray, batch_size: int = SPEED_BATCH_SIZE,
                  single_calls: int = 50, warmup: int = 5) -> dict:
    """Single-image latency and batch throughput of `model` on this machine.

    Latency calls the model directly, `model(x, training=False)`, on one image at a time, as an
    app answering one request would; throughput runs `model.predict` over all `images`.

    Returns:
        latency_ms (median of `single_calls`), throughput_per_s (images/s, best of three runs),
        batch_size, images.
    """
    import keras  # here, not above: the README's tables need SPEED_BATCH_SIZE, not Keras

    from digitlab.mnist.pipeline import model_input

    x = model_input(images)
    latency = latency_ms(lambda one: keras.ops.convert_to_numpy(model(one, training=False)),
                         x, single_calls, warmup)
    model.predict(x[:batch_size], batch_size=batch_size, verbose=0)  # builds the predict function
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        model.predict(x, batch_size=batch_size, verbose=0)
        runs.append(time.perf_counter() - start)
    return {"latency_ms": latency, "throughput_per_s": float(len(x) / min(runs)),
            "batch_size": batch_size, "images": len(x)}
