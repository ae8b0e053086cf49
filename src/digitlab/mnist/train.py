"""Train any digitlab model: tf.data pipeline, validation split, schedule, atomic saving."""

import json
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from digitlab import config
from digitlab.mnist import devices
from digitlab.mnist.calibration import apply_temperature, fit_temperature
from digitlab.mnist.data import mnist_hashes
from digitlab.mnist.datasets import make_dataset, split_validation
from digitlab.mnist.resume import Checkpoint, ResumableEarlyStopping, fingerprint
from digitlab.mnist.runfiles import (
    history_csv,
    kept_epoch,
    save_atomically,
    without_optimizer,
    write_text_atomically,
)
from digitlab.provenance import file_sha256, git_state, hardware, versions


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
    min_temperature: float = 0.0  # the lowest temperature calibration may choose (0: no limit)


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def schedule_steps(train_config: TrainConfig, steps_per_epoch: int) -> tuple[int, int]:
    """Steps of the cosine decay and of the warmup before it."""
    total_steps = max(1, train_config.epochs * steps_per_epoch)
    warmup_steps = min(total_steps - 1, int(train_config.warmup_epochs * steps_per_epoch))
    return total_steps - warmup_steps, warmup_steps


def compile_model(model: keras.Model, train_config: TrainConfig,
                  steps_per_epoch: int) -> keras.optimizers.schedules.CosineDecay:
    """Compile with AdamW under a linear warmup then cosine decay of the learning rate; return
    the schedule.

    Its step counts are variables, so that the compiled model can be trained again for another
    number of steps without tracing its functions again (`compile_once`).
    """
    decay_steps, warmup_steps = (keras.Variable(steps, "float32", trainable=False)
                                 for steps in schedule_steps(train_config, steps_per_epoch))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=train_config.learning_rate / 10,
        decay_steps=decay_steps,
        warmup_target=train_config.learning_rate,
        warmup_steps=warmup_steps,
    )
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=train_config.weight_decay)
    # The plain cross-entropy is tracked beside the loss: with label smoothing they differ.
    model.compile(optimizer=optimizer, loss=smoothed_crossentropy(train_config.label_smoothing),
                  metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(
                      name="crossentropy")])
    return schedule


# The models `train` compiled: for each, what it was compiled for and its optimizer's starting
# state. Training one again with the same settings resets its optimizer and sets its schedule's
# length instead of compiling it anew, which would make Keras trace its functions again (a
# second or two: most of the overhead of a fine-tuning run of a few seconds).
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compile_once(model: keras.Model, train_config: TrainConfig, steps_per_epoch: int) -> None:
    """`compile_model`, or, when `train` compiled this model before with the same learning rate,
    warmup, weight decay, label smoothing and trainable weights, its optimizer put back to how
    it started and its schedule set to this run's length."""
    settings = asdict(train_config)
    wanted = ([settings[name] for name in ("learning_rate", "warmup_epochs", "weight_decay",
                                             "label_smoothing")],
              [weight.path for weight in model.trainable_weights])
    known = _compiled.get(model)
    if known is not None and known[0] == wanted:
        _, start, schedule = known
        for variable, value in zip(model.optimizer.variables, start, strict=True):
            variable.assign(value)
        decay_steps, warmup_steps = schedule_steps(train_config, steps_per_epoch)
        schedule.decay_steps.assign(decay_steps)
        schedule.warmup_steps.assign(warmup_steps)
        return
    schedule = compile_model(model, train_config, steps_per_epoch)
    model.optimizer.build(model.trainable_variables)
    _compiled[model] = (wanted, [keras.ops.convert_to_numpy(variable)
                                 for variable in model.optimizer.variables], schedule)


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


