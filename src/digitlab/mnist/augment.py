"""The training-only augmentation: random rotation, shift, zoom, slant and stroke width.

Applied to training batches in the tf.data pipeline, never saved in a model.
"""

from dataclasses import dataclass

import keras
from keras import layers


@dataclass(frozen=True)
class AugmentConfig:
    """Random changes applied to training images only. No flips: a flipped 2 is no 2.

    The last three cover what people's own digits vary in and MNIST lacks (0 switches each off).
    """

    rotation_degrees: float = 10.0
    shift: float = 0.1  # fraction of the image size
    zoom: float = 0.1
    aspect: float = 0.0  # the width zoomed independently of the height by up to this fraction
    shear: float = 0.0  # slant: horizontal shear of up to this fraction
    stroke: float = 0.0  # stroke width: up to this share of a 3x3 dilation (bolder) or erosion



class RandomPerImage(layers.Layer):
    """A random change of strength up to `factor` (0 = none), drawn for each image of a batch.

    Used in the training pipeline only, never saved in a model.
    """

    def __init__(self, factor: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training: bool = True):
        if not training or self.factor <= 0:
            return images
        amount = keras.random.uniform((keras.ops.shape(images)[0], 1), -self.factor,
                                      self.factor, seed=self.seed_generator)
        return self.change(images, amount)

    def change(self, images, amount):
        """Apply the change: `amount` is (batch, 1), uniform in [-factor, factor]."""
        raise NotImplementedError


class RandomStrokeWidth(RandomPerImage):
    """Make each image's strokes bolder or thinner by a random share of a 3x3 grey dilation or
    erosion: MNIST's strokes are all about 3 pixels wide, people's pens are not."""

    def change(self, images, amount):
        share = keras.ops.reshape(amount, (-1, 1, 1, 1))
        bolder = keras.ops.max_pool(images, 3, strides=1, padding="same")
        thinner = -keras.ops.max_pool(-images, 3, strides=1, padding="same")
        target = keras.ops.where(share > 0, bolder, thinner)
        return images + keras.ops.abs(share) * (target - images)


class RandomSlant(RandomPerImage):
    """Slant each image by a random horizontal shear about its centre, up to `factor` (0.2 moves
    the top and bottom rows 2.8 pixels each way): handwriting leans, MNIST's less than people's.

    Keras' own `RandomShear` (and `RandomElasticTransform`) returned other images of the batch
    when run inside tf.data (Keras 3.15), so this one builds the affine transform itself.
    """

    def change(self, images, amount):
        centre = (keras.ops.cast(keras.ops.shape(images)[1], "float32") - 1) / 2
        ones, zeros = keras.ops.ones_like(amount), keras.ops.zeros_like(amount)
        # Output pixel (x, y) samples the input at (x + amount * (y - centre), y).
        transform = keras.ops.concatenate(
            [ones, amount, -amount * centre, zeros, ones, zeros, zeros, zeros], axis=1)
        return keras.ops.image.affine_transform(images, transform, fill_mode="constant")


def build_augmentation(config: AugmentConfig = AugmentConfig(), seed: int = 0) -> keras.Sequential:
    """Random rotation, shift, zoom (and aspect, slant, stroke width when `config` asks),
    filling uncovered pixels with background (0)."""
    steps = [
        layers.RandomRotation(config.rotation_degrees / 360, fill_mode="constant", seed=seed),
        layers.RandomTranslation(config.shift, config.shift, fill_mode="constant", seed=seed + 1),
        layers.RandomZoom(config.zoom, config.zoom + config.aspect if config.aspect else None,
                          fill_mode="constant", seed=seed + 2),
    ]
    if config.shear:
        steps.append(RandomSlant(config.shear, seed=seed + 3))
    if config.stroke:
        steps.append(RandomStrokeWidth(config.stroke, seed=seed + 5))
    return keras.Sequential(steps, name="augmentation")
