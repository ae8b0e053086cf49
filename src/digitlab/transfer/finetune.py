"""Transfer learning: reuse a model trained on MNIST for other handwriting with few labels.

`sklearn_digits` brings scikit-learn's handwritten digits (UCI "optical recognition", 8x8, 17
grey levels, 43 writers) into MNIST's format; `few_shot` draws k labelled images per digit;
`finetune` adapts a saved model under one of `STRATEGIES`, through `train.train` (same
schedule, atomic saving and metrics as the MNIST models).
"""

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from digitlab.mnist import devices, recipes
from digitlab.mnist.augment import build_augmentation
from digitlab.mnist.train import CompiledModels, RunOptions, TrainConfig, set_seed, train

STRATEGIES = ("head", "full", "scratch")


def copy_for(base: keras.Model, strategy: str, freeze_batchnorm: bool = True) -> keras.Model:
    """A copy of `base` ready for `strategy`: `head` trains the classifier only, `full` every
    layer, `scratch` the same architecture from fresh random weights.

    Batch normalisation stays frozen (inference mode, MNIST's statistics) in `head` and, unless
    `freeze_batchnorm` is False, in `full`: a batch of a few images gives noisy statistics, and
    letting them move the stored averages shifts every feature the network learned before the
    weights can adapt. (A frozen Keras 3 BatchNormalization layer runs in inference mode even
    while training.) A scratch network's statistics follow its batches sooner (momentum 0.9):
    its run is too short for the usual 0.99.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {STRATEGIES}.")
    copy = type(base).from_config(base.get_config())  # fresh random weights
    if strategy == "scratch":
        for layer in copy.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
        return copy
    copy.set_weights(base.get_weights())
    classifier = copy.layers[-1]
    for layer in copy.layers:
        if strategy == "head":
            # Features frozen; the classifier starts from MNIST's (the same ten digits).
            layer.trainable = layer is classifier
        elif freeze_batchnorm and isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return copy


@dataclass(frozen=True)
class FinetuneConfig:
    """How to adapt a model to a few images. The defaults were chosen on validation images of
    the new set, never its held-out ones (benchmarks/transfer_choices.py)."""

    strategy: str = "full"
    epochs: int = 4
    learning_rate: float = 1e-3  # peak of the warm-up + cosine schedule
    batch_size: int = 32
    epoch_images: int = 256  # few images are repeated (augmented anew) to fill an epoch
    augment: bool = True  # the CNN recipe's augmentation
    freeze_batchnorm: bool = True
    rehearsal: int = 0  # MNIST images mixed into each epoch, so the model keeps what it knew

    def train_config(self, seed: int) -> TrainConfig:
        # The last epoch is kept: choosing one on validation images would use more labels
        # than the k per digit a run is allowed.
        # The temperature may soften the model, never sharpen it (at least 1): it starts from
        # the base's calibrated last layer, and training on a few images only makes it surer.
        # When the model reads every validation image right, as it does a handful, the fit
        # picks the sharpest temperature it tries (0.05: every confidence 1.0) however few the
        # images; the fine-tuned model then gave 1.0 to noise, a smiley and a letter.
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size,
                           learning_rate=self.learning_rate, warmup_epochs=1.0,
                           label_smoothing=0.0, seed=seed, keep="last", min_temperature=1.0)


def repeated(images: np.ndarray, labels: np.ndarray, size: int):
    """The images repeated whole until there are at least `size` of them."""
    times = max(1, int(np.ceil(size / max(1, len(images)))))
    return np.tile(images, (times, 1, 1)), np.tile(labels, times)


def finetune(base: keras.Model, training: tuple, validation: tuple | None,
             held_out: tuple | None,
             config: FinetuneConfig = FinetuneConfig(), seed: int = 0,
             models_dir: Path | None = None, name: str = "finetuned", verbose: int = 0,
             record: dict | None = None, rehearse_on: tuple | None = None,
             compiled: CompiledModels | None = None, save: bool = True) -> dict:
    """Fine-tune a copy of `base` on `training` images under `config.strategy`.

    Args:
        training, validation, held_out: `(uint8 images (n, 28, 28), labels)` each; validation
            fits the confidence temperature (never below 1); held_out is only measured
            (`test_accuracy`). Neither may hold a training image. None: no such images, so
            the model keeps the base's calibration (temperature 1), or `test_accuracy` is None.
        models_dir: where `train.train` saves `<name>.keras` and its metrics (unless `save` is
            False).
        record: more to save in the metrics (e.g. the source model's file and SHA-256).
        rehearse_on: `(images, labels)` the base model learned from (MNIST's training set), to
            draw `config.rehearsal` of them from; needed when `config.rehearsal` > 0.
        compiled: what the caller keeps between runs on the same `base` in one process: a
            model an earlier run compiled for the same strategy is trained again, given the
            weights and random state a fresh copy would have, so results do not change but Keras
            need not trace its functions again (`train.CompiledModels`).

    Returns:
        The metrics of `train.train`, with the strategy and fine-tuning settings added.
    """
    set_seed(seed)
    with devices.strategy().scope():
        model = copy_for(base, config.strategy, config.freeze_batchnorm)
    if compiled is not None:
        twin = compiled.twins.setdefault((config.strategy, config.freeze_batchnorm), model)
        if twin is not model:
            # The fresh copy's weights, batch-norm statistics and dropout generators' states.
            for target, source in zip(twin.variables, model.variables, strict=True):
                target.assign(source)
            model = twin
    model.name = name
    x, y = repeated(training[0], training[1], config.epoch_images)
    if config.rehearsal:
        if rehearse_on is None:
            raise ValueError("config.rehearsal needs rehearse_on: the images the base learned.")
        old = np.random.default_rng(seed).choice(len(rehearse_on[1]), config.rehearsal,
                                                 replace=False)
        x, y = np.concatenate([x, rehearse_on[0][old]]), np.concatenate([y, rehearse_on[1][old]])
    augmentation = build_augmentation(recipes.CNN.augment, seed=seed) if config.augment else None
    none = (training[0][:0], training[1][:0])  # no images, in the training images' format
    settings = {**vars(config), "training_images": int(len(training[1])),
                "digits": sorted(int(digit) for digit in np.unique(training[1]))}
    options = RunOptions(models_dir=models_dir, verbose=verbose, resumable=False, save=save,
                         compiled=compiled, record={"finetune": settings, **(record or {})})
    return train(model, ((x, y), held_out or none), config.train_config(seed), augmentation,
                 validation=validation or none, options=options)


# What notebook 08 compares, each with its best settings on validation images.
CONFIGS = {
    "head": FinetuneConfig("head", learning_rate=1e-3),
    "full": FinetuneConfig("full", epochs=8, learning_rate=3e-4, rehearsal=256),
    "scratch": FinetuneConfig("scratch", epochs=12, learning_rate=1e-3),
}


