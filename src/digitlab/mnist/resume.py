"""Runs that resume: after every epoch, everything a training run needs to carry on exactly where
it stopped is written to one file, so a run killed at epoch 11 of 12 starts again at epoch 12
and ends with the weights an uninterrupted run of the same seed would have.

What is kept: every variable of the model (weights, batch-norm statistics, dropout's random
state), the optimizer's (moments, step count, hence the learning rate), the augmentation layers'
random state, early stopping's state (best loss, patience used, best weights) and the history.
Shuffling needs nothing: each epoch's order follows from the seed and the epoch's number
(`train.make_dataset`'s `epoch`).
"""

import hashlib
import io
import json
import math
import time
from pathlib import Path

import keras
import numpy as np

from digitlab.atomic import write_bytes_atomically


def fingerprint(*parts) -> str:
    """A short hash of what defines a run: a saved state resumes only the same run."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' early stopping, whose state can be set back to where an interrupted run was."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.resume_state: dict | None = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.resume_state is not None:
            for name, value in self.resume_state.items():
                setattr(self, name, value)

    def state(self) -> dict:
        return {"best": float(self.best), "wait": int(self.wait),
                "best_epoch": int(self.best_epoch), "best_weights": self.best_weights}


class Checkpoint(keras.callbacks.Callback):
    """Saves the run's whole state after every epoch (to a temporary file, then a rename, so a
    kill during the save leaves the previous state), and restores it when the run starts again.
    """

    def __init__(self, path: Path, key: str, augmentation: keras.Layer | None = None,
                 stopper: ResumableEarlyStopping | None = None, enabled: bool = True):
        super().__init__()
        self.path, self.key, self.enabled = Path(path), key, enabled
        self.augmentation, self.stopper = augmentation, stopper
        self.history: dict[str, list[float]] = {}
        self.epochs_done = 0
        self.stopped = False
        self.seconds_before = 0.0  # training seconds of the sessions before this one
        self.started = time.perf_counter()

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def tracked(self) -> list:
        """The variables saved and restored, in a fixed order."""
        extra = list(self.augmentation.variables) if self.augmentation is not None else []
        return [*self.model.variables, *self.model.optimizer.variables, *extra]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        # An epoch without validation (see `validation_freq`) gets NaN in the val_ columns.
        for name in [*self.history, *(name for name in logs if name not in self.history)]:
            self.history.setdefault(name, [math.nan] * self.epochs_done).append(
                float(logs.get(name, math.nan)))
        self.epochs_done = epoch + 1
        if self.enabled:
            self.save()

    def save(self) -> None:
        arrays = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(self.tracked())}
        meta = {"key": self.key, "epochs_done": self.epochs_done, "history": self.history,
                "stopped": bool(self.model.stop_training),
                "seconds": self.seconds_before + time.perf_counter() - self.started}
        if self.stopper is not None:
            state = self.stopper.state()
            best = state.pop("best_weights") or []
            arrays.update({f"b{i}": weight for i, weight in enumerate(best)})
            meta["stopper"] = state
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        write_bytes_atomically(self.path, buffer.getvalue())

    def restore(self, model: keras.Model) -> int:
        """Load the saved state into `model` (compiled, optimizer built) and the callbacks;
        return the epochs already done (0 when there is no state of this run)."""
        self.set_model(model)
        if not self.enabled or not self.path.is_file():
            return 0
        try:
            with np.load(self.path) as saved:
                meta = json.loads(str(saved["meta"]))
                if meta["key"] != self.key:
                    return 0
                variables = self.tracked()
                values = [saved[f"v{i}"] for i in range(len(variables))]
                best = [saved[f"b{i}"] for i in range(len(saved.files))
                        if f"b{i}" in saved.files]
                count = sum(name.startswith("v") for name in saved.files)
        except Exception as error:  # a truncated or empty file: EOFError, BadZipFile, ...
            print(f"Ignoring an unreadable resume state {self.path} ({error!r}); starting over.")
            return 0
        shapes = [tuple(variable.shape) for variable in variables]
        if count != len(variables) or shapes != [value.shape for value in values]:
            print(f"Ignoring a resume state {self.path} that does not fit the model "
                  f"({count} saved values for {len(variables)} variables); starting over.")
            return 0
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
        self.history, self.epochs_done = meta["history"], meta["epochs_done"]
        self.stopped = meta["stopped"]
        self.seconds_before = meta.get("seconds", 0.0)
        if self.stopper is not None and "stopper" in meta:
            self.stopper.resume_state = {**meta["stopper"], "best_weights": best or None}
        print(f"Resuming {model.name} after epoch {self.epochs_done} ({self.path.name}).")
        return self.epochs_done

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
