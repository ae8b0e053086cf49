"""Where a result came from: the SHA-256 of the files it measured."""

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_state(root: str | Path | None = None) -> dict:
    """The commit the code ran from and whether the tree had uncommitted changes.

    Both are None outside a git checkout (an unpacked archive, a machine without git).
    """
    import subprocess

    from digitlab import config

    root = Path(root or config.PROJ_ROOT)

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def mnist_hashes() -> dict[str, str]:
    """The content SHA-256 of each MNIST file: `load_mnist` refuses any other content."""
    from digitlab.data import MNIST_FILES

    return {spec.name: spec.sha256 for spec in MNIST_FILES.values()}
