"""The shipped training recipes: the model, augmentation and training settings of notebooks 03
(MLP) and 04 (CNN), in one place, so that notebooks, benchmarks and `digitlab train --config`
all train the same thing.

The CNN's recipe is every config class's defaults (`CNNConfig`, `AugmentConfig`, `TrainConfig`,
where each setting says what it does), so there is one copy of it; the MLP's says where it
differs. How each setting was chosen is in the README ("How the models are trained").
"""

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from digitlab import config
from digitlab.errors import ModelError
from digitlab.mnist import devices
from digitlab.mnist.augment import AugmentConfig, build_augmentation
from digitlab.mnist.models import CNNConfig, MLPConfig, build_model
from digitlab.mnist.train import RunOptions, TrainConfig, default_log_dir, set_seed, train

MODEL_CONFIGS = {"mlp": MLPConfig, "cnn": CNNConfig}


@dataclass(frozen=True)
class Recipe:
    """Everything needed to train a model again: its kind, and the three configs."""

    kind: str  # "mlp" or "cnn"
    model: MLPConfig | CNNConfig
    augment: AugmentConfig
    train: TrainConfig

    def record(self) -> dict:
        """The recipe as plain JSON-ready values (saved in every `.metrics.json`)."""
        return {"kind": self.kind, "model": asdict(self.model), "augment": asdict(self.augment),
                "train": asdict(self.train)}

    @classmethod
    def from_record(cls, record: dict) -> "Recipe":
        """The recipe `record()` wrote; raises ValueError when a field is missing or unknown."""
        try:
            kind = record["kind"]
            model = MODEL_CONFIGS[kind](**_tuples(record["model"]))
            return cls(kind, model, AugmentConfig(**record["augment"]),
                       TrainConfig(**record["train"]))
        except (KeyError, TypeError) as error:
            raise ValueError(f"Not a complete digitlab recipe record ({error!r}).") from error


def _tuples(fields: dict) -> dict:
    """JSON turns tuples into lists; the frozen configs want their tuples back."""
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in fields.items()}


CNN = Recipe("cnn", CNNConfig(), AugmentConfig(), TrainConfig())

MLP = Recipe(
    "mlp",
    MLPConfig(),
    # Milder than the CNN's: an MLP cannot share what it learns across positions.
    AugmentConfig(rotation_degrees=8, shift=0.05, zoom=0.05),
    TrainConfig(learning_rate=1e-3, label_smoothing=0.0),
)

RECIPES = {"mlp": MLP, "cnn": CNN}


def quick(recipe: Recipe) -> Recipe:
    """The same recipe shrunk to a seconds-long smoke run (one or two epochs, 500 validation
    images): what the tests and `DIGITLAB_QUICK=1` use."""
    epochs = 2 if recipe.kind == "mlp" else 1
    return replace(recipe, train=replace(recipe.train, epochs=epochs, validation_size=500))


def with_seed(recipe: Recipe, seed: int) -> Recipe:
    """The same recipe under another seed (weights, dropout, shuffling, augmentation, split)."""
    return replace(recipe, train=replace(recipe.train, seed=seed))


def run(recipe: Recipe, mnist, name: str | None = None, tensorboard: bool = True,
        **options) -> dict:
    """Seed everything, build the model and augmentation, and `train.train` them.

    Args:
        mnist: `((x_train, y_train), (x_test, y_test))` as `load_mnist` returns.
        name: the model's name, hence its file names (default: the recipe's kind).
        tensorboard: write TensorBoard logs to `runs/<name>/<date-time>/` beside the models.
        options: `train.RunOptions`' fields (models_dir, verbose, resumable, ...).

    Returns:
        The saved metrics, which record this recipe.
    """
    seed = recipe.train.seed
    set_seed(seed)  # weights, dropout, shuffling and augmentation all follow this seed
    with devices.strategy().scope():  # one replica per GPU where there are several
        model = build_model(recipe.kind, recipe.model, name=name or recipe.kind)
    augmentation = build_augmentation(recipe.augment, seed=seed)
    run_options = RunOptions(**options)
    if tensorboard and run_options.log_dir is None:
        models_dir = run_options.models_dir or config.MODELS_DIR
        run_options = replace(run_options, log_dir=default_log_dir(models_dir, model.name))
    return train(model, mnist, recipe.train, augmentation, recipe=recipe.record(),
                 options=run_options)


def rerun(metrics_path: str | Path, models_dir: str | Path, overwrite: bool = False,
          verbose: int | str = 2) -> tuple[dict, dict]:
    """Train again the run a `.metrics.json` records: its recipe and seed, on the same MNIST
    images (the same subsample when the run used one), into `models_dir` (never models/).

    Returns:
        (the new run's metrics, the recorded ones).

    Raises:
        ModelError: the file is not a metrics file with a recipe, `models_dir` is models/, or
            the model there exists and `overwrite` is False.
    """
    from digitlab.mnist import data

    path = Path(metrics_path)
    try:
        record = json.loads(path.read_text())
        recipe = Recipe.from_record(record["recipe"])
        name = str(record["name"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{path}: not a metrics file with a recorded recipe ({error!r}). Runs "
                         "recorded before recipes were saved cannot be rebuilt this way; "
                         "notebooks 03 and 04 train the shipped recipes.") from error
    models_dir = Path(models_dir)
    if models_dir.resolve() == config.MODELS_DIR.resolve():
        raise ModelError(f"{models_dir}: a rebuilt run never goes into models/, where it would "
                         "replace the committed model; give another --out.")
    if (models_dir / f"{name}.keras").exists() and not overwrite:
        raise ModelError(f"{models_dir / f'{name}.keras'} exists; pass --overwrite to replace "
                         "it, or another --out.")
    mnist = data.load_mnist()
    sizes = record.get("mnist_images", {"train": 60000, "test": 10000})
    if (sizes["train"], sizes["test"]) != (len(mnist[0][1]), len(mnist[1][1])):
        mnist = data.subsample(mnist, sizes["train"], sizes["test"])
    return run(recipe, mnist, name=name, models_dir=models_dir, verbose=verbose), record
