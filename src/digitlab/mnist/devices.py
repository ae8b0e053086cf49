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


def check_built_under_strategy(model) -> None:
    """Raise ValueError unless `model`'s weights were made under `strategy()` (they must be,
    for it to train on several devices; with one device any model passes)."""
    current = strategy()
    if current.num_replicas_in_sync > 1 and not all(
            current.extended.variable_created_in_scope(weight.value) for weight in model.weights):
        raise ValueError(
            f"{model.name} was built outside the distribution strategy, so it cannot train on "
            f"the {current.num_replicas_in_sync} devices here: build it inside "
            "`with digitlab.mnist.devices.strategy().scope():` (as `recipes.run` does).")
