"""Turn images into what the models take: (n, 28, 28, 1) float32 in 0..1, white on black."""

import numpy as np


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
