"""Benchmark: wall time until the MNIST test accuracy first reaches 99.0% and 99.5%, for the
shipped CNN recipe (notebook 04's) and keras-io's "Simple MNIST convnet", in the same process.

Each model's test accuracy is measured after every epoch with the clock paused, so the seconds
are training time only. The test set is reported on here, never chosen on: the recipe was
chosen on validation images (README, "How the models are trained"). The machine is named in
the results (CPU model, vector extensions, cores).

Run: .venv/bin/python benchmarks/time_to_accuracy.py [--epochs-keras-io 15]
Writes benchmarks/results/time_to_accuracy.json and time_to_accuracy.md. About 20 minutes on
a 2-core CPU.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from digitlab.mnist import augment, data, models, recipes, train
from digitlab.mnist.pipeline import scale_images
from digitlab.provenance import git_state, hardware
from digitlab.report.tables import markdown_table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGETS = (0.990, 0.995)


class EpochClock(keras.callbacks.Callback):
    """Training seconds and test accuracy after every epoch; the clock stops while testing."""

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray):
        super().__init__()
        self.x_test, self.y_test = x_test, y_test
        self.seconds = 0.0
        self.epochs: list[tuple[float, float]] = []  # (training seconds so far, test accuracy)

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self.started
        probabilities = self.model.predict(self.x_test, batch_size=1024, verbose=0)
        accuracy = float(np.mean(probabilities.argmax(axis=1) == self.y_test))
        self.epochs.append((round(self.seconds, 1), accuracy))
        print(f"  epoch {len(self.epochs)}: {self.seconds:.0f} s, test {accuracy:.2%}",
              flush=True)

    def reached(self, target: float) -> float | None:
        """Training seconds until the test accuracy first reached `target`; None: never."""
        return next((seconds for seconds, accuracy in self.epochs if accuracy >= target), None)


def shipped_cnn(mnist, test_images: np.ndarray, y_test: np.ndarray) -> EpochClock:
    """The CNN recipe as notebook 04 trains it (its split, schedule, augmentation, seed)."""
    recipe = recipes.CNN
    train.set_seed(recipe.train.seed)
    model = models.build_cnn(recipe.model, name="cnn")
    clock = EpochClock(test_images, y_test)
    options = train.RunOptions(verbose=0, resumable=False, save=False, callbacks=(clock,))
    train.train(model, mnist, recipe.train, augment.build_augmentation(
        recipe.augment, seed=recipe.train.seed), recipe=recipe.record(), options=options)
    return clock


def keras_io_convnet(mnist, test_images: np.ndarray, y_test: np.ndarray,
                     epochs: int) -> EpochClock:
    """keras-io "Simple MNIST convnet" as published: Adam, batch 128, 15 epochs, split 0.1."""
    (x_train, y_train), _ = mnist
    keras.utils.set_random_seed(42)
    model = models.build_keras_io_convnet()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    clock = EpochClock(test_images, y_test)
    model.fit(scale_images(x_train), keras.utils.to_categorical(y_train, 10), batch_size=128,
              epochs=epochs, validation_split=0.1, callbacks=[clock], verbose=0)
    return clock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs-keras-io", type=int, default=15)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    mnist = data.load_mnist()
    (_, _), (x_test, y_test) = mnist
    test_images = scale_images(x_test)
    runs = {}
    print("the shipped CNN recipe (notebook 04)", flush=True)
    runs["digitlab cnn (shipped recipe)"] = shipped_cnn(mnist, test_images, y_test)
    print('keras-io "Simple MNIST convnet"', flush=True)
    runs['keras-io "Simple MNIST convnet"'] = keras_io_convnet(mnist, test_images, y_test,
                                                              args.epochs_keras_io)
    machine = hardware()
    results = {"machine": machine, "git": git_state(), "recipe": recipes.CNN.record(),
               "targets": list(TARGETS),
               "runs": {name: {"epochs": clock.epochs,
                               **{f"seconds_to_{target:.1%}": clock.reached(target)
                                  for target in TARGETS}}
                        for name, clock in runs.items()}}
    rows = [{"model": name,
             **{f"time to {target:.1%}": (f"{clock.reached(target) / 60:.1f} min"
                                          if clock.reached(target) is not None else "never")
                for target in TARGETS},
             "best test accuracy": f"{max(a for _, a in clock.epochs):.2%}",
             "epochs": len(clock.epochs),
             "training time": f"{clock.seconds / 60:.1f} min"} for name, clock in runs.items()]
    text = (f"Training time until the MNIST test accuracy (measured after each epoch, reported "
            f"only) first reaches each target, both models in one process on "
            f"{machine['processor'] or machine['machine']}, {machine['cpus']} CPU cores, "
            f"{'GPU' if machine['gpus'] else 'no GPU'}.\n\n" + markdown_table(rows) + "\n")
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "time_to_accuracy.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.results / "time_to_accuracy.md").write_text(text)


if __name__ == "__main__":
    main()
