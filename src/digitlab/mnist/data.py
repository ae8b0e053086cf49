"""MNIST: find, download, verify and load the four original IDX files."""

import gzip
import hashlib
import os
import shutil
import struct
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digitlab.atomic import write_atomically
from digitlab.config import MNIST_CACHE_DIR, MNIST_DIR_ENV
from digitlab.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

INPUT_SHAPE = (28, 28, 1)  # what every model takes: one channel, 28x28, 0..1
NUM_CLASSES = 10
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


@dataclass(frozen=True)
class IdxFile:
    """What one gzip-compressed IDX file must hold."""

    name: str
    magic: int
    shape: tuple[int, ...]
    sha256: str  # of the decompressed content: re-compressing a file does not change it


MNIST_FILES = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte.gz", IMAGES_MAGIC, (60000, 28, 28),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train_labels": IdxFile(
        "train-labels-idx1-ubyte.gz", LABELS_MAGIC, (60000,),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "test_images": IdxFile(
        "t10k-images-idx3-ubyte.gz", IMAGES_MAGIC, (10000, 28, 28),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "test_labels": IdxFile(
        "t10k-labels-idx1-ubyte.gz", LABELS_MAGIC, (10000,),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}

# Hosts that mirror the original files byte for byte; tried in order.
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)


def parse_idx(raw: bytes, spec: IdxFile, path: Path) -> np.ndarray:
    """Check an IDX file's header, size and checksum and return its data.

    Args:
        raw: the decompressed file content.
        spec: what the file must hold.
        path: the file, named in error messages.

    Returns:
        A read-only uint8 array of shape `spec.shape`.
    """
    header_size = 4 + 4 * len(spec.shape)
    magic = struct.unpack(">i", raw[:4])[0] if len(raw) >= 4 else None
    if magic is not None and magic != spec.magic:
        raise DatasetError(f"{path}: IDX magic number is {magic}, expected {spec.magic}: "
                           f"this is not the MNIST file {spec.name}.")
    if len(raw) < header_size:
        raise DatasetError(f"{path}: only {len(raw)} bytes, too short for an IDX header. "
                           "The file is truncated; replace it with a fresh copy.")
    shape = struct.unpack(f">{len(spec.shape)}i", raw[4:header_size])
    if shape != spec.shape:
        raise DatasetError(f"{path}: header says shape {shape}, expected {spec.shape} "
                           f"for {spec.name}.")
    size = int(np.prod(spec.shape))
    if len(raw) - header_size != size:
        raise DatasetError(f"{path}: holds {len(raw) - header_size} data bytes, expected "
                           f"{size}. The file is truncated or padded; replace it.")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise DatasetError(f"{path}: SHA-256 of the content is {digest}, expected "
                           f"{spec.sha256}. The file is corrupt or not the original; replace it.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(spec.shape)


def read_idx(path: Path, spec: IdxFile) -> np.ndarray:
    """Read one gzip IDX file and verify it against `spec`."""
    path = Path(path)
    try:
        compressed = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found.") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error}).") from error
    try:
        raw = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: not a complete gzip file ({error}). It is truncated or "
                           "corrupt; replace it with a fresh copy.") from error
    return parse_idx(raw, spec, path)


def fetch(url: str, spec: IdxFile, path: Path, timeout: float) -> np.ndarray:
    """Download `url` to `path`, verified as `spec` before it is renamed into place."""
    arrays = []

    def write(partial: Path) -> None:
        print(f"Downloading {url}")
        with open(partial, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out)
        arrays.append(read_idx(partial, spec))

    write_atomically(path, write)
    return arrays[0]


def download(spec: IdxFile, cache_dir: Path, mirrors: tuple[str, ...] = MIRRORS,
             timeout: float = 30) -> np.ndarray:
    """Download one file into `cache_dir` from the first mirror that serves it intact.

    The file is written under a temporary name and renamed only once verified, so a
    failed or interrupted download leaves nothing behind.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + spec.name
        try:
            return fetch(url, spec, cache_dir / spec.name, timeout)
        except (OSError, urllib.error.URLError, DatasetError) as error:
            failures.append(f"  {url}: {error}")
    tried = "\n".join(failures) or "  (no mirrors given)"
    raise DatasetError(
        f"Could not obtain {spec.name}. Tried:\n{tried}\n"
        f"Offline? Put the four MNIST .gz files in a folder and set {MNIST_DIR_ENV}=/that/folder "
        "(or pass source_dir=... to load_mnist)."
    )


def load_file(spec: IdxFile, source_dir: Path | None = None, cache_dir: Path = MNIST_CACHE_DIR,
              mirrors: tuple[str, ...] = MIRRORS) -> np.ndarray:
    """Load one verified file: from `source_dir` if given, else the cache, else a mirror."""
    if source_dir is not None:
        path = Path(source_dir) / spec.name
        if not path.exists():
            raise DatasetError(f"{path}: file not found. The folder given as the MNIST source "
                               f"({MNIST_DIR_ENV} or source_dir) must hold all four .gz files.")
        return read_idx(path, spec)
    cached = Path(cache_dir) / spec.name
    if cached.exists():
        try:
            return read_idx(cached, spec)
        except DatasetError as error:
            print(f"Cached copy is unusable, downloading it again: {error}")
    return download(spec, cache_dir, mirrors)


def load_mnist(source_dir: str | Path | None = None, cache_dir: str | Path = MNIST_CACHE_DIR,
               mirrors: tuple[str, ...] = MIRRORS):
    """Load MNIST as `(x_train, y_train), (x_test, y_test)`.

    Sources, in order: `source_dir` or the DIGITLAB_MNIST_DIR folder (read only, never
    written); the cache `data/raw/mnist/`; a download from `mirrors` into the cache.

    Returns:
        x_train (60000, 28, 28) uint8, y_train (60000,) uint8,
        x_test (10000, 28, 28) uint8, y_test (10000,) uint8.
    """
    source = source_dir or os.environ.get(MNIST_DIR_ENV)
    arrays = {key: load_file(spec, Path(source) if source else None, Path(cache_dir), mirrors)
              for key, spec in MNIST_FILES.items()}
    return ((arrays["train_images"], arrays["train_labels"]),
            (arrays["test_images"], arrays["test_labels"]))


def split_summary(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
              y_test: np.ndarray) -> "pd.DataFrame":
    """One row per split: shapes, dtypes, pixel range and label range."""
    import pandas as pd

    rows = []
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        rows.append({"split": split, "images": str(images.shape), "dtype": str(images.dtype),
                     "pixel min": int(images.min()), "pixel max": int(images.max()),
                     "labels": str(labels.shape),
                     "label values": f"{labels.min()}..{labels.max()}"})
    return pd.DataFrame(rows).set_index("split")


def subsample(mnist, train_size: int, test_size: int, seed: int = 0):
    """A random, class-mixed subset of MNIST, for quick runs. Same structure as `load_mnist`."""
    (x_train, y_train), (x_test, y_test) = mnist
    rng = np.random.default_rng(seed)
    train = rng.permutation(len(x_train))[:train_size]
    test = rng.permutation(len(x_test))[:test_size]
    return (x_train[train], y_train[train]), (x_test[test], y_test[test])


def mnist_hashes() -> dict[str, str]:
    """The content SHA-256 of each MNIST file: `load_mnist` refuses any other content."""
    return {spec.name: spec.sha256 for spec in MNIST_FILES.values()}
