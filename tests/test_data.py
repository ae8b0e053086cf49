import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from idx_files import idx_bytes, small_images, small_labels

from digitlab.errors import DatasetError
from digitlab.mnist.data import IMAGES_MAGIC, MNIST_FILES, load_mnist, read_idx, split_summary

# Published label counts of MNIST (train, test).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_load_mnist_returns_the_real_dataset(mnist_dir, tmp_path):
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir, cache_dir=tmp_path, mirrors=())
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.dtype == np.uint8 and y_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert x_train.min() == 0 and x_train.max() == 255
    assert list(tmp_path.iterdir()) == []  # a source folder is read, nothing is cached


def test_summary_has_one_row_per_split(mnist_dir):
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir, mirrors=())
    table = split_summary(x_train, y_train, x_test, y_test)
    assert table.loc["train", "images"] == "(60000, 28, 28)"
    assert table.loc["test", "label values"] == "0..9"


@pytest.fixture
def mnist_copy(mnist_dir, tmp_path) -> Path:
    """A writable copy of the four MNIST files."""
    copy = tmp_path / "mnist"
    shutil.copytree(mnist_dir, copy)
    for path in copy.iterdir():
        path.chmod(0o644)
    return copy


@pytest.mark.parametrize("key", ["train_labels", "test_images"])
def test_one_corrupt_byte_is_rejected_naming_the_file(mnist_copy, key):
    path = mnist_copy / MNIST_FILES[key].name
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(DatasetError, match=str(path)):
        load_mnist(mnist_copy, mirrors=())


def test_truncated_file_is_rejected_naming_the_file(mnist_copy):
    path = mnist_copy / MNIST_FILES["test_labels"].name
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=f"{path}.*truncated"):
        load_mnist(mnist_copy, mirrors=())


def test_missing_file_in_source_folder_is_named(mnist_copy):
    path = mnist_copy / MNIST_FILES["train_images"].name
    path.unlink()
    with pytest.raises(DatasetError, match=f"{path}: file not found"):
        load_mnist(mnist_copy, mirrors=())


def test_valid_small_file_loads(tmp_path):
    content, spec = small_images()
    (tmp_path / spec.name).write_bytes(content)
    assert read_idx(tmp_path / spec.name, spec).shape == (5, 28, 28)


def test_wrong_magic_is_rejected(tmp_path):
    content, spec = small_labels()
    path = tmp_path / spec.name
    path.write_bytes(content)
    images_spec = type(spec)(spec.name, IMAGES_MAGIC, (5, 28, 28), spec.sha256)
    with pytest.raises(DatasetError, match="magic number is 2049, expected 2051"):
        read_idx(path, images_spec)


def test_wrong_count_is_rejected(tmp_path):
    content, spec = small_labels(count=5)
    path = tmp_path / spec.name
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=r"shape \(5,\), expected \(6,\)"):
        read_idx(path, type(spec)(spec.name, spec.magic, (6,), spec.sha256))


def test_missing_data_bytes_are_rejected(tmp_path):
    content, spec = small_images()
    path = tmp_path / spec.name
    path.write_bytes(gzip.compress(gzip.decompress(content)[:-28]))
    with pytest.raises(DatasetError, match="truncated or padded"):
        read_idx(path, spec)


def test_checksum_mismatch_is_rejected(tmp_path):
    content, spec = small_labels()
    raw = bytearray(gzip.decompress(content))
    raw[-1] = (raw[-1] + 1) % 10  # a valid-looking label, but not the original
    path = tmp_path / spec.name
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DatasetError, match="SHA-256"):
        read_idx(path, spec)


def test_not_gzip_is_rejected(tmp_path):
    _, spec = small_labels()
    path = tmp_path / spec.name
    path.write_bytes(idx_bytes(np.zeros(5, np.uint8), 2049))  # uncompressed
    with pytest.raises(DatasetError, match="not a complete gzip file"):
        read_idx(path, spec)


def test_empty_file_is_rejected(tmp_path):
    _, spec = small_labels()
    path = tmp_path / spec.name
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(DatasetError, match="too short"):
        read_idx(path, spec)