def train(model: keras.Model, mnist, train_config: TrainConfig = TrainConfig(),
          augmentation: keras.Layer | None = None, models_dir: Path | None = None,
          extra_callbacks: list | None = None, verbose: int | str = 2,
          recipe: dict | None = None, validation: tuple | None = None,
          record: dict | None = None, log_dir: Path | None | bool = None,
          resumable: bool = True, save: bool = True) -> dict:
    """Train `model` on MNIST, calibrate it on the validation images, evaluate it on the test set
    and save it with its metrics.

    Writes `models/<model.name>.keras`, `.metrics.json` and `.history.csv`, each through a
    temporary file and a rename, so an interrupted run leaves the previous files intact. After
    every epoch the run's state goes to `models/.<model.name>.<run key>.resume.npz`: started
    again, an interrupted run carries on after its last completed epoch (`digitlab.mnist.resume`).

    Args:
        model: an uncompiled digitlab model (see `digitlab.mnist.models`).
        mnist: `((x_train, y_train), (x_test, y_test))` as `load_mnist` returns (no test image:
            the test metrics are None).
        augmentation: layers applied to training batches only, or None.
        models_dir: where to save (default: config.MODELS_DIR).
        recipe: the model and augmentation settings to record beside the training config
            (`digitlab.mnist.recipes.Recipe.record()`), so the run can be rebuilt from its metrics.
        validation: `(images, labels)` to validate and calibrate on instead of `validation_size`
            images split off the training set (fine-tuning has none to spare); with none (and
            `keep="last"`) the model keeps the calibration its weights carry: temperature 1.
        record: more to save in the metrics (e.g. what a fine-tuned model started from).
        log_dir: where TensorBoard logs go (losses, accuracies, learning rate per epoch);
            default `runs/<name>/<date-time>/` beside the models folder; False for none.
        resumable: save the run's state after every epoch (False for runs of seconds, such as
            fine-tuning on a few images, where writing it would cost more than it saves).
        save: write the model and its files; False only returns the metrics (a study's many
            short runs, where saving would take a twentieth of each).

    Returns:
        The metrics dictionary (the one saved).
    """
    (x_train, y_train), (x_test, y_test) = mnist
    if validation is None:
        (x_fit, y_fit), (x_val, y_val) = split_validation(
            x_train, y_train, train_config.validation_size, train_config.seed)
    else:
        (x_fit, y_fit), (x_val, y_val) = (x_train, y_train), validation
    validating = len(y_val) > 0
    if not validating and train_config.keep != "last":
        raise ValueError("keep='best' chooses an epoch on validation images; with none, keep "
                         "'last'.")
    steps = int(np.ceil(len(x_fit) / train_config.batch_size))
    devices.check_built_under_strategy(model)
    with devices.strategy().scope():  # the strategy the model was built under
        compile_once(model, train_config, steps)
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
    # A run that saves no state after its epochs takes them all from one pipeline.
    epochs = None if resumable else range(done, train_config.epochs)
    train_data = make_dataset(x_fit, y_fit, train_config.batch_size, True, augmentation,
                              train_config.seed, epoch, epochs)
    val_data = make_dataset(x_val, y_val, 1024, False) if validating else None
    if log_dir is None:
        log_dir = models_dir.parent / "runs" / model.name / time.strftime("%Y%m%d-%H%M%S")
    logs = [keras.callbacks.TensorBoard(str(log_dir), write_graph=False)] if log_dir else []
    # The checkpoint comes last, so it saves what every other callback did this epoch.
    callbacks = [EpochCounter(epoch), LearningRateLog(), *([stopper] if stopper else []),
                 *logs, *(extra_callbacks or []), checkpoint]
    code = git_state()  # at the start: the tree may change while a long run trains
    start = time.perf_counter()
    if done < train_config.epochs and not checkpoint.stopped:
        # Keeping the last epoch, nothing is chosen on the epochs before it: the validation
        # images are measured once, at the end.
        model.fit(train_data, validation_data=val_data, epochs=train_config.epochs, shuffle=False,
                  initial_epoch=done, callbacks=callbacks, verbose=verbose,
                  steps_per_epoch=None if epochs is None else steps,
                  validation_freq=train_config.epochs if train_config.keep == "last" else 1)
    elif stopper is not None and (stopper.resume_state or {}).get("best_weights") is not None:
        best = (stopper.resume_state or {})["best_weights"]
        model.set_weights(best)  # what the run's end would have restored
    seconds = checkpoint.seconds_before + time.perf_counter() - start  # all sessions of the run
    history = checkpoint.history
    kept = kept_epoch(history) if train_config.keep == "best" else len(history["loss"]) - 1
    temperature = 1.0
    if validating:
        temperature = max(train_config.min_temperature,
                          fit_temperature(model.predict(val_data, verbose=0), y_val))
        apply_temperature(model, temperature)
    test: dict = {"test_accuracy": None, "test_loss": None, "test_errors": None}  # no test set
    if len(y_test):
        scores = model.evaluate(make_dataset(x_test, y_test, 1024, False), verbose=0,
                                return_dict=True)
        test = {"test_accuracy": float(scores["accuracy"]),
                "test_loss": float(scores["crossentropy"]),  # without label smoothing
                "test_errors": int(round((1 - scores["accuracy"]) * len(x_test)))}

    path = models_dir / f"{model.name}.keras"
    metrics = {
        "name": model.name, "model": path.name, **test,
        "val_accuracy": float(history["val_accuracy"][kept]) if validating else None,
        "kept_epoch": kept + 1, "temperature": temperature,
        "parameters": int(model.count_params()), "epochs_run": len(history["loss"]),
        "train_seconds": round(seconds, 1), "train_images": len(x_fit),
        "validation_images": len(x_val),
        # MNIST's, unless the caller brought its own validation images (fine-tuning on others)
        **({"mnist_images": {"train": len(x_train), "test": len(x_test)},  # subsample if < full
            "mnist_sha256": mnist_hashes()} if validation is None else {}),
        "augmentation": augmentation is not None, "config": asdict(train_config),
        "seed": train_config.seed, "recipe": recipe,
        "git": code, "versions": versions(), "hardware": hardware(),
        "replicas": devices.strategy().num_replicas_in_sync,
        **(record or {}),
    }
    if save:  # everything is gathered first, so the files are replaced one right after another
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


SUMMARY_KEYS = ("test_accuracy", "test_errors", "test_loss", "val_accuracy", "kept_epoch",
                "temperature", "parameters", "epochs_run", "train_seconds")


