"""Another set of real handwritten digits in MNIST's format, and its few-shot draws.

scikit-learn's copy of the UCI "optical recognition of handwritten digits" set: 1,797 digits
from 43 writers, 8x8 pixels, 17 grey levels; shipped with scikit-learn, so no download.
"""

import numpy as np
from PIL import Image

from digitlab.images.preprocess import fit_and_centre

RESAMPLING = {"box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR,
              "lanczos": Image.Resampling.LANCZOS}


def to_mnist_format(images: np.ndarray, resample: str = "bilinear") -> np.ndarray:
    """Grey digits (n, h, w), ink high, into MNIST's format: each fitted into 20x20 keeping its
    aspect ratio, centred by mass in 28x28, uint8 0..255, as MNIST itself was made."""
    images = np.asarray(images, np.float32)
    peak = max(float(images.max()), 1e-6)
    method = RESAMPLING[resample]
    framed = [fit_and_centre(image / peak, method) for image in images]
    return np.round(np.stack(framed) * 255).astype(np.uint8)


def sklearn_digits(resample: str = "bilinear") -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits in MNIST's format: (n, 28, 28) uint8, (n,) int.

    Shipped with scikit-learn, so no download. Upscaling 8x8 to 20x20 needs interpolation;
    `resample` names it ("box", "bilinear" or "lanczos"; notebook 08 compares them).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return to_mnist_format(digits.images, resample), digits.target.astype(np.int64)


def held_out_split(labels: np.ndarray, share: float = 0.4, seed: int = 0,
                   min_images: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices (pool, held_out): `share` of each digit held out for testing (at least one), the
    rest a pool to draw training (and validation) images from; a digit with fewer than
    `min_images` images is all pool. Fixed for a given seed."""
    rng = np.random.default_rng(seed)
    pool, held_out = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        cut = max(1, int(round(share * len(members)))) if len(members) >= min_images else 0
        held_out.append(members[:cut])
        pool.append(members[cut:])
    return (np.sort(np.concatenate(pool)).astype(int),
            np.sort(np.concatenate(held_out)).astype(int))


def few_shot(labels: np.ndarray, k: int | None, seed: int) -> np.ndarray:
    """Indices of k images of each digit present in `labels`, drawn at random (one draw per
    seed); None takes them all.

    Raises:
        ValueError: a digit has fewer than k images.
    """
    if k is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in np.unique(labels):
        members = np.flatnonzero(labels == digit)
        if len(members) < k:
            raise ValueError(f"Digit {digit} has {len(members)} images; cannot draw {k}.")
        chosen.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(chosen))
