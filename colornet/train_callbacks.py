"""What each epoch of a run does besides training: the learning-rate schedules, early stopping, and on
the chief the checkpoint (last.keras, state.json, best.weights.h5), the mean of the last epochs'
weights (averaged.weights.h5, with `average_epochs`), history.csv, TensorBoard's logs and the sample
strips. An epoch whose loss is NaN or infinite is not recorded."""

import math
from pathlib import Path

import keras
import numpy as np

from colornet.color import lab_to_rgb
from colornet.distribute import WorkerInfo
from colornet.files import atomic_path, atomic_write_json
from colornet.images import save_image
from colornet.predict import Colorizer
from colornet.weights import config_path, read_config

AVERAGED = "averaged.weights.h5"  # the mean of the last epochs' weights, beside best.weights.h5


def _finite(logs) -> bool:
    """Whether every value an epoch logged is a finite number (a diverged epoch's are NaN or inf)."""
    return all(math.isfinite(float(v)) for v in (logs or {}).values())


class SampleStrips(keras.callbacks.Callback):
    """After each epoch, save gray | colorized | truth for a few fixed validation photos, colorized
    through the design's codec as `colornet.colorize` does."""

    def __init__(self, colorizer: Colorizer, lab, folder: Path):
        super().__init__()
        self.colorizer, self.lab, self.folder = colorizer, np.asarray(lab, np.float32), Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        if not _finite(logs):
            return  # a diverged epoch has nothing to show
        L = self.lab[..., :1]  # (s, size, size, 1)
        ab = self.colorizer.predict_ab(L)  # (s, size, size, 2), Lab units
        gray = np.asarray(lab_to_rgb(np.concatenate([L, np.zeros_like(ab)], axis=-1)))
        colorized = np.asarray(lab_to_rgb(np.concatenate([L, ab], axis=-1)))
        truth = np.asarray(lab_to_rgb(self.lab))
        rows = [np.concatenate([g, p, t], axis=1) for g, p, t in zip(gray, colorized, truth)]  # (s, 3s, 3)
        self.folder.mkdir(parents=True, exist_ok=True)
        save_image(self.folder / f"epoch_{epoch + 1:03d}.png", np.concatenate(rows, axis=0))


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: last.keras (with optimizer state), state.json and, on improvement,
    best.weights.h5 (the network alone, float32, no optimizer). Every file is written to a
    temporary name and renamed, so a kill at any moment leaves the previous checkpoint intact."""

    def __init__(self, out_dir: Path, state: dict, net: keras.Model, export: keras.Model, monitor="val_loss"):
        super().__init__()
        self.out_dir, self.state, self.monitor = Path(out_dir), state, monitor
        self.net, self.export = net, export

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not _finite(logs):
            # a diverged epoch is not a checkpoint: keep the last good one and stop
            self.state["diverged_epoch"] = epoch + 1
            self.model.stop_training = True
            return
        value = logs.get(self.monitor, logs.get("loss"))
        if value is not None and math.isfinite(value) and value < self.state.get("best", math.inf):
            self.state["best"] = float(value)
            self.state["best_epoch"] = epoch + 1
            self.export.set_weights(self.net.get_weights())
            with atomic_path(self.out_dir / "best.weights.h5") as tmp:
                self.export.save_weights(tmp)
        with atomic_path(self.out_dir / "last.keras") as tmp:
            self.model.save(tmp)
        self.state["epoch"] = epoch + 1
        self.state["history"] = {
            k: self.state.get("history", {}).get(k, []) + [float(v)] for k, v in logs.items()
        }
        atomic_write_json(self.out_dir / "state.json", self.state)


class WeightAverage(keras.callbacks.Callback):
    """After each of the run's epochs from `first_epoch` on: averaged.weights.h5, the mean of the
    network's weights after each of them (stochastic weight averaging's mean; batch-norm statistics
    are averaged too), and averaged.json beside it: best.json's description and the epochs averaged.
    A resumed run goes on with the mean where state.json names the same epochs as averaged.json and
    they are among the last ones asked now; otherwise (more epochs asked since, or a run stopped
    between the two writes) the mean starts again, and says so."""

    def __init__(self, out_dir: Path, state: dict, net: keras.Model, export: keras.Model, first_epoch: int):
        super().__init__()
        self.out_dir, self.path = Path(out_dir), Path(out_dir) / AVERAGED
        self.state, self.net, self.export, self.first = state, net, export, first_epoch
        self.mean = None

    def on_train_begin(self, logs=None):
        epochs = self.state.get("averaged_epochs")
        if not epochs:
            return
        if min(epochs) < self.first:  # more epochs asked since: the mean is of the new last ones
            print(f"{self.path}: the mean of epochs {epochs} starts again from epoch {self.first}.")
        elif self.path.exists() and (read_config(self.path) or {}).get("averaged_epochs") == epochs:
            self.export.load_weights(self.path)
            self.mean = [np.array(w) for w in self.export.get_weights()]
            return
        else:
            print(
                f"{self.path}: not the mean of epochs {epochs} that state.json names; the mean starts again."
            )
        self.state["averaged_epochs"] = []

    def on_epoch_end(self, epoch, logs=None):
        if not _finite(logs) or epoch + 1 < self.first:
            return
        weights = [np.array(w) for w in self.net.get_weights()]
        epochs = list(self.state.get("averaged_epochs") or [])  # empty exactly while self.mean is None
        if not epochs:
            self.mean = weights
        else:  # the running mean; a counter or other whole-number state keeps its latest value
            n = len(epochs) + 1
            self.mean = [
                m + (w - m) / n if np.issubdtype(w.dtype, np.floating) else w
                for m, w in zip(self.mean, weights)
            ]
        epochs.append(epoch + 1)
        self.export.set_weights(self.mean)
        with atomic_path(self.path) as tmp:
            self.export.save_weights(tmp)
        config = read_config(self.out_dir / "best.weights.h5") or {}
        atomic_write_json(config_path(self.path), {**config, "averaged_epochs": epochs})
        self.state["averaged_epochs"] = epochs  # state.json is written next, by RunCheckpoint


class FiniteCSVLogger(keras.callbacks.CSVLogger):
    """history.csv without a diverged epoch's row (a NaN loss is not an epoch to keep)."""

    def on_epoch_end(self, epoch, logs=None):
        if _finite(logs):
            super().on_epoch_end(epoch, logs)


def make_callbacks(cfg, out_dir: Path, state: dict, resumed: bool, worker: WorkerInfo, net, export, samples):
    """Schedules first (they add the learning rate to each epoch's logs), then the callbacks
    that record the epoch; those that write files run on the chief only."""
    callbacks = []
    if cfg.schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=cfg.lr / 32, verbose=1)
        )
    elif cfg.schedule == "cosine":
        total = cfg.epochs

        def cosine(epoch, lr):
            return cfg.lr * 0.5 * (1 + math.cos(math.pi * epoch / max(1, total)))

        callbacks.append(keras.callbacks.LearningRateScheduler(cosine))
    if cfg.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(patience=cfg.early_stopping, restore_best_weights=False)
        )
    if worker.is_chief:
        if cfg.average_epochs:
            callbacks.append(WeightAverage(out_dir, state, net, export, cfg.epochs - cfg.average_epochs + 1))
        callbacks += [
            RunCheckpoint(out_dir, state, net, export),
            FiniteCSVLogger(str(out_dir / "history.csv"), append=resumed),
            keras.callbacks.TensorBoard(str(out_dir / "logs"), write_graph=False),
        ]
        if samples is not None:
            callbacks.append(samples)
    callbacks.append(keras.callbacks.TerminateOnNaN())
    return callbacks
