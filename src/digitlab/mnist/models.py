"""Model builders (MLP, CNN), the training-only augmentation, and safe model loading.

Every model takes `(batch, 28, 28, 1)` float32 images scaled to 0..1 (white digit on
black, as in MNIST) and returns ten softmax probabilities.
"""

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers

from digitlab.errors import ModelError
from digitlab.mnist.data import INPUT_SHAPE, NUM_CLASSES


@dataclass(frozen=True)
class MLPConfig:
    """A multilayer perceptron: flattened 784 pixels -> dense ReLU layers -> softmax."""

    hidden_units: tuple[int, ...] = (1024, 1024)
    dropout: float = 0.3


@dataclass(frozen=True)
class CNNConfig:
    """A convolutional network: blocks of conv + batch norm, downsampled by strided convs."""

    filters: tuple[int, ...] = (32, 64, 128)  # one block per entry; all but the last halve the size
    convs_per_block: tuple[int, ...] = (2, 2, 1)
    dense_units: int = 128
    dropout: float = 0.25
    batchnorm_momentum: float = 0.99  # lower tracks the statistics sooner in very short runs


def build_mlp(config: MLPConfig = MLPConfig(), name: str = "mlp") -> keras.Model:
    """Build an uncompiled MLP."""
    inputs = keras.Input(shape=INPUT_SHAPE)
    x = layers.Flatten()(inputs)
    for units in config.hidden_units:
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def conv_bn(x, filters: int, strides: int = 1, momentum: float = 0.99):
    """3x3 convolution, batch normalisation, ReLU: the unit every CNN block is made of."""
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    return layers.Activation("relu")(x)


def build_cnn(config: CNNConfig = CNNConfig(), name: str = "cnn") -> keras.Model:
    """Build an uncompiled CNN: 28x28 -> 14x14 -> 7x7 feature maps, then a dense head."""
    inputs = keras.Input(shape=INPUT_SHAPE)
    x = inputs
    if len(config.convs_per_block) != len(config.filters):
        raise ValueError("CNNConfig needs one convs_per_block entry per filters entry, got "
                         f"{config.convs_per_block} for {config.filters}.")
    blocks = zip(config.filters, config.convs_per_block, strict=True)
    for block, (filters, convs) in enumerate(blocks):
        for _ in range(convs - 1):
            x = conv_bn(x, filters, momentum=config.batchnorm_momentum)
        last_block = block == len(config.filters) - 1
        # Strided convolution instead of pooling: it learns how to downsample.
        x = conv_bn(x, filters, 1 if last_block else 2, config.batchnorm_momentum)
    x = layers.Flatten()(x)
    x = layers.Dropout(config.dropout)(x)
    x = layers.Dense(config.dense_units, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=config.batchnorm_momentum)(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def build_keras_io_convnet(name: str = "keras_io_convnet") -> keras.Model:
    """The keras-io "Simple MNIST convnet", exactly as published (the speed reference)."""
    inputs = keras.Input(shape=INPUT_SHAPE)
    x = layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


BUILDERS: dict[str, Callable[..., keras.Model]] = {"mlp": build_mlp, "cnn": build_cnn}


def build_model(kind: str, config=None, name: str | None = None) -> keras.Model:
    """Build a model by kind ("mlp" or "cnn") with its config (default if None)."""
    if kind not in BUILDERS:
        raise ValueError(f"Unknown model kind {kind!r}; choose one of {sorted(BUILDERS)}.")
    if config is None:
        return BUILDERS[kind](name=name or kind)
    return BUILDERS[kind](config, name=name or kind)


def read_keras_file(path: str | Path) -> keras.Model:
    """Load any .keras archive with `safe_mode=True`, uncompiled, or raise ModelError naming the
    file (what it takes and returns is for the caller to check)."""
    path = Path(path)
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras 3 model file (a .keras zip archive). "
                         "It may be truncated, or another format.")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise ModelError(f"{path}: cannot be loaded as a Keras model ({error}).") from error


def load_model(path: str | Path) -> keras.Model:
    """Load a saved digitlab model with `safe_mode=True`, or raise ModelError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found. Train it with notebooks 03/04 "
                         "(or `make all`), or pass the path of an existing .keras file.")
    model = read_keras_file(path)
    if tuple(model.input_shape[1:]) != INPUT_SHAPE or model.output_shape[-1] != NUM_CLASSES:
        raise ModelError(f"{path}: takes {model.input_shape} and returns {model.output_shape}; "
                         f"a digitlab model takes (None, 28, 28, 1) and returns (None, 10).")
    return model
