"""Training spreads over every device: two logical CPU devices stand in for two GPUs."""

import json
import os
import subprocess
import sys

import pytest

RUN = """
import json, sys
import tensorflow as tf

replicas = int(sys.argv[1])
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)])

from digitlab.mnist import data, recipes
from digitlab.mnist.augment import AugmentConfig
from digitlab.mnist.models import MLPConfig
from digitlab.mnist.train import TrainConfig

recipe = recipes.Recipe("mlp", MLPConfig(hidden_units=(256,), dropout=0.0), AugmentConfig(),
                        TrainConfig(epochs=3, validation_size=500, seed=3, batch_size=64,
                                    label_smoothing=0.0))
mnist = data.subsample(data.load_mnist(mirrors=()), 4000, 1000)
metrics = recipes.run(recipe, mnist, models_dir=sys.argv[2], verbose=0, tensorboard=False,
                      resumable=False)
print(json.dumps(metrics))
"""


def start_training(replicas: int, models_dir, mnist_dir) -> subprocess.Popen:
    env = {**os.environ, "DIGITLAB_MNIST_DIR": str(mnist_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-c", RUN, str(replicas), str(models_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def metrics_of(run: subprocess.Popen) -> dict:
    output, errors = run.communicate(timeout=600)
    assert run.returncode == 0, errors[-3000:]
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mnist_dir):
    started = {replicas: start_training(replicas, tmp_path_factory.mktemp(f"on{replicas}"),
                                        mnist_dir)
               for replicas in (1, 2)}  # side by side: the test takes less
    return {replicas: metrics_of(run) for replicas, run in started.items()}


def test_two_devices_train_one_replica_each(runs):
    assert runs[1]["replicas"] == 1
    assert runs[2]["replicas"] == 2


def test_two_devices_reach_the_accuracy_of_one(runs):
    # Each replica sees half of every batch and their gradients are summed: the same updates
    # up to the order of floating-point sums (no dropout here: each replica would draw its
    # own masks), so the runs agree within a few of the 1,000 test images.
    one, two = runs[1]["test_accuracy"], runs[2]["test_accuracy"]
    assert one > 0.8 and two > 0.8
    assert two == pytest.approx(one, abs=0.005)


OUTSIDE = """
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(2)])

from digitlab.mnist import data, models, train

mnist = data.subsample(data.load_mnist(mirrors=()), 1000, 100)
try:
    train.train(models.build_mlp(), mnist, train.TrainConfig(epochs=1, validation_size=100),
                options=train.RunOptions(models_dir="unused", resumable=False, verbose=0))
except ValueError as error:
    print(error)
"""


def test_a_model_built_outside_the_strategy_is_refused_with_the_fix(mnist_dir):
    env = {**os.environ, "DIGITLAB_MNIST_DIR": str(mnist_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", OUTSIDE], capture_output=True, text=True,
                          timeout=300, env=env)
    assert "built outside the distribution strategy" in done.stdout, done.stderr[-2000:]
    assert "devices.strategy().scope()" in done.stdout
