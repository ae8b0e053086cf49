"""The few-shot study of notebook 08: fine-tuning runs for every strategy, number of labels k
and random draw, each measured on the same held-out digits; spread over worker processes,
since each run is short and mostly single-threaded Python.

Importing this module does not load TensorFlow: a worker process starting up reads its share
of the data before it loads TensorFlow, so the next worker can start at once.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from digitlab import config
from digitlab.atomic import write_text_atomically
from digitlab.provenance import file_sha256
from digitlab.transfer.digits import few_shot

if TYPE_CHECKING:
    from digitlab.transfer.finetune import FinetuneConfig


@dataclass(frozen=True)
class Run:
    """One fine-tuning run: its settings and which pool images it learns from and validates on."""

    strategy: str  # its name in the configs
    config: FinetuneConfig
    k: int | None  # labelled images per digit; None: the whole pool
    draw: int  # the seed of the draw and of the run
    chosen: np.ndarray  # indices into the digit set
    validation: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.config.strategy}_k{self.k or 'all'}_draw{self.draw}"

    @property
    def cost(self) -> float:
        """Images it trains on, in all: how long it takes, roughly. A step from scratch costs
        about 1.4 times another (measured): its batch normalisation learns."""
        chosen = len(self.chosen)
        per_epoch = chosen * -(-self.config.epoch_images // chosen) + self.config.rehearsal
        return self.config.epochs * per_epoch * (1.4 if self.config.strategy == "scratch" else 1)


def plan_runs(labels: np.ndarray, pool: np.ndarray, plan: list[tuple[str, list, int]],
              configs: dict[str, FinetuneConfig], validation_per_digit: int = 20) -> list[Run]:
    """The runs of `plan`, a list of (strategy, the k to try, draws per k).

    k = None trains on the whole pool but a fixed `validation_per_digit` images per digit kept
    for validation (draws then differ in their seed only); otherwise the validation images are
    drawn from what the k-shot draw left.
    """
    runs = []
    for strategy, shots, draws in plan:
        for k in shots:
            for draw in range(draws):
                if k is None:
                    validation = pool[few_shot(labels[pool], validation_per_digit, 0)]
                    chosen = np.setdiff1d(pool, validation)
                else:
                    chosen = pool[few_shot(labels[pool], k, draw)]
                    left = np.setdiff1d(pool, chosen)
                    validation = left[few_shot(labels[left], validation_per_digit, draw)]
                runs.append(Run(strategy, configs[strategy], k, draw, chosen, validation))
    return runs


_shared: dict = {}  # what every run of a process needs, loaded once per process


def _start(base_path: Path, images: np.ndarray, labels: np.ndarray, held_out: np.ndarray,
           models_dir: Path | None, keep: frozenset, rehearse_on: tuple | None,
           threads: int) -> None:
    import tensorflow as tf

    if threads:  # one thread per worker process: the processes share the cores
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        # Every run builds a new model, so Keras traces its functions anew: by design, not the
        # accident TensorFlow's retracing warning is about.
        tf.get_logger().setLevel("ERROR")
    from digitlab.mnist.models import load_model
    from digitlab.mnist.train import CompiledModels

    _shared.update(base=load_model(base_path), images=images, labels=labels,
                   held_out=held_out, models_dir=models_dir, keep=keep, rehearse_on=rehearse_on,
                   compiled=CompiledModels())


def _train(run: Run) -> dict:
    from digitlab.transfer.finetune import finetune

    images, labels, held_out = _shared["images"], _shared["labels"], _shared["held_out"]
    metrics = finetune(_shared["base"], (images[run.chosen], labels[run.chosen]),
                       (images[run.validation], labels[run.validation]),
                       (images[held_out], labels[held_out]), run.config, run.draw,
                       _shared["models_dir"], name=run.name, rehearse_on=_shared["rehearse_on"],
                       compiled=_shared["compiled"], save=run.name in _shared["keep"])
    return {"strategy": run.strategy, "k": "all" if run.k is None else run.k, "draw": run.draw,
            "images": len(run.chosen), "val_accuracy": metrics["val_accuracy"],
            "test_accuracy": metrics["test_accuracy"], "seconds": metrics["train_seconds"]}


def _train_all(runs: list[Run]) -> list[dict]:
    return [_train(run) for run in runs]


def default_workers() -> int:
    """One worker process per CPU core; one in all where a GPU does the work."""
    import tensorflow as tf

    return 1 if tf.config.list_physical_devices("GPU") else os.cpu_count() or 1


def study(base_path: str | Path, images: np.ndarray, labels: np.ndarray, pool: np.ndarray,
          held_out: np.ndarray, plan: list[tuple[str, list, int]],
          configs: dict[str, FinetuneConfig] | None = None, validation_per_digit: int = 20,
          models_dir: Path | None = None, keep: Iterable[str] = (),
          rehearse_on: tuple | None = None, workers: int = 1) -> list[dict]:
    """Held-out accuracy after fine-tuning the model at `base_path` for every run of `plan`
    (see `plan_runs`); one row per run, in the plan's order.

    Each run is seeded by its draw, so the rows do not depend on which process ran them.
    `configs`: the settings of each strategy the plan names (default `finetune.CONFIGS`);
    `keep`: the runs whose models are saved in `models_dir` (`Run.name`, such as
    "full_k10_draw0", `.keras`), the others are only measured;
    `rehearse_on`: the base model's training images, for configs with `rehearsal`.
    """
    if configs is None:
        from digitlab.transfer.finetune import CONFIGS

        configs = CONFIGS
    runs = plan_runs(labels, pool, plan, configs, validation_per_digit)
    shared = (Path(base_path), images, labels, held_out, models_dir, frozenset(keep),
              rehearse_on)
    if workers <= 1 or len(runs) <= 1:  # in this process
        _start(*shared, threads=0)
        return [_train(run) for run in runs]
    # The draws of one strategy and k go to one worker (which compiles a strategy's model once),
    # the longest groups first, so that no worker is left with a long one while the others wait.
    groups: dict[tuple, list[int]] = {}
    for index, run in enumerate(runs):
        groups.setdefault((run.strategy, run.k), []).append(index)
    order = sorted(groups.values(), key=lambda group: -sum(runs[index].cost for index in group))
    # "spawn": a fresh interpreter per worker; forking a process that runs TensorFlow is unsafe.
    with ProcessPoolExecutor(min(workers, len(order)), multiprocessing.get_context("spawn"),
                             initializer=_start, initargs=(*shared, 1)) as executor:
        done = executor.map(_train_all, [[runs[index] for index in group] for group in order])
        rows = {index: row for group, group_rows in zip(order, done, strict=True)
                for index, row in zip(group, group_rows, strict=True)}
    return [rows[index] for index in range(len(runs))]


def summarize_runs(rows: list[dict]) -> pd.DataFrame:
    """Per strategy and k, in the order of the runs: the held-out accuracy's mean, its standard
    deviation over the draws (NaN for one) and the number of draws."""
    return (pd.DataFrame(rows).groupby(["strategy", "k"], sort=False)["test_accuracy"]
            .agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "draws"})
            .reset_index())


def save_results(rows: list[dict], base_path: str | Path, zero_shot_accuracy: float,
                 configs: dict[str, FinetuneConfig], path: Path | None = None,
                 **facts) -> Path:
    """Write the runs and their summary, with the SHA-256 of the model they started from and
    `facts` (data set, split sizes, draws, seconds), to `models/transfer.json` by default: the
    README's transfer table is rendered from it."""
    path = Path(path or config.MODELS_DIR / "transfer.json")
    result = {"source_model": Path(base_path).name, "source_model_sha256": file_sha256(base_path),
              "zero_shot_accuracy": zero_shot_accuracy,
              "configs": {name: vars(settings) for name, settings in configs.items()},
              "summary": json.loads(summarize_runs(rows).to_json(orient="records")),
              "runs": rows, **facts}
    write_text_atomically(path, json.dumps(result, indent=2) + "\n")
    return path
