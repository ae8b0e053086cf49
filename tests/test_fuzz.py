"""Fuzzing: damaged files and odd arrays give a result or an ImageError, never anything else.

A few thousand cases: mutated real files of every format (flipped bits, overwritten bytes,
truncations, inserted junk) and arbitrary NumPy arrays. Each case runs under an alarm, so a
hang fails the test instead of stalling the suite. An alarm cannot stop a hang inside Pillow's
or NumPy's C code, and these cases never go through `python -m digitlab predict`'s reading of
paths: a few hundred damaged files also go through the command itself, in a process that a
timeout kills.
"""

import io
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

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


def sample_files() -> list[tuple[str, bytes]]:
    """One small digit image in each format and mode the reader meets in practice, with the
    format's file suffix."""
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
        files.append((f".{fmt.lower()}", buffer.getvalue()))
    return files


SAMPLES = sample_files()
FILES = [data for _, data in SAMPLES]


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


def mutate(data: bytes, integer: Callable[[int, int], int]) -> bytes:
    """`data` with one to six edits: flipped bits, overwritten bytes, truncations, inserted junk,
    deletions. `integer(low, high)` makes each choice (both ends included): Hypothesis' draws,
    or a seeded generator's where one process must get many files at once."""
    data = bytearray(data)
    for _ in range(integer(1, 6)):
        kind = ["flip", "set", "truncate", "insert", "delete"][integer(0, 4)]
        position = integer(0, max(0, len(data) - 1))
        if kind == "flip" and data:
            data[position] ^= 1 << integer(0, 7)
        elif kind == "set" and data:
            data[position] = [0x00, 0xFF, 0x7F, 0x80][integer(0, 3)]
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = bytes(integer(0, 255) for _ in range(integer(1, 16)))
        elif kind == "delete":
            del data[position: position + integer(1, 64)]
    return bytes(data)


@st.composite
def mutated_files(draw) -> bytes:
    return mutate(draw(st.sampled_from(FILES)), lambda low, high: draw(st.integers(low, high)))


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


# A process loads TensorFlow (about 10 s) before the first file, so all the files go through
# one. Most mutations leave a file no reader opens (PNG checks each chunk); 40 a format still
# give dozens that are read. On a busy two-core machine the start took 10 s and a file 0.03 s:
# about ten times that is a hang.
MUTATIONS_PER_FORMAT, TRUNCATIONS_PER_FORMAT = 40, 6
START_SECONDS, SECONDS_PER_FILE = 90, 0.25


def damaged_files(folder: Path) -> list[str]:
    """Each sample whole, cut short and mutated, an empty file and one that is text, written
    to `folder` under image suffixes."""
    rng = np.random.default_rng(0)
    contents = [(".png", b""), (".png", b"not an image")]
    for suffix, data in SAMPLES:
        contents.append((suffix, data))
        ends = np.linspace(0, len(data), TRUNCATIONS_PER_FORMAT, endpoint=False)[1:]
        contents += [(suffix, data[:end]) for end in ends.astype(int)]
        contents += [(suffix, mutate(data, lambda low, high: int(rng.integers(low, high + 1))))
                     for _ in range(MUTATIONS_PER_FORMAT)]
    paths = []
    for index, (suffix, data) in enumerate(contents):
        path = folder / f"{index:04d}{suffix}"
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def test_damaged_files_through_the_predict_command_give_one_json_line_each(tiny_model_path,
                                                                           tmp_path):
    paths = damaged_files(tmp_path)
    command = [sys.executable, "-m", "digitlab", "predict", "--model", str(tiny_model_path),
               *paths]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=START_SECONDS + SECONDS_PER_FILE * len(paths))
    except subprocess.TimeoutExpired as timeout:
        answered = len((timeout.stdout or b"").splitlines())  # bytes, whatever `text` says
        pytest.fail(f"predict hung on {paths[answered]} after answering {answered} of "
                    f"{len(paths)} files")
    assert "Traceback" not in result.stderr, result.stderr[result.stderr.find("Traceback"):]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["path"] for record in records] == paths, result.stderr
    errors = [record["error"] for record in records if "error" in record]
    assert result.returncode == (1 if errors else 0), result.stderr
    assert result.stderr == "".join(f"error: {error}\n" for error in errors)
    for record in records:
        if "error" in record:
            assert record["digit"] is None and record["error"].startswith(record["path"])
        elif record["digit"] is None:
            assert record["reason"] in ("not a digit", "several digits"), record
        else:
            assert record["digit"] in range(10) and len(record["probabilities"]) == 10, record
    assert 0 < len(errors) < len(paths)  # the whole samples and some damaged ones are read
