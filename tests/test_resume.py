"""Runs that resume: a real run killed mid-epoch carries on from its last completed epoch and
ends with the weights of an uninterrupted run; a run killed between writing its new model and
renaming it over the old one leaves the old model, and started again only saves."""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from digitlab.mnist import models, recipes, runfiles
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
recipes.run(recipe, mnist, models_dir=sys.argv[2], verbose=2)
"""
# What Keras prints after each epoch at verbose=2 ("29/29 - 5s - 173ms/step - ... - loss: 2.1"):
# a run that trained has one.
EPOCH_LINE = re.compile(r"^\d+/\d+ - .* - loss: ", re.MULTILINE)


# Put before RUN: the process dies, as a power cut or the OOM killer would take it, right after
# a model file is written, before `save_atomically` renames it over the old model. SIGKILL runs
# no cleanup, so the written file stays.
DIE_AFTER_WRITING_A_MODEL = """
import os, signal, keras
write = keras.Model.save
def write_then_die(self, *args, **kwargs):
    write(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
keras.Model.save = write_then_die
"""


def start(mnist_dir: Path, folder: Path, recipe: recipes.Recipe = TINY,
          before: str = "") -> subprocess.Popen:
    """Run `recipe` into `folder` in a new process (unbuffered: a killed one keeps its output)."""
    return subprocess.Popen([sys.executable, "-u", "-c", before + RUN, str(mnist_dir),
                             str(folder), json.dumps(recipe.record())], stdout=subprocess.PIPE,
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
    uninterrupted_run = start(mnist_dir, whole)  # beside the killed one: the test takes less
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
    output, _ = uninterrupted_run.communicate(timeout=600)
    assert uninterrupted_run.returncode == 0, output
    for a, b in zip(weights(whole / "cnn.keras"), weights(previous), strict=True):
        np.testing.assert_array_equal(a, b)
    resumed = json.loads((killed / "cnn.metrics.json").read_text())
    uninterrupted = json.loads((whole / "cnn.metrics.json").read_text())
    for key in ("test_accuracy", "val_accuracy", "kept_epoch", "epochs_run", "temperature"):
        assert resumed[key] == uninterrupted[key]
    assert runfiles.read_history(killed / "cnn.history.csv") == \
        runfiles.read_history(whole / "cnn.history.csv")


def test_a_kill_between_writing_and_renaming_the_model_keeps_the_previous_one(mnist_dir,
                                                                              tmp_path):
    quick = recipes.Recipe(TINY.kind, TINY.model, TINY.augment,
                           TrainConfig(epochs=1, validation_size=300, seed=5))
    path = tmp_path / "cnn.keras"
    models.build_mlp(name="cnn").save(path)  # the previous model
    before = path.read_bytes()
    killed = start(mnist_dir, tmp_path, quick, before=DIE_AFTER_WRITING_A_MODEL)
    output, _ = killed.communicate(timeout=600)
    assert killed.returncode == -signal.SIGKILL, output
    assert EPOCH_LINE.search(output), output  # it trained; the restart must not
    assert path.read_bytes() == before
    [written] = tmp_path.glob(".cnn*.partial*")  # the new model, never renamed
    assert not (tmp_path / "cnn.metrics.json").exists()
    state = next(tmp_path.glob(".cnn.*.resume.npz"))
    assert state_epochs(state) == 1
    trained = weights(written)
    # Started again, the run finds its one epoch done: it only calibrates, evaluates and saves.
    again = start(mnist_dir, tmp_path, quick)
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, output
    assert "Resuming cnn after epoch 1" in output and not EPOCH_LINE.search(output), output
    assert not state.exists() and not written.exists()
    for a, b in zip(trained, weights(path), strict=True):
        np.testing.assert_array_equal(a, b)
    metrics = json.loads((tmp_path / "cnn.metrics.json").read_text())
    assert metrics["epochs_run"] == 1
    assert metrics["model_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
