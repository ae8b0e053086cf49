"""Train any digitlab model, in four steps a reader can follow: fit (a tf.data pipeline, the
warm-up + cosine schedule, early stopping, resuming), calibrate (a temperature fitted on the
validation images), test, and save the run (atomically, with its metrics and history)."""

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from digitlab import config
from digitlab.atomic import write_text_atomically
from digitlab.mnist import devices
from digitlab.mnist.data import mnist_hashes
from digitlab.mnist.pipeline import make_dataset, split_validation
from digitlab.mnist.resume import Checkpoint, ResumableEarlyStopping, fingerprint
from digitlab.mnist.runfiles import history_csv, kept_epoch, save_atomically, without_optimizer
from digitlab.provenance import file_sha256, git_state, hardware, versions


@dataclass(frozen=True)
class TrainConfig:
    """How to train. The validation images come from the training set, never the test set.
    The defaults are the shipped CNN recipe's (`digitlab.mnist.recipes.CNN`)."""

    epochs: int = 12
    batch_size: int = 128
    learning_rate: float = 3e-3  # peak of the warmup + cosine schedule
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4
    validation_size: int = 5000
    patience: int = 5  # epochs without validation improvement before stopping early
    label_smoothing: float = 0.1  # share of each target spread evenly over all ten digits
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
    number of steps without tracing its functions again (`CompiledModels`).
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


class CompiledModels:
    """Models a caller trains again and again in one process (a study's many short runs), each
    kept compiled: training one again with the same settings puts its optimizer back to how it
    started and sets its schedule's length, instead of compiling it anew, which would make Keras
    trace its functions again (a second or two: most of a fine-tuning run of a few seconds).
    """

    def __init__(self) -> None:
        self.twins: dict = {}  # the models kept for reuse, by what the caller built them for
        self.known: dict[int, tuple] = {}  # id(model) -> (model, settings, start, schedule)

    def compile(self, model: keras.Model, train_config: "TrainConfig",
                steps_per_epoch: int) -> None:
        """`compile_model`, or, when this model was compiled here before with the same learning
        rate, warmup, weight decay, label smoothing and trainable weights, its optimizer reset
        and its schedule set to this run's length."""
        settings = asdict(train_config)
        wanted = ([settings[name] for name in ("learning_rate", "warmup_epochs", "weight_decay",
                                                 "label_smoothing")],
                  [weight.path for weight in model.trainable_weights])
        known = self.known.get(id(model))
        if known is not None and known[0] is model and known[1] == wanted:
            _, _, start, schedule = known
            for variable, value in zip(model.optimizer.variables, start, strict=True):
                variable.assign(value)
            decay_steps, warmup_steps = schedule_steps(train_config, steps_per_epoch)
            schedule.decay_steps.assign(decay_steps)
            schedule.warmup_steps.assign(warmup_steps)
            return
        schedule = compile_model(model, train_config, steps_per_epoch)
        model.optimizer.build(model.trainable_variables)
        self.known[id(model)] = (model, wanted, [keras.ops.convert_to_numpy(variable)
                                                 for variable in model.optimizer.variables],
                                 schedule)


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


@dataclass(frozen=True)
class RunOptions:
    """Where a run goes and what it leaves; none of it changes the trained model."""

    models_dir: Path | None = None  # where the files go (default: config.MODELS_DIR)
    verbose: int | str = 2  # Keras' progress output
    log_dir: Path | None = None  # TensorBoard logs (losses, accuracies, learning rate); None: none
    # Save the run's state after every epoch, so a stopped run resumes (False for runs of
    # seconds, such as fine-tuning on a few images, where writing it costs more than it saves).
    resumable: bool = True
    # Write the model and its files; False only returns the metrics (a study's many short runs).
    save: bool = True
    callbacks: tuple = ()  # more Keras callbacks
    compiled: CompiledModels | None = None  # reuse models compiled by earlier runs
    record: dict = field(default_factory=dict)  # more to save in the metrics


