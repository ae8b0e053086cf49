"""Runs that resume: a real run killed mid-epoch carries on from its last completed epoch and
ends with the weights of an uninterrupted run; a kill during the save leaves the previous model."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab.mnist import data, models, recipes, runfiles
from digitlab.mnist.augment import AugmentConfig
from digitlab.mnist.models import CNNConfig
from digitlab.mnist.train import TrainConfig

# Small, but with everything that carries state across epochs: dropout, batch norm,
# augmentation, the optimizer's moments and schedule, shuffling, early stopping.
TINY = recipes.Recipe("cnn", CNNConfig(filters=(8, 16), convs_per_block=(1, 1), dense_units=16),
                      AugmentConfig(), TrainConfig(epochs=4, validation_size=300, seed=5,
                                                   patience=1, batch_size=64))

RUN = """
import sys
from digitlab.mnist import data, recipes
from digitlab.mnist.augment import AugmentConfig
from digitlab.mnist.models import CNNConfig
from digitlab.mnist.train import TrainConfig
recipe = recipes.Recipe.from_record(__import__("json").loads(sys.argv[3]))
mnist = data.subsample(data.load_mnist(sys.argv[1], mirrors=()), 4000, 300)
recipes.run(recipe, mnist, models_dir=sys.argv[2], verbose=0)
"""


def start(mnist_dir: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN, str(mnist_dir), str(folder),
                             json.dumps(TINY.record())], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def state_epochs(path: Path) -> int:
    try:
        with np.load(path) as saved:
            return json.loads(str(saved["meta"]))["epochs_done"]
    except (OSError, ValueError, KeyError, EOFError):
        return 0


def weights(path: Path) -> list[np.ndarray]:
    return models.load_model(path).get_weights()


def test_a_killed_run_resumes_to_the_same_weights(mnist_dir, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert start(mnist_dir, whole).wait(timeout=600) == 0
    killed.mkdir()
    previous = killed / "cnn.keras"
    models.build_mlp(name="cnn").save(previous)  # an earlier model that must stay intact
    before = previous.read_bytes()
    run = start(mnist_dir, killed)
    deadline = time.monotonic() + 300
    while (state_epochs(state := next(killed.glob(".cnn.*.resume.npz"), killed / "none")) < 1
           and time.monotonic() < deadline and run.poll() is None):
        time.sleep(0.02)
    time.sleep(0.3)  # into the next epoch
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    done = state_epochs(state)
    assert 1 <= done < TINY.train.epochs, "the kill must come after one epoch, before the end"
    assert previous.read_bytes() == before
    again = start(mnist_dir, killed)
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, output
    assert f"Resuming cnn after epoch {done}" in output
    assert not state.exists()
    for a, b in zip(weights(whole / "cnn.keras"), weights(previous), strict=True):
        np.testing.assert_array_equal(a, b)
    resumed = json.loads((killed / "cnn.metrics.json").read_text())
    uninterrupted = json.loads((whole / "cnn.metrics.json").read_text())
    for key in ("test_accuracy", "val_accuracy", "kept_epoch", "epochs_run", "temperature"):
        assert resumed[key] == uninterrupted[key]
    assert runfiles.read_history(killed / "cnn.history.csv") == \
        runfiles.read_history(whole / "cnn.history.csv")


def test_a_kill_between_writing_and_renaming_the_model_keeps_the_previous_one(
        mnist_dir, tmp_path, monkeypatch):
    mnist = data.subsample(data.load_mnist(mnist_dir, mirrors=()), 1500, 200)
    quick = recipes.Recipe(TINY.kind, TINY.model, TINY.augment,
                           TrainConfig(epochs=2, validation_size=300, seed=5))
    path = tmp_path / "cnn.keras"
    models.build_mlp(name="cnn").save(path)
    before = path.read_bytes()
    real_replace = os.replace

    def killed_at_rename(source, target):
        if Path(target) == path:  # the new model is written; the rename never happens
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", killed_at_rename)
    with pytest.raises(KeyboardInterrupt):
        recipes.run(quick, mnist, models_dir=tmp_path, verbose=0)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".cnn.partial*"))
    monkeypatch.setattr(os, "replace", real_replace)
    # Started again, the run finds all its epochs done and only saves.
    metrics = recipes.run(quick, mnist, models_dir=tmp_path, verbose=0)
    assert metrics["epochs_run"] == 2 and path.read_bytes() != before
    assert metrics["model_sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
