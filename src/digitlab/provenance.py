"""Where a result came from: the SHA-256 of the files it measured, the code, the machine."""

import hashlib
import os
import platform
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


RESULTS_PATHS = ("models", "figures", "benchmarks/results", "README.md")


def git_state(root: str | Path | None = None) -> dict:
    """The commit the code ran from and whether the tree had uncommitted changes (outside
    `RESULTS_PATHS`, which runs write).

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
    # The main job rewrites committed results (models/, figures/, the README's tables) as it
    # goes: those do not make the code that produced a result differ from the commit.
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                 *(f":(exclude){path}" for path in RESULTS_PATHS)) if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def hardware() -> dict:
    """What a run ran on: CPU count, machine, GPUs seen by TensorFlow (with their model)."""
    import tensorflow as tf

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append(f"{gpu.name} ({details.get('device_name', 'unknown model')})")
    return {"machine": platform.machine(), "processor": platform.processor() or cpu_model(),
            "vector_extensions": vector_extensions(), "cpus": os.cpu_count(), "gpus": gpus}


# oneDNN picks its kernels by these, so the same code and seed can train to different weights.
VECTOR_EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
                     "amx_tile", "amx_bf16")


def cpu_fields() -> dict:
    """The first processor's fields of /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    """The CPU's model name, e.g. "AMD EPYC" ("" where the system does not say)."""
    return cpu_fields().get("model name", "")


def vector_extensions() -> list[str]:
    """Which of VECTOR_EXTENSIONS the CPU has (Linux; empty elsewhere)."""
    flags = set(cpu_fields().get("flags", "").split())
    return [name for name in VECTOR_EXTENSIONS if name in flags]


def machine_description() -> str:
    """Where speed was measured, in a few words, e.g. "x86_64, 2 CPUs, no GPU"."""
    machine = hardware()
    gpus = f"{len(machine['gpus'])} GPU" if machine["gpus"] else "no GPU"
    return f"{machine['machine']}, {machine['cpus']} CPUs, {gpus}"


def versions() -> dict:
    """Library versions that shape a result."""
    import keras
    import numpy as np
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}
