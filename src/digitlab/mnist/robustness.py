"""Robustness: how accuracy falls as test digits are rotated, shifted, blurred and noised.

Every transform takes scaled images, (n, 28, 28, 1) float32 in 0..1 (see
`digitlab.mnist.pipeline.scale_images`), and returns the same shape; level 0 returns the images
unchanged.
"""

from collections.abc import Callable, Mapping

import keras
import numpy as np
import pandas as pd
from scipy import ndimage

from digitlab.mnist.evaluate import predict_proba
from digitlab.mnist.pipeline import model_input


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate every image counter-clockwise about its centre; corners fill with background."""
    images = model_input(images)
    if degrees == 0:
        return images.copy()
    rotated = ndimage.rotate(images, degrees, axes=(2, 1), reshape=False, order=1,
                             mode="constant", cval=0.0)
    return np.clip(rotated, 0.0, 1.0).astype(np.float32)


def shift(images: np.ndarray, pixels: float) -> np.ndarray:
    """Move every digit right and down by `pixels` each way; pixels pushed out are lost."""
    images = model_input(images)
    if pixels == 0:
        return images.copy()
    moved = ndimage.shift(images, (0, pixels, pixels, 0), order=1, mode="constant", cval=0.0)
    return np.clip(moved, 0.0, 1.0).astype(np.float32)


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation `sigma` pixels (thick, soft strokes)."""
    images = model_input(images)
    if sigma == 0:
        return images.copy()
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0)).astype(np.float32)


def noise(images: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise of standard deviation `std` to every pixel, clipped to 0..1."""
    images = model_input(images)
    if std == 0:
        return images.copy()
    rng = np.random.default_rng(seed)
    noisy = images + rng.normal(0.0, std, size=images.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0)


TRANSFORMS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "rotate": rotate, "shift": shift, "blur": blur, "noise": noise,
}
# Units shown on each curve's x-axis.
UNITS = {"rotate": "degrees", "shift": "pixels right and down", "blur": "Gaussian sigma (pixels)",
         "noise": "noise standard deviation"}
LEVELS = {
    "rotate": (0, 10, 20, 30, 45, 60, 90),
    "shift": (0, 1, 2, 3, 4, 5, 6),
    "blur": (0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0),
    "noise": (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
}
QUICK_LEVELS = {name: (levels[0], levels[2], levels[4]) for name, levels in LEVELS.items()}


def transform(name: str, images: np.ndarray, level: float) -> np.ndarray:
    """Apply the transform called `name` ("rotate", "shift", "blur" or "noise")."""
    if name not in TRANSFORMS:
        raise ValueError(f"Unknown transform {name!r}; choose one of {sorted(TRANSFORMS)}.")
    return TRANSFORMS[name](images, level)


def sweep(models: dict[str, keras.Model], images: np.ndarray, labels: np.ndarray,
          levels: Mapping[str, tuple[float, ...]] = LEVELS) -> pd.DataFrame:
    """Accuracy of every model on every transform at every level.

    Args:
        images: (n, 28, 28) uint8 or scaled float test images.
        levels: transform name -> the levels to try, 0 (unchanged) first.

    Returns:
        Long table with columns transform, level, model, accuracy.
    """
    labels = np.asarray(labels).astype(int)
    rows = []
    for name, name_levels in levels.items():
        for level in name_levels:
            changed = transform(name, images, level)
            for model_name, model in models.items():
                predicted = predict_proba(model, changed).argmax(axis=1)
                rows.append({"transform": name, "level": float(level), "model": model_name,
                             "accuracy": float((predicted == labels).mean())})
    return pd.DataFrame(rows)
