"""Experiment: the numbers issue's second approach, a sequence model, against the number reader.

A small convolutional-recurrent network with CTC loss (three conv blocks, a bidirectional LSTM,
eleven outputs: CTC's blank and the ten digits) is trained on numbers of 1-12 digits composed
from MNIST *training* digits (`digitlab.numbers.synthetic.compose`, with blur, noise and
contrast), then reads the number lines `digitlab.numbers.layout` finds. Compared with the
segmentation reader (`digitlab.numbers.read`) on photographed numbers composed from MNIST
*validation* digits and on `../shared/real_numbers_dev`, and both combined (the segmentation
reader's answer when it is sure, else the sequence model's). An experiment, not shipped: its
results are in benchmarks/results/number_sequence_model.txt.

Run: .venv/bin/python benchmarks/number_sequence_model.py [TRAINING_NUMBERS [EPOCHS]]
(20,000 and 8 by default: about 30 minutes on a 2-core CPU).
"""

import csv
import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers
from PIL import Image
from scipy import ndimage

from digitlab.mnist.data import load_mnist
from digitlab.mnist.pipeline import split_validation
from digitlab.numbers import synthetic
from digitlab.numbers.layout import find_layout, ink_map
from digitlab.numbers.read import read_number
from digitlab.serve.predict import Predictor

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "real_numbers_dev"

H, W, T = 32, 256, 64  # input height and width; time steps (width / 4)
N_TRAIN = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 8


def line_image(ink):
    """An ink crop (0..1) as the network's input: height 32, width <= 256, left-aligned."""
    rows, cols = np.nonzero(ink > 0.1)
    if not len(rows):
        return np.zeros((H, W), np.float32)
    crop = ink[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    crop = np.pad(crop, 2)
    scale = (H - 4) / crop.shape[0]
    width = min(W - 4, max(1, round(crop.shape[1] * scale)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32)).resize((width, H - 4),
                                                                      Image.Resampling.BILINEAR))
    out = np.zeros((H, W), np.float32)
    out[2:H - 2, 2:2 + width] = small
    return np.clip(out / max(float(np.percentile(small, 99)), 1e-3), 0, 1)


def make_training(images, labels, count, rng):
    xs, ys = [], []
    for _ in range(count):
        length = int(rng.integers(1, 13))
        ink, label = synthetic.compose(images, labels, length, rng)
        if rng.random() < 0.5:
            ink = ndimage.gaussian_filter(ink, rng.uniform(0.3, 1.2))
        ink = ink * rng.uniform(0.5, 1.0) + rng.normal(0, rng.uniform(0, 0.08), ink.shape)
        xs.append(line_image(np.clip(ink, 0, 1)))
        ys.append([int(c) for c in label] + [-1] * (12 - len(label)))
    return np.stack(xs)[..., None], np.array(ys, np.int32)


def build():
    inputs = keras.Input((H, W, 1))
    x = inputs
    for filters, pool in ((32, (2, 2)), (64, (2, 2)), (128, (2, 1))):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(pool)(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)  # (4, 64, 128)
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((T, 4 * 128))(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    outputs = layers.Dense(11)(x)  # logits; class 0 is CTC's blank, digit d is d + 1
    return keras.Model(inputs, outputs)


def ctc(y_true, y_pred):
    y_true = keras.ops.cast(y_true, "int32")
    length = keras.ops.sum(keras.ops.cast(y_true >= 0, "int32"), axis=1)
    target = keras.ops.where(y_true >= 0, y_true + 1, 0)
    batch = keras.ops.shape(y_pred)[0]
    return keras.ops.ctc_loss(target, y_pred, length, keras.ops.full((batch,), T, "int32"))


def decode(model, x):
    logits = model.predict(x, batch_size=256, verbose=0)
    decoded, _ = keras.ops.ctc_decode(logits, np.full(len(x), T, np.int32))
    seqs = keras.ops.convert_to_numpy(decoded[0])
    return ["".join(str(v - 1) for v in row if v > 0) for row in seqs]


def read_crnn(model, source):
    ink, drawing = ink_map(source)
    numbers = find_layout(ink, drawing)
    crops = []
    for number in numbers:
        top, bottom = min(c.box[0] for c in number), max(c.box[1] for c in number)
        left, right = min(c.box[2] for c in number), max(c.box[3] for c in number)
        mask = np.zeros(ink.shape, bool)
        for candidate in number:
            box = candidate.box
            mask[box[0]: box[1], box[2]: box[3]] |= candidate.mask
        mask = ndimage.binary_dilation(mask, iterations=2)
        crops.append(line_image((ink * mask)[top:bottom, left:right]))
    if not crops:
        return ""
    return " ".join(decode(model, np.stack(crops)[..., None]))


def main() -> None:
    keras.utils.set_random_seed(0)
    (x_train, y_train), _ = load_mnist()
    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train, 5000, 42)
    start = time.time()
    x, y = make_training(x_fit, y_fit, N_TRAIN, np.random.default_rng(0))
    x_check, y_check = make_training(x_val, y_val, 1000, np.random.default_rng(1))
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ctc)
    model.fit(x, y, batch_size=64, epochs=EPOCHS, validation_data=(x_check, y_check),
              verbose=2)
    print(f"trained in {time.time() - start:.0f} s")
    predictor = Predictor("models/cnn.keras")
    made = synthetic.make_numbers(x_val, y_val, 300, seed=1)
    with open(SHARED / "manifest.csv", newline="") as handle:
        dev = [(SHARED / row["file"], row["label"]) for row in csv.DictReader(handle)]
    for name, items in (("numbers composed from MNIST validation digits", made),
                        ("real_numbers_dev", dev)):
        right = {"segmentation": 0, "sequence model": 0, "combined": 0}
        for picture, label in items:
            segmented = read_number(picture, predictor.classify, predictor.check.threshold)
            sequence = read_crnn(model, picture)
            right["segmentation"] += segmented.number == label
            right["sequence model"] += sequence == label
            right["combined"] += (segmented.number if segmented.sure else sequence) == label
        print(f"{name} ({len(items)}): " + ", ".join(
            f"{key} {count / len(items):.1%} exact" for key, count in right.items()))


if __name__ == "__main__":
    main()
