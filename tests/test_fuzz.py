"""Fuzzing: damaged files and odd arrays give a result or an ImageError, never anything else.

A few thousand cases: mutated real files of every format (flipped bits, overwritten bytes,
truncations, inserted junk) and arbitrary NumPy arrays. Each case runs under an alarm, so a
hang fails the test instead of stalling the suite.
"""

import io
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from PIL import Image

from digitlab.errors import ImageError
from digitlab.images import handwriting
from digitlab.images.preprocess import Prepared, prepare

# A NumPy warning (overflow, NaN) inside the pipeline is a bug too.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

HANG_SECONDS = 10  # a case taking this long is a hang, not slowness


def sample_files() -> list[bytes]:
    """One small digit image in each format and mode the reader meets in practice."""
    mask = handwriting.draw_digit(4, "pen", 40, np.random.default_rng(0))
    gray = Image.fromarray(255 - np.asarray(mask))
    files = []
    for image, fmt, options in [
        (gray, "PNG", {}), (gray.convert("RGB"), "JPEG", {"quality": 80}),
        (gray.convert("RGBA"), "PNG", {}), (gray.convert("P"), "GIF", {}),
        (gray.convert("RGB"), "BMP", {}), (gray, "TIFF", {}),
        (gray.convert("RGB"), "WEBP", {"quality": 80}),
        (Image.fromarray(np.asarray(gray).astype(np.uint16) * 257), "PNG", {}),
        (gray.convert("CMYK"), "JPEG", {}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        files.append(buffer.getvalue())
    return files


FILES = sample_files()


@contextmanager
def no_hang(seconds: int = HANG_SECONDS):
    def fail(signum, frame):
        raise TimeoutError(f"a single image took over {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def only_image_errors(source) -> None:
    with no_hang():
        try:
            result = prepare(source)
        except ImageError:
            return
    assert isinstance(result, Prepared)
    assert result.model_input is None or (result.model_input.shape == (28, 28)
                                          and np.all(np.isfinite(result.model_input)))


@st.composite
def mutated_files(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(FILES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[position] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[position: position + draw(st.integers(1, 64))]
    return bytes(data)


FUZZ = settings(max_examples=2000, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(mutated_files())
def test_mutated_files_raise_only_image_error(data):
    only_image_errors(data)


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(npst.arrays(
    dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.float64, np.bool_]),
    shape=st.one_of(npst.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=80),
                    st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 5)),
                    npst.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6))))
def test_arbitrary_arrays_raise_only_image_error(array):
    only_image_errors(array)


@pytest.mark.parametrize("index", range(len(FILES)))
def test_every_truncation_point_of_each_format_is_handled(index):
    data = FILES[index]
    for end in np.linspace(0, len(data) - 1, 40).astype(int):
        only_image_errors(data[:end])
