"""Train on every accelerator there is: one replica of the model per device.

With more than one GPU (or a CPU split into logical devices, as the tests do) models are built
and compiled under one `tf.distribute.MirroredStrategy`: each batch is split across the
replicas and their gradients summed. With one device TensorFlow's default strategy changes
nothing, so the same code runs everywhere.
"""

import functools

import tensorflow as tf


def training_devices() -> list[str]:
    """The devices a run spreads over: every GPU, or else every logical CPU device."""
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return [device.name for device in devices]


@functools.cache
def strategy() -> tf.distribute.Strategy:
    """The process's one distribution strategy (a model must be built and compiled under the
    same one): mirrored over `training_devices()` when there are several."""
    devices = training_devices()
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()
