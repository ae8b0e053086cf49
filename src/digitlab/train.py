"""Train any digitlab model: tf.data pipeline, validation split, schedule, atomic saving."""

import csv
import io
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from digitlab import config
from digitlab.provenance import file_sha256, git_state, mnist_hashes
from digitlab.resume import Checkpoint, ResumableEarlyStopping, fingerprint


@dataclass(frozen=True)
class TrainConfig:
    """How to train. The validation images come from the training set, never the test set."""

    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 3e-3  # peak of the warmup + cosine schedule
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4
    validation_size: int = 5000
    patience: int = 5  # epochs without validation improvement before stopping early
    label_smoothing: float = 0.0  # share of each target spread evenly over all ten digits
    seed: int = 42
    keep: str = "best"  # which epoch's weights to keep: "best" (lowest validation loss) or "last"


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def split_validation(images: np.ndarray, labels: np.ndarray, size: int, seed: int):
    """Split off `size` random training images for validation, the same ones for a given seed.

    Returns:
        (train_images, train_labels), (val_images, val_labels)
    """
    if not 0 < size < len(images):
        raise ValueError(f"validation_size must be between 1 and {len(images) - 1}, got {size}.")
    order = np.random.default_rng(seed).permutation(len(images))
    val, train = order[:size], order[size:]
    return (images[train], labels[train]), (images[val], labels[val])


PARALLEL_CALLS = os.cpu_count() or 1  # batches prepared at once (tf.data autotuning is off)


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, training: bool,
                 augmentation: keras.Layer | None = None, seed: int = 0,
                 epoch: tf.Variable | None = None) -> tf.data.Dataset:
    """A tf.data pipeline of (images scaled to 0..1, labels); shuffled and augmented if training.

    Args:
        images: (n, 28, 28) uint8.
        labels: (n,) integer digits.
        epoch: when given, each epoch's order is drawn from (seed, the variable's value at the
            epoch's start) alone (`EpochCounter` sets it), so a resumed run sees the orders an
            uninterrupted one would; without it, tf.data reshuffles on every pass.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"Expected images of shape (n, 28, 28), got {images.shape}.")
    images = tf.constant(images.astype(np.uint8)[..., np.newaxis])
    labels = tf.constant(np.asarray(labels, np.int32))
    # Shuffle indices, not images: refilling a shuffle buffer of 55,000 images stalled the start
    # of an epoch by up to 20 s on a 2-core CPU.
    dataset = tf.data.Dataset.range(len(images))
    if training and epoch is None:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    elif training:
        count = len(images)
        dataset = tf.data.Dataset.from_tensors(count).map(
            lambda n: tf.random.experimental.stateless_shuffle(
                tf.range(n, dtype=tf.int64),
                seed=tf.stack([tf.constant(seed, tf.int64), epoch.value()]))).unbatch()
    dataset = dataset.batch(batch_size).map(
        lambda index: (tf.cast(tf.gather(images, index), tf.float32) / 255.0,
                       tf.gather(labels, index)), num_parallel_calls=PARALLEL_CALLS)
    if training and augmentation is not None:
        dataset = dataset.map(lambda x, y: (augmentation(x, training=True), y),
                              num_parallel_calls=PARALLEL_CALLS)
    # No tf.data autotuning: ending an epoch waits for its tuning thread to wake, which left the
    # whole process idle for up to 30 s per epoch (seen with gdb on a 2-core CPU).
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)


def compile_model(model: keras.Model, train_config: TrainConfig, steps_per_epoch: int) -> None:
    """Compile with AdamW under a linear warmup then cosine decay of the learning rate."""
    total_steps = max(1, train_config.epochs * steps_per_epoch)
    warmup_steps = min(total_steps - 1, int(train_config.warmup_epochs * steps_per_epoch))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=train_config.learning_rate / 10,
        decay_steps=total_steps - warmup_steps,
        warmup_target=train_config.learning_rate,
        warmup_steps=warmup_steps,
    )
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=train_config.weight_decay)
    # The plain cross-entropy is tracked beside the loss: with label smoothing they differ.
    model.compile(optimizer=optimizer, loss=smoothed_crossentropy(train_config.label_smoothing),
                  metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(
                      name="crossentropy")])


def smoothed_crossentropy(smoothing: float):
    """Cross-entropy of integer labels against targets with `smoothing` spread over all digits.

    Keras' sparse cross-entropy has no label smoothing, so the labels become one-hot rows here.
    """
    if not 0 <= smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {smoothing}.")

    def loss(labels, probabilities):
        labels = keras.ops.reshape(keras.ops.cast(labels, "int32"), (-1,))
        targets = keras.ops.one_hot(labels, keras.ops.shape(probabilities)[-1])
        return keras.losses.categorical_crossentropy(targets, probabilities,
                                                     label_smoothing=smoothing)
    return loss


def hardware() -> dict:
    """What the run ran on: CPU count, machine, GPUs seen by TensorFlow (with their model)."""
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append(f"{gpu.name} ({details.get('device_name', 'unknown model')})")
    return {"machine": platform.machine(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "gpus": gpus}


class EpochCounter(keras.callbacks.Callback):
    """Sets a variable to the number of the epoch about to start (the shuffling reads it)."""

    def __init__(self, variable: tf.Variable):
        super().__init__()
        self.variable = variable

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(epoch)


class LearningRateLog(keras.callbacks.Callback):
    """Adds the learning rate at the end of each epoch to the epoch's logs (so to the history)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            rate = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))


