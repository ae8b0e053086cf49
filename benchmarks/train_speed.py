"""Benchmark: time to 99.0% MNIST test accuracy, keras-io reference convnet vs digitlab.

Both models train in this one process on the same data. Test accuracy is checked every
`check_every` training steps and at every epoch end; the clock stops while it is checked, so the
seconds are training time only. The fast model trains `fast_repeats` times with the same seed:
every run takes the same steps to the same accuracies, so the runs differ only in the time this
noisy host gave them, and the ratio uses their median. Also reports single-image latency and
batch throughput.

Run: .venv/bin/python benchmarks/train_speed.py | tee benchmarks/results/train_speed.txt
"""

import time

import keras
import numpy as np

from digitlab.mnist import data, models, pipeline, train
from digitlab.mnist.pipeline import scale_images
from digitlab.mnist.speed import measure_speed

target_accuracy = 0.99
check_every = 50  # training steps between test-accuracy checks, for both models
fast_repeats = 3
seed = 42
# One convolution per block: 28x28 -> 14x14 -> 7x7 in two strided steps, few filters.
FAST_CNN = models.CNNConfig(filters=(16, 32, 64), convs_per_block=(1, 1, 1), dense_units=128,
                            dropout=0.1, batchnorm_momentum=0.9)
FAST_TRAIN = train.TrainConfig(epochs=2, batch_size=128, learning_rate=5e-3, warmup_epochs=0.3,
                               label_smoothing=0.0, seed=seed)


class TimeToAccuracy(keras.callbacks.Callback):
    """Record (training seconds, test accuracy) every `check_every` steps, clock paused."""

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray, target: float):
        super().__init__()
        self.x_test, self.y_test, self.target = x_test, y_test, target
        self.seconds = 0.0
        self.steps = 0
        self.checks: list[tuple[float, float]] = []
        self.reached_at: float | None = None
        self.steps_to_target: int | None = None

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
            self.steps_to_target = self.steps
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
    """digitlab's fastest configuration aimed at 99.0%: a small batch-normalised CNN, a 2-epoch
    warm-up + cosine schedule, no augmentation (it slows early progress)."""
    (x_train, y_train), _ = mnist
    train.set_seed(seed)
    model = models.build_cnn(FAST_CNN, name="cnn_fast")
    dataset = pipeline.make_dataset(x_train, y_train, FAST_TRAIN.batch_size, True, seed=seed)
    train.compile_model(model, FAST_TRAIN, len(dataset))
    clock = TimeToAccuracy(x_test, y_test, target_accuracy)
    model.fit(dataset, epochs=FAST_TRAIN.epochs, callbacks=[clock], verbose=2)
    return model, clock


def report(name: str, model: keras.Model, clock: TimeToAccuracy, x_test: np.ndarray) -> None:
    reached = ("never" if clock.reached_at is None
               else f"{clock.reached_at:.1f} s ({clock.steps_to_target} steps)")
    speed = measure_speed(model, x_test)
    print(f"{name}: {model.count_params():,} parameters")
    print(f"  time to {target_accuracy:.1%} test accuracy: {reached}")
    final_accuracy = clock.checks[-1][1]
    print(f"  final test accuracy: {final_accuracy:.2%} after {clock.seconds:.1f} s of training")
    print(f"  single-image latency: {speed['latency_ms']:.2f} ms (median, direct model call)")
    print(f"  batch throughput: {speed['throughput_per_s']:,.0f} images/s")


def main() -> None:
    train.set_seed(seed)
    mnist = data.load_mnist()
    (x_train, y_train), (x_test, y_test) = mnist
    test_images = scale_images(x_test)
    reference, reference_clock = train_reference(scale_images(x_train), y_train,
                                                 test_images, y_test)
    fast_runs = [train_fast(mnist, test_images, y_test) for _ in range(fast_repeats)]
    print()
    report("keras-io reference convnet", reference, reference_clock, x_test)
    times = [clock.reached_at or float("inf") for _, clock in fast_runs]
    median = int(np.argsort(times)[len(times) // 2])
    fast, fast_clock = fast_runs[median]
    report(f"digitlab cnn_fast (median of {fast_repeats} runs)", fast, fast_clock, x_test)
    print(f"  time to {target_accuracy:.1%} in each run: "
          + ", ".join(f"{seconds:.1f} s" for seconds in times))
    ratio = (reference_clock.reached_at or float("inf")) / times[median]
    print(f"\ndigitlab reaches {target_accuracy:.1%} {ratio:.1f}x sooner than the reference "
          f"(goal: at least 5x). Accuracy checked every {check_every} steps.")


if __name__ == "__main__":
    main()
