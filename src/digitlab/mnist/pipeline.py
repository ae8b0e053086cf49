"""MNIST arrays as the models take them: scaled images, a validation split, tf.data pipelines."""

import os

import keras
import numpy as np
import tensorflow as tf


def scale_images(images: np.ndarray) -> np.ndarray:
    """Scale uint8 MNIST-style images to the model input.

    Args:
        images: (n, 28, 28) or (n, 28, 28, 1), uint8 in 0..255.

    Returns:
        (n, 28, 28, 1) float32 in 0..1.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"Expected images of shape (n, 28, 28) or (n, 28, 28, 1), "
                         f"got {images.shape}.")
    return images.astype(np.float32) / 255.0


def model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images go through `scale_images`; float images must already be (n, 28, 28, 1)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return scale_images(images)
    if images.shape[1:] not in {(28, 28), (28, 28, 1)}:
        raise ValueError(f"Expected images of shape (n, 28, 28) or (n, 28, 28, 1), "
                         f"got {images.shape}.")
    return images.reshape(-1, 28, 28, 1).astype(np.float32)


def split_validation(images: np.ndarray, labels: np.ndarray, size: int, seed: int):
    """Split off `size` random training images for validation, the same ones for a given seed.

    Returns:
        (train_images, train_labels), (val_images, val_labels)
    """
    if not 0 < size < len(images):
        raise ValueError(f"validation_size must be between 1 and {len(images) - 1}, got {size}.")
    order = np.random.default_rng(seed).permutation(len(images))
    val, train = order[:size], order[size:]
    return (images[train], labels[train]), (images[val], labels[val])


PARALLEL_CALLS = os.cpu_count() or 1  # batches prepared at once (tf.data autotuning is off)


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, training: bool,
                 augmentation: keras.Layer | None = None, seed: int = 0,
                 epoch: tf.Variable | None = None,
                 epochs: range | None = None) -> tf.data.Dataset:
    """A tf.data pipeline of (images scaled to 0..1, labels); shuffled and augmented if training.

    Args:
        images: (n, 28, 28) uint8.
        labels: (n,) integer digits.
        epoch: when given, each epoch's order is drawn from (seed, the variable's value at the
            epoch's start) alone (`EpochCounter` sets it), so a resumed run sees the orders an
            uninterrupted one would; without it, tf.data reshuffles on every pass.
        epochs: instead of `epoch`, the numbers of the epochs to serve one after another from
            one pipeline, in the same orders (fit it with `steps_per_epoch`). Starting a
            pipeline costs about 0.05 s, a tenth of a short fine-tuning epoch; but it prepares
            batches ahead, into the next epoch, so a run that saves its state after each epoch
            needs a pipeline per epoch.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"Expected images of shape (n, 28, 28), got {images.shape}.")
    images = tf.constant(images.astype(np.uint8)[..., np.newaxis])
    labels = tf.constant(np.asarray(labels, np.int32))
    count = len(images)

    def order(number):  # the epoch's order of the image indices
        return tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), number]))

    # Shuffle indices, not images: refilling a shuffle buffer of 55,000 images stalled the start
    # of an epoch by up to 20 s on a 2-core CPU.
    if training and epochs is not None:
        dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(epochs), tf.int64)).flat_map(
            lambda number: tf.data.Dataset.from_tensor_slices(order(number)).batch(batch_size))
        # Said outright: Keras warns "input ran out of data" on a dataset of unknown length.
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(
            len(epochs) * -(-count // batch_size)))
    else:
        indices = tf.data.Dataset.range(count)
        if training and epoch is None:
            indices = indices.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        elif training and epoch is not None:
            counter: tf.Variable = epoch  # read when the pipeline starts an epoch
            indices = tf.data.Dataset.from_tensors(count).map(
                lambda _: order(counter.value())).unbatch()
            indices = indices.apply(tf.data.experimental.assert_cardinality(count))
        dataset = indices.batch(batch_size)
    dataset = dataset.map(
        lambda index: (tf.cast(tf.gather(images, index), tf.float32) / 255.0,
                       tf.gather(labels, index)), num_parallel_calls=PARALLEL_CALLS)
    if training and augmentation is not None:
        dataset = dataset.map(lambda x, y: (augmentation(x, training=True), y),
                              num_parallel_calls=PARALLEL_CALLS)
    # No tf.data autotuning: ending an epoch waits for its tuning thread to wake, which left the
    # whole process idle for up to 30 s per epoch (seen with gdb on a 2-core CPU).
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)