def versions() -> dict:
    """Library versions that shape the result."""
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


def save_atomically(model: keras.Model, path: Path) -> None:
    """Write the model next to `path`, then rename: an interrupted save keeps the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def without_optimizer(model: keras.Model) -> keras.Model:
    """A copy of `model` with its architecture and weights but no optimizer state.

    Saved, it is a third the size: AdamW keeps two more numbers per weight, which inference
    never needs.
    """
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def write_text_atomically(path: Path, text: str) -> None:
    """Write a text file through a temporary name and a rename."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def history_csv(history: dict[str, list[float]]) -> str:
    """Keras history as CSV text, one row per epoch."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", *history])
    for epoch, values in enumerate(zip(*history.values(), strict=True), start=1):
        writer.writerow([epoch, *values])
    return out.getvalue()


def train(model: keras.Model, mnist, train_config: TrainConfig = TrainConfig(),
          augmentation: keras.Layer | None = None, models_dir: Path | None = None,
          extra_callbacks: list | None = None, verbose: int | str = 2,
          recipe: dict | None = None, validation: tuple | None = None,
          record: dict | None = None, log_dir: Path | None | bool = None,
          resumable: bool = True) -> dict:
    """Train `model` on MNIST, calibrate it on the validation images, evaluate it on the test set
    and save it with its metrics.

    Writes `models/<model.name>.keras`, `.metrics.json` and `.history.csv`, each through a
    temporary file and a rename, so an interrupted run leaves the previous files intact. After
    every epoch the run's state goes to `models/.<model.name>.<run key>.resume.npz`: started
    again, an interrupted run carries on after its last completed epoch (`digitlab.resume`).

    Args:
        model: an uncompiled digitlab model (see `digitlab.models`).
        mnist: `((x_train, y_train), (x_test, y_test))` as `load_mnist` returns.
        augmentation: layers applied to training batches only, or None.
        models_dir: where to save (default: config.MODELS_DIR).
        recipe: the model and augmentation settings to record beside the training config
            (`digitlab.recipes.Recipe.record()`), so the run can be rebuilt from its metrics.
        validation: `(images, labels)` to validate on instead of `validation_size` images split
            off the training set (fine-tuning on a few images has none to spare).
        record: more to save in the metrics (e.g. what a fine-tuned model started from).
        log_dir: where TensorBoard logs go (losses, accuracies, learning rate per epoch);
            default `runs/<name>/<date-time>/` beside the models folder; False for none.
        resumable: save the run's state after every epoch (False for runs of seconds, such as
            fine-tuning on a few images, where writing it would cost more than it saves).

    Returns:
        The metrics dictionary that was saved.
    """
    (x_train, y_train), (x_test, y_test) = mnist
    if validation is None:
        (x_fit, y_fit), (x_val, y_val) = split_validation(
            x_train, y_train, train_config.validation_size, train_config.seed)
    else:
        (x_fit, y_fit), (x_val, y_val) = (x_train, y_train), validation
    steps = int(np.ceil(len(x_fit) / train_config.batch_size))
    compile_model(model, train_config, steps)
    model.optimizer.build(model.trainable_variables)
    stopper = None
    if train_config.keep == "best":
        # Validation loss, not accuracy: on 5,000 images accuracy moves in steps of 0.02 points
        # and its best epoch is often chance (once epoch 10 of 14, mid-schedule); the loss is
        # smooth.
        stopper = ResumableEarlyStopping(monitor="val_loss", patience=train_config.patience,
                                         restore_best_weights=True)
    elif train_config.keep != "last":
        raise ValueError(f"keep must be 'best' or 'last', got {train_config.keep!r}.")
    models_dir = Path(models_dir or config.MODELS_DIR)
    key = fingerprint(asdict(train_config), model.name, architecture(model),
                      augmentation.get_config() if augmentation is not None else None,
                      len(x_fit), len(x_val))
    # One state file per run (the key in its name), so another run of the same model name, a
    # quick one say, never overwrites an interrupted run's state.
    checkpoint = Checkpoint(models_dir / f".{model.name}.{key}.resume.npz", key, augmentation,
                            stopper, enabled=resumable)
    done = checkpoint.restore(model)
    epoch = tf.Variable(done, dtype=tf.int64, trainable=False)
    train_data = make_dataset(x_fit, y_fit, train_config.batch_size, True, augmentation,
                              train_config.seed, epoch)
    val_data = make_dataset(x_val, y_val, 1024, False)
    if log_dir is None:
        log_dir = models_dir.parent / "runs" / model.name / time.strftime("%Y%m%d-%H%M%S")
    logs = [keras.callbacks.TensorBoard(str(log_dir), write_graph=False)] if log_dir else []
    # The checkpoint comes last, so it saves what every other callback did this epoch.
    callbacks = [EpochCounter(epoch), LearningRateLog(), *([stopper] if stopper else []),
                 *logs, *(extra_callbacks or []), checkpoint]
    code = git_state()  # at the start: the tree may change while a long run trains
    start = time.perf_counter()
    if done < train_config.epochs and not checkpoint.stopped:
        model.fit(train_data, validation_data=val_data, epochs=train_config.epochs,
                  initial_epoch=done, callbacks=callbacks, verbose=verbose)
    elif stopper is not None and (stopper.resume_state or {}).get("best_weights") is not None:
        model.set_weights(stopper.resume_state["best_weights"])  # what its end would restore
    seconds = checkpoint.seconds_before + time.perf_counter() - start  # all sessions of the run
    history = checkpoint.history
    kept = kept_epoch(history) if train_config.keep == "best" else len(history["loss"]) - 1
    temperature = fit_temperature(model.predict(val_data, verbose=0), y_val)
    apply_temperature(model, temperature)
    test = model.evaluate(make_dataset(x_test, y_test, 1024, False), verbose=0, return_dict=True)
    test_accuracy = test["accuracy"]

    path = models_dir / f"{model.name}.keras"
    metrics = {
        "name": model.name,
        "model": path.name,
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test["crossentropy"]),  # without label smoothing
        "test_errors": int(round((1 - test_accuracy) * len(x_test))),
        "val_accuracy": float(history["val_accuracy"][kept]),
        "kept_epoch": kept + 1,
        "temperature": temperature,
        "parameters": int(model.count_params()),
        "epochs_run": len(history["loss"]),
        "train_seconds": round(seconds, 1),
        "train_images": len(x_fit),
        "validation_images": len(x_val),
        # MNIST's, unless the caller brought its own validation images (fine-tuning on others)
        **({"mnist_images": {"train": len(x_train), "test": len(x_test)},  # subsample if < full
            "mnist_sha256": mnist_hashes()} if validation is None else {}),
        "augmentation": augmentation is not None,
        "config": asdict(train_config),
        "seed": train_config.seed,
        "recipe": recipe,
        "git": code,
        "versions": versions(),
        "hardware": hardware(),
        **(record or {}),
    }
    # Everything is gathered first, so the files are replaced one right after the other.
    save_atomically(without_optimizer(model), path)
    metrics["model_sha256"] = file_sha256(path)
    write_text_atomically(models_dir / f"{model.name}.history.csv", history_csv(history))
    write_text_atomically(models_dir / f"{model.name}.metrics.json",
                          json.dumps(metrics, indent=2) + "\n")
    checkpoint.remove()  # the run is complete: a new one starts from scratch
    return metrics


def architecture(model: keras.Model) -> list:
    """Each layer's type and settings, without the names Keras numbers per process."""
    def unnamed(value):
        if isinstance(value, dict):
            return {key: unnamed(item) for key, item in value.items() if key != "name"}
        if isinstance(value, list):
            return [unnamed(item) for item in value]
        return value

    return [(type(layer).__name__, unnamed(layer.get_config())) for layer in model.layers]


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T for which softmax(log(probabilities) / T) has the lowest cross-entropy.

    Fitted on validation images, it makes confidences honest without changing any prediction:
    label smoothing leaves a model underconfident (T < 1 sharpens it).
    """
    log_p = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, 1))
    labels = np.asarray(labels)

    def crossentropy(temperature: float) -> float:
        z = log_p / temperature
        z -= z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), labels]))

    grid = np.geomspace(0.05, 5, 461)  # steps of 1%
    return round(float(grid[np.argmin([crossentropy(t) for t in grid])]), 3)


def apply_temperature(model: keras.Model, temperature: float) -> None:
    """Divide the model's logits by `temperature`, folded into its final softmax layer's weights."""
    last = model.layers[-1]
    if not (isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax
            and last.use_bias):
        raise ValueError(f"{model.name} does not end in a softmax Dense layer with a bias.")
    last.set_weights([weight / temperature for weight in last.get_weights()])


def kept_epoch(history: dict[str, list[float]]) -> int:
    """Index of the epoch whose weights training keeps: the lowest validation loss."""
    return int(np.argmin(history["val_loss"]))


SUMMARY_KEYS = ("test_accuracy", "test_errors", "test_loss", "val_accuracy", "kept_epoch",
                "temperature", "parameters", "epochs_run", "train_seconds")


def read_metrics(path: Path) -> dict:
    """Read a `.metrics.json` file written by `train`."""
    return json.loads(Path(path).read_text())


def read_history(path: Path) -> dict[str, list[float]]:
    """Read a `.history.csv` back into Keras' history format."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in rows[0] if key != "epoch"}