def train(model: keras.Model, data, train_config: TrainConfig = TrainConfig(),
          augmentation: keras.Layer | None = None, recipe: dict | None = None,
          validation: tuple | None = None, options: RunOptions = RunOptions()) -> dict:
    """Fit `model`, calibrate it on the validation images, test it and save the run.

    Writes `<models_dir>/<model.name>.keras`, `.metrics.json` and `.history.csv`, each through
    a temporary file and a rename, so an interrupted run leaves the previous files intact; a
    resumable run carries on after its last completed epoch (`digitlab.mnist.resume`).

    Args:
        model: an uncompiled digitlab model (see `digitlab.mnist.models`).
        data: `((x_train, y_train), (x_test, y_test))` uint8 images and labels, as `load_mnist`
            returns (or other digits: fine-tuning's); no test image: the test metrics are None.
        augmentation: layers applied to training batches only, or None.
        recipe: the model and augmentation settings to record beside the training config
            (`digitlab.mnist.recipes.Recipe.record()`), so the run can be rebuilt from its metrics.
        validation: `(images, labels)` to validate and calibrate on instead of `validation_size`
            images split off the training set (fine-tuning has none to spare); with none (and
            `keep="last"`) the model keeps the calibration its weights carry: temperature 1.

    Returns:
        The metrics dictionary (the one saved).
    """
    (x_train, y_train), (x_test, y_test) = data
    split_off = validation is None  # MNIST's own validation split, not the caller's images
    if validation is None:
        fitting, held = split_validation(x_train, y_train, train_config.validation_size,
                                         train_config.seed)
    else:
        fitting, held = (x_train, y_train), validation
    models_dir = Path(options.models_dir or config.MODELS_DIR)
    checkpoint, history, seconds, code = fit(model, fitting, held, train_config, augmentation,
                                             models_dir, options)
    temperature = calibrate(model, held, train_config.min_temperature)
    kept = kept_epoch(history) if train_config.keep == "best" else len(history["loss"]) - 1
    metrics = {
        "name": model.name, "model": f"{model.name}.keras", **score_on_test(model, x_test, y_test),
        "val_accuracy": float(history["val_accuracy"][kept]) if len(held[1]) else None,
        "kept_epoch": kept + 1, "temperature": temperature,
        "parameters": int(model.count_params()), "epochs_run": len(history["loss"]),
        "train_seconds": round(seconds, 1), "train_images": len(fitting[1]),
        "validation_images": len(held[1]),
        # MNIST's, unless the caller brought its own validation images (fine-tuning on others)
        **({"mnist_images": {"train": len(x_train), "test": len(x_test)},  # subsample if < full
            "mnist_sha256": mnist_hashes()} if split_off else {}),
        "augmentation": augmentation is not None, "config": asdict(train_config),
        "seed": train_config.seed, "recipe": recipe,
        "git": code, "versions": versions(), "hardware": hardware(),
        "replicas": devices.strategy().num_replicas_in_sync, **options.record,
    }
    if options.save:
        save_run(model, metrics, history, models_dir)
    checkpoint.remove()  # the run is complete: a new one starts from scratch
    return metrics


