"""Touching digits read whole: a small network that reads a piece of ink as one digit or as two
digits written into each other (110 classes: the digits 0-9, then the pairs 00 to 99).

Cutting touching digits apart leaves a part of one in the other: a 1 leaning into a 6 reads,
uncut, as a 6; an 8 and a 9 overlapping, cut, as an 8 and a 7. The number reader
(`digitlab.numbers.read`) asks this network about every candidate wide enough to be two
digits, and takes its reading where it is sure. It is trained on MNIST *training* digits set
side by side touching or overlapping (`numbers.synthetic.compose`), prepared as the reader
prepares a candidate, and scored on pairs of MNIST validation digits.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digitlab import config
from digitlab.errors import ModelError
from digitlab.images.preprocess import (
    BOX_SIZE,
    FRAME_SIZE,
    digit_ink,
    ink_crop,
    normalise_strokes,
    scaled,
)
from digitlab.images.segment import INK_SHARE
from digitlab.numbers.synthetic import compose

NAME = "touching"
FRAME = (FRAME_SIZE, 2 * FRAME_SIZE)  # rows, columns: room for two digits side by side
CLASSES = 10 + 100  # one digit d is class d; two digits a, b are class 10 + 10a + b
GAPS = (-0.3, 0.1)  # digit heights between the two: touching, overlapping, or just apart
ONE_DIGIT_SHARE = 0.2  # of the training pictures, one digit alone (a wide 0, a bold 8)
TRAIN_COUNT = 60_000
VALIDATION_COUNT = 5_000
EPOCHS = 5
BATCH_SIZE = 128
SEED = 42


def frame(strokes: np.ndarray) -> np.ndarray:
    """Prepared ink (`normalise_strokes`) fitted into FRAME: BOX_SIZE rows high (as MNIST fits a
    digit) unless too wide, centred."""
    crop = ink_crop(strokes)
    box = scaled(crop, min(BOX_SIZE / crop.shape[0], (FRAME[1] - 4) / crop.shape[1]))
    framed = np.zeros(FRAME, np.float32)
    top, left = (FRAME[0] - box.shape[0]) // 2, (FRAME[1] - box.shape[1]) // 2
    framed[top: top + box.shape[0], left: left + box.shape[1]] = box
    return np.clip(framed, 0.0, 1.0)


def network_input(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The ink under `mask` (both the picture's size) as the network's input: prepared as
    `read.model_input` prepares a candidate, then framed."""
    return frame(normalise_strokes(digit_ink(ink, mask)))


def digits_of(class_: int) -> list[int]:
    """A class as the digits it stands for."""
    return [class_] if class_ < 10 else [(class_ - 10) // 10, (class_ - 10) % 10]


def pictures(images: np.ndarray, labels: np.ndarray, count: int, seed: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """`count` network inputs of one digit or two touching ones from MNIST (images, labels),
    and their classes."""
    rng = np.random.default_rng(seed)
    inputs, classes = np.empty((count, *FRAME), np.float32), np.empty(count, np.int64)
    for index in range(count):
        length = 1 if rng.random() < ONE_DIGIT_SHARE else 2
        ink, digits = compose(images, labels, length, rng, GAPS, marks=False)
        inputs[index] = network_input(ink, ink > INK_SHARE * ink.max())
        classes[index] = int(digits) if length == 1 else 10 + int(digits)
    return inputs, classes


def build():
    """Three convolution blocks and a dense layer."""
    import keras
    from keras import layers

    inputs = keras.Input((*FRAME, 1))
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    x = layers.Dropout(0.3)(layers.Dense(256, activation="relu")(x))
    return keras.Model(inputs, layers.Dense(CLASSES, activation="softmax")(x), name=NAME)


def train(mnist, quick: bool = False, out_dir: Path | None = None) -> dict:
    """Train the network on MNIST training digits, score it on validation digits, save
    `touching.keras` and its record `touching.json` in `out_dir` (default: models/).

    Args:
        mnist: `load_mnist`'s ((x_train, y_train), (x_test, y_test)); the test digits unused.
    """
    import keras

    from digitlab.atomic import write_text_atomically
    from digitlab.mnist.pipeline import split_validation
    from digitlab.mnist.recipes import CNN
    from digitlab.mnist.runfiles import save_in, without_optimizer
    from digitlab.provenance import file_sha256

    start = time.perf_counter()
    (x_train, y_train), _ = mnist
    # The digit recipes' validation split: the same images choose and score everywhere.
    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train,
                                                      CNN.train.validation_size, CNN.train.seed)
    scale = 0.02 if quick else 1.0
    fit = pictures(x_fit, y_fit, int(TRAIN_COUNT * scale), SEED)
    checked = pictures(x_val, y_val, int(VALIDATION_COUNT * scale), SEED + 1)
    epochs = 1 if quick else EPOCHS
    keras.utils.set_random_seed(SEED)
    model = build()
    steps = epochs * -(-len(fit[1]) // BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=2e-3, warmup_steps=max(1, steps // 10))
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(fit[0][..., np.newaxis], fit[1], batch_size=BATCH_SIZE, epochs=epochs, verbose=2)
    answers = np.argmax(model.predict(checked[0][..., np.newaxis], verbose=0), axis=1)
    right, two = answers == checked[1], checked[1] >= 10
    path = save_in(without_optimizer(model), out_dir, NAME)  # a third of the size
    record = {
        "model": path.name, "model_sha256": file_sha256(path),
        "validation_accuracy": {"one digit": round(float(right[~two].mean()), 4),
                                "two digits": round(float(right[two].mean()), 4),
                                "pictures": len(right)},
        "training_pictures": len(fit[1]), "epochs": epochs, "quick": quick,
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_text_atomically(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    return record


def default_path() -> Path | None:
    """This run's `models/touching.keras`, else the committed one, else None."""
    return config.saved_model(f"{NAME}.keras")


def load(path: str | Path | None = None) -> Callable[[np.ndarray], np.ndarray] | None:
    """The network as a function of (n, 28, 56) inputs to (n, 110) probabilities, or None when
    there is none (the reader then cuts touching digits alone). Raises ModelError for a file
    that is not this network."""
    from digitlab.mnist.models import read_keras_file

    found = Path(path) if path else default_path()
    if found is None:
        return None
    model = read_keras_file(found)
    if tuple(model.input_shape[1:]) != (*FRAME, 1) or model.output_shape[-1] != CLASSES:
        raise ModelError(f"{found}: takes {model.input_shape} and returns "
                         f"{model.output_shape}, not the touching-digits network's "
                         f"(None, {FRAME[0]}, {FRAME[1]}, 1) -> (None, {CLASSES}).")
    import tensorflow as tf

    # Traced once for any number of candidates: `predict_on_batch` traced again for new counts
    # (60 composed numbers read in 8.1 s with it, 7.2 s with this, beside other work).
    function = tf.function(lambda batch: model(batch, training=False),
                           input_signature=[tf.TensorSpec((None, *FRAME, 1), tf.float32)])
    return lambda inputs: function(inputs[..., np.newaxis].astype(np.float32)).numpy()
