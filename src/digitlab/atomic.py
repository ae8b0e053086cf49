"""Writing a file so that an interrupted write, even a killed process, leaves the previous file
intact: everything is written under a temporary name beside it, then renamed over it (a rename
within a folder is atomic)."""

import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call `write(partial)` to write a temporary file beside `path`, then rename it to `path`.

    The temporary name keeps the suffix (`.cnn.partial.keras` for `cnn.keras`), for writers that
    choose the format by it. If `write` raises, the temporary file is removed and `path` is
    untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text_atomically(path: str | Path, text: str) -> None:
    """`write_atomically` for text."""
    write_atomically(path, lambda partial: partial.write_text(text))


def write_bytes_atomically(path: str | Path, data: bytes) -> None:
    """`write_atomically` for bytes."""
    write_atomically(path, lambda partial: partial.write_bytes(data))