def fit(model: keras.Model, fitting: tuple, validation: tuple, train_config: TrainConfig,
        augmentation: keras.Layer | None, models_dir: Path, options: RunOptions
        ) -> tuple[Checkpoint, dict, float, dict]:
    """Compile and fit `model` on `fitting` (images, labels), resuming a stopped run.

    Returns:
        the run's checkpoint (to remove once the run is saved), its history, its training
        seconds over every session, and the git state at its start.
    """
    validating = len(validation[1]) > 0
    if train_config.keep not in ("best", "last"):
        raise ValueError(f"keep must be 'best' or 'last', got {train_config.keep!r}.")
    if not validating and train_config.keep != "last":
        raise ValueError("keep='best' chooses an epoch on validation images; with none, keep "
                         "'last'.")
    steps = int(np.ceil(len(fitting[1]) / train_config.batch_size))
    devices.check_built_under_strategy(model)
    with devices.strategy().scope():  # the strategy the model was built under
        if options.compiled is not None:
            options.compiled.compile(model, train_config, steps)
        else:
            compile_model(model, train_config, steps)
            # Built now, so a resumed run's saved state has every optimizer variable to go to.
            model.optimizer.build(model.trainable_variables)
    stopper = None
    if train_config.keep == "best":
        # Validation loss, not accuracy: on 5,000 images accuracy moves in steps of 0.02 points
        # and its best epoch is often chance (once epoch 10 of 14, mid-schedule); the loss is
        # smooth.
        stopper = ResumableEarlyStopping(monitor="val_loss", patience=train_config.patience,
                                         restore_best_weights=True)
    key = fingerprint(asdict(train_config), model.name, architecture(model),
                      augmentation.get_config() if augmentation is not None else None,
                      len(fitting[1]), len(validation[1]))
    # One state file per run (the key in its name), so another run of the same model name, a
    # quick one say, never overwrites an interrupted run's state.
    checkpoint = Checkpoint(models_dir / f".{model.name}.{key}.resume.npz", key, augmentation,
                            stopper, enabled=options.resumable)
    done = checkpoint.restore(model)
    epoch = tf.Variable(done, dtype=tf.int64, trainable=False)
    # A run that saves no state after its epochs takes them all from one pipeline.
    epochs = None if options.resumable else range(done, train_config.epochs)
    train_data = make_dataset(fitting[0], fitting[1], train_config.batch_size, True,
                              augmentation, train_config.seed, epoch, epochs)
    val_data = make_dataset(validation[0], validation[1], 1024, False) if validating else None
    logs = ([keras.callbacks.TensorBoard(str(options.log_dir), write_graph=False)]
            if options.log_dir else [])
    # The checkpoint comes last, so it saves what every other callback did this epoch.
    callbacks = [EpochCounter(epoch), LearningRateLog(), *([stopper] if stopper else []),
                 *logs, *options.callbacks, checkpoint]
    code = git_state()  # at the start: the tree may change while a long run trains
    start = time.perf_counter()
    if done < train_config.epochs and not checkpoint.stopped:
        # Keeping the last epoch, nothing is chosen on the epochs before it: the validation
        # images are measured once, at the end.
        model.fit(train_data, validation_data=val_data, epochs=train_config.epochs, shuffle=False,
                  initial_epoch=done, callbacks=callbacks, verbose=options.verbose,
                  steps_per_epoch=None if epochs is None else steps,
                  validation_freq=train_config.epochs if train_config.keep == "last" else 1)
    elif stopper is not None and (stopper.resume_state or {}).get("best_weights") is not None:
        best = (stopper.resume_state or {})["best_weights"]
        model.set_weights(best)  # what the run's end would have restored
    seconds = checkpoint.seconds_before + time.perf_counter() - start  # all sessions of the run
    return checkpoint, checkpoint.history, seconds, code


def calibrate(model: keras.Model, validation: tuple, min_temperature: float = 0.0) -> float:
    """Fit a temperature on the validation (images, labels) and fold it into the model's last
    layer; returns it (1.0, nothing changed, when there are no validation images)."""
    if not len(validation[1]):
        return 1.0
    probabilities = model.predict(make_dataset(validation[0], validation[1], 1024, False),
                                  verbose=0)
    temperature = max(min_temperature, fit_temperature(probabilities, validation[1]))
    apply_temperature(model, temperature)
    return temperature


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


def score_on_test(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> dict:
    """Test accuracy, loss (plain cross-entropy, without label smoothing) and errors; None each
    when there are no test images."""
    if not len(labels):
        return {"test_accuracy": None, "test_loss": None, "test_errors": None}
    scores = model.evaluate(make_dataset(images, labels, 1024, False), verbose=0,
                            return_dict=True)
    return {"test_accuracy": float(scores["accuracy"]), "test_loss": float(scores["crossentropy"]),
            "test_errors": int(round((1 - scores["accuracy"]) * len(labels)))}


def save_run(model: keras.Model, metrics: dict, history: dict, models_dir: Path) -> None:
    """Write the model (without its optimizer), then its history and metrics (which gain the
    model file's SHA-256), one right after another."""
    path = models_dir / metrics["model"]
    save_atomically(without_optimizer(model), path)
    metrics["model_sha256"] = file_sha256(path)
    write_text_atomically(models_dir / f"{model.name}.history.csv", history_csv(history))
    write_text_atomically(models_dir / f"{model.name}.metrics.json",
                          json.dumps(metrics, indent=2) + "\n")


def default_log_dir(models_dir: Path, name: str) -> Path:
    """`runs/<name>/<date-time>/` beside the models folder: where `make tensorboard` looks."""
    return Path(models_dir).parent / "runs" / name / time.strftime("%Y%m%d-%H%M%S")


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


