"""Where results come from: file hashes against hashlib's, the git state a run records."""

import hashlib
import subprocess
from pathlib import Path

import pytest

from digitlab.provenance import VECTOR_EXTENSIONS, file_sha256, git_state, hardware


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)) * 5000)  # more than one read block
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_changed_results_leave_the_tree_clean_and_changed_code_makes_it_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "models").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "models" / "cnn.keras").write_text("old weights")
    (tmp_path / "src" / "train.py").write_text("epochs = 12")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "models" / "cnn.keras").write_text("new weights")  # what the main job does
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "src" / "train.py").write_text("epochs = 13")
    state = git_state(tmp_path)
    assert state["dirty"] is True and len(state["commit"]) == 40


def test_outside_a_git_checkout_the_state_is_unknown(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="Linux only")
def test_hardware_names_the_cpu_model_and_its_vector_extensions():
    fields = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    record = hardware()
    model = next(line.split(":", 1)[1].strip() for line in fields.splitlines()
                 if line.startswith("model name"))
    assert record["processor"] and model in (record["processor"], "")
    flags = next(line.split(":", 1)[1].split() for line in fields.splitlines()
                 if line.startswith("flags"))
    assert record["vector_extensions"] == [name for name in VECTOR_EXTENSIONS if name in flags]
