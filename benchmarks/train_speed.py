"""Benchmark: time to 99.0% MNIST test accuracy, keras-io reference convnet vs digitlab.

Both models train in this one process on the same data. Test accuracy is checked every
`check_every` training steps and at every epoch end; the clock stops while it is checked, so the
seconds are training time only. Also reports single-image latency and batch throughput.

Run: .venv/bin/python benchmarks/train_speed.py | tee benchmarks/results/train_speed.txt
"""

import time

import keras
import numpy as np

from digitlab import data, models, train
from digitlab.evaluate import measure_speed
from digitlab.preprocess import scale_images

target_accuracy = 0.99
check_every = 100  # training steps between test-accuracy checks, for both models
seed = 42


class TimeToAccuracy(keras.callbacks.Callback):
    """Record (training seconds, test accuracy) every `check_every` steps, clock paused."""

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray, target: float, stop_at_target=False):
        super().__init__()
        self.x_test, self.y_test, self.target = x_test, y_test, target
        self.stop_at_target = stop_at_target
        self.seconds = 0.0
        self.steps = 0
        self.checks: list[tuple[float, float]] = []
        self.reached_at: float | None = None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps % check_every == 0:
            self.check()

    def on_epoch_end(self, epoch, logs=None):
        if self.steps % check_every:
            self.check()

    def on_train_end(self, logs=None):
        self.seconds += time.perf_counter() - self.started

    def check(self):
        self.seconds += time.perf_counter() - self.started
        probabilities = self.model.predict(self.x_test, batch_size=1024, verbose=0)
        accuracy = float(np.mean(probabilities.argmax(axis=1) == self.y_test))
        self.checks.append((self.seconds, accuracy))
        if self.reached_at is None and accuracy >= self.target:
            self.reached_at = self.seconds
            self.model.stop_training = self.stop_at_target
        self.started = time.perf_counter()


def train_reference(x_train, y_train, x_test, y_test) -> tuple[keras.Model, TimeToAccuracy]:
    """keras-io "Simple MNIST convnet" as published: Adam, batch 128, 15 epochs, split 0.1."""
    model = models.build_keras_io_convnet()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    clock = TimeToAccuracy(x_test, y_test, target_accuracy)
    model.fit(x_train, keras.utils.to_categorical(y_train, 10), batch_size=128, epochs=15,
              validation_split=0.1, callbacks=[clock], verbose=2)
    return model, clock


def train_fast(mnist, x_test, y_test) -> tuple[keras.Model, TimeToAccuracy]:
    """digitlab's fastest configuration aimed at 99.0%: a small batch-normalised CNN, large
    batches, a short warm-up + cosine schedule, no augmentation (it slows early progress)."""
    (x_train, y_train), _ = mnist
    model = models.build_cnn(models.CNNConfig(filters=(32, 64, 128), convs_per_block=(1, 1, 1),
                                              dense_units=128, dropout=0.2,
                                              batchnorm_momentum=0.9), name="cnn_fast")
    config = train.TrainConfig(epochs=2, batch_size=128, learning_rate=3e-3, warmup_epochs=0.3,
                               seed=seed)
    dataset = train.make_dataset(x_train, y_train, config.batch_size, True, seed=seed)
    train.compile_model(model, config, len(dataset))
    clock = TimeToAccuracy(x_test, y_test, target_accuracy)
    model.fit(dataset, epochs=config.epochs, callbacks=[clock], verbose=2)
    return model, clock


def report(name: str, model: keras.Model, clock: TimeToAccuracy, x_test: np.ndarray) -> float:
    reached = "never" if clock.reached_at is None else f"{clock.reached_at:.1f} s"
    speed = measure_speed(model, x_test)
    print(f"{name}: {model.count_params():,} parameters")
    print(f"  time to {target_accuracy:.1%} test accuracy: {reached}")
    final_accuracy = clock.checks[-1][1]
    print(f"  final test accuracy: {final_accuracy:.2%} after {clock.seconds:.1f} s of training")
    print(f"  single-image latency: {speed['latency_ms']:.2f} ms (median, direct model call)")
    print(f"  batch throughput: {speed['throughput_per_s']:,.0f} images/s")
    return clock.reached_at or float("inf")


def main() -> None:
    train.set_seed(seed)
    mnist = data.load_mnist()
    (x_train, y_train), (x_test, y_test) = mnist
    test_images = scale_images(x_test)
    reference, reference_clock = train_reference(scale_images(x_train), y_train,
                                                 test_images, y_test)
    fast, fast_clock = train_fast(mnist, test_images, y_test)
    print()
    reference_seconds = report("keras-io reference convnet", reference, reference_clock, x_test)
    fast_seconds = report("digitlab cnn_fast", fast, fast_clock, x_test)
    ratio = reference_seconds / fast_seconds
    print(f"\ndigitlab reaches {target_accuracy:.1%} {ratio:.1f}x sooner than the reference "
          f"(goal: at least 5x). Accuracy checked every {check_every} steps.")


if __name__ == "__main__":
    main()
