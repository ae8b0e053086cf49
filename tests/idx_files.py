"""Small IDX files made by the tests, and the specs that describe them."""

import gzip
import hashlib
import struct

import numpy as np

from digitlab.mnist.data import IMAGES_MAGIC, LABELS_MAGIC, IdxFile


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """The decompressed IDX content for a uint8 array."""
    header = struct.pack(f">i{array.ndim}i", magic, *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def small_images(name: str = "tiny-images-idx3-ubyte.gz", count: int = 5) -> tuple[bytes, IdxFile]:
    """A gzip IDX file of `count` random 28x28 images and the spec it satisfies."""
    images = np.random.default_rng(0).integers(0, 256, (count, 28, 28), dtype=np.uint8)
    raw = idx_bytes(images, IMAGES_MAGIC)
    spec = IdxFile(name, IMAGES_MAGIC, images.shape, hashlib.sha256(raw).hexdigest())
    return gzip.compress(raw), spec


def small_labels(name: str = "tiny-labels-idx1-ubyte.gz", count: int = 5) -> tuple[bytes, IdxFile]:
    """A gzip IDX file of `count` labels and the spec it satisfies."""
    labels = (np.arange(count) % 10).astype(np.uint8)
    raw = idx_bytes(labels, LABELS_MAGIC)
    spec = IdxFile(name, LABELS_MAGIC, labels.shape, hashlib.sha256(raw).hexdigest())
    return gzip.compress(raw), spec
