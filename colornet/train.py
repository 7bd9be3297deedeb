"""Training: `python -m colornet train MODEL --data DIR`, and `train(...)` for the notebooks.

A run directory (`--out`, default `runs/MODEL`) holds everything about a run:

    last.keras          model + optimizer state after the last finished epoch
    state.json          model name and options, epochs finished, best validation loss
    best.weights.h5     weights with the lowest validation loss (+ best.json: model and options)
    history.csv         one row per epoch (CSVLogger)
    logs/               TensorBoard
    samples/epoch_NNN.png   gray | colorized | truth for fixed validation photos

Running the same command again resumes after the last finished epoch, also
after Ctrl-C or kill -9 (checkpoints are written atomically). `--init` starts a
new run from existing weights, to fine-tune on your own folder.
"""

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from colornet import data as cdata
from colornet.color import model_io_to_rgb
from colornet.errors import ColornetError
from colornet.images import save_image
from colornet.models import MODELS, build_model, load_weights, save_config


class RunError(ColornetError):
    """A run directory that cannot be resumed with these settings."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in state.json)."""

    model: str = "beta"  # alpha, beta or full
    data: str | list = "data/Train"  # folder (recursive), file, glob, or a list of them
    val: str | list | None = None  # held-out photos; None: split `val_split` off `data`
    size: int = 128  # side of the square training crops, a multiple of 8
    epochs: int = 10  # total epochs, counting those of a resumed run
    batch_size: int = 16
    lr: float = 5e-4  # Adam learning rate
    loss: str = "mse"  # mse (the article), mae or huber
    seed: int = 42
    init: str | None = None  # weights to start from (fine-tuning)
    out: str | None = None  # run directory; default runs/<model>
    val_split: float = 0.1  # share of `data` held out when `val` is None
    limit: int | None = None  # use at most this many training photos
    steps_per_epoch: int | None = None  # cut epochs short (quick runs)
    schedule: str = "none"  # none, plateau (reduce on plateau) or cosine
    early_stopping: int | None = None  # stop after this many epochs without improvement
    augment: bool = True  # the article's rotation/zoom/shear (crop and flip always)
    on_error: str = "skip"  # unreadable photos: "skip" with a warning, or "raise"
    samples: int = 4  # validation photos in the per-epoch sample strip
    model_options: dict = field(default_factory=dict)  # builder options, e.g. {"width": 0.5}
    embed_weights: str | None = "imagenet"  # full only: Inception weights (imagenet, path, none)
    embed_mode: str = "cached"  # full only: cached or per-batch embeddings
    verbose: int = 1  # Keras progress bar (1), one line per epoch (2), silent (0)


@dataclass
class TrainResult:
    model: keras.Model
    history: dict  # metric name -> list of values, one per epoch, including resumed epochs
    out_dir: Path
    best_weights: Path
    epochs_run: int  # epochs trained by this call (0 when the run was already complete)


LOSSES = {"mse": "mse", "mae": "mae", "huber": keras.losses.Huber(delta=0.1)}


def _atomic_write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def _split(paths, val_split, seed):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    n_val = max(1, int(round(len(paths) * val_split)))
    if len(paths) - n_val < 1:
        raise ColornetError(f"only {len(paths)} photo(s): too few to hold some out; pass --val DIR.")
    val = [paths[i] for i in sorted(order[:n_val])]
    train = [paths[i] for i in sorted(order[n_val:])]
    return train, val


def make_datasets(cfg: TrainConfig, embedder=None):
    """The training and validation datasets of a run, and the training and validation paths.

    `embedder` (full only) is the `colornet.embed.Embedder` to use; by default one
    is built from `cfg.embed_weights`."""
    train_paths = cdata.list_images(cfg.data, on_error=cfg.on_error)
    if cfg.val:
        val_paths = cdata.list_images(cfg.val, on_error=cfg.on_error)
    else:
        train_paths, val_paths = _split(train_paths, cfg.val_split, cfg.seed)
    if cfg.limit:
        rng = np.random.default_rng(cfg.seed)
        keep = sorted(rng.permutation(len(train_paths))[: cfg.limit])
        train_paths = [train_paths[i] for i in keep]
    common = dict(size=cfg.size, batch_size=cfg.batch_size, seed=cfg.seed, on_error=cfg.on_error)
    if cfg.model == "full":
        from colornet.embed import Embedder, make_fusion_dataset

        if embedder is None:
            weights = None if str(cfg.embed_weights).lower() in ("none", "") else cfg.embed_weights
            embedder = Embedder(weights=weights)
        cache_dir = Path(cfg.out) / "embeddings"
        train_ds = make_fusion_dataset(
            None,
            paths=train_paths,
            training=True,
            augment=cfg.augment,
            cache=True,
            embedder=embedder,
            mode=cfg.embed_mode,
            cache_dir=cache_dir,
            **common,
        )
        val_ds = make_fusion_dataset(
            None,
            paths=val_paths,
            training=False,
            augment=False,
            cache=True,
            embedder=embedder,
            mode=cfg.embed_mode,
            cache_dir=cache_dir,
            **common,
        )
    else:
        train_ds = cdata.make_dataset(None, training=True, augment=cfg.augment, paths=train_paths, **common)
        val_ds = cdata.make_dataset(None, training=False, paths=val_paths, **common)
    return train_ds, val_ds, train_paths, val_paths


class SampleStrips(keras.callbacks.Callback):
    """After each epoch, save gray | colorized | truth for a few fixed validation photos."""

    def __init__(self, inputs, targets, folder: Path):
        super().__init__()
        self.inputs, self.targets, self.folder = inputs, targets, Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        l_norm = self.inputs[0] if isinstance(self.inputs, (tuple, list)) else self.inputs
        pred = self.model(self.inputs, training=False)
        gray = model_io_to_rgb(l_norm, np.zeros_like(self.targets))
        rows = [
            np.concatenate([g, p, t], axis=1)  # (s, 3s, 3): gray | colorized | truth
            for g, p, t in zip(
                np.asarray(gray),
                np.asarray(model_io_to_rgb(l_norm, pred)),
                np.asarray(model_io_to_rgb(l_norm, self.targets)),
            )
        ]
        self.folder.mkdir(parents=True, exist_ok=True)
        save_image(self.folder / f"epoch_{epoch + 1:03d}.png", np.concatenate(rows, axis=0))


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: last.keras (with optimizer state), state.json and, on improvement,
    best.weights.h5. Every file is written to a temporary name and renamed, so a kill
    at any moment leaves the previous checkpoint intact."""

    def __init__(self, out_dir: Path, state: dict, monitor: str = "val_loss"):
        super().__init__()
        self.out_dir, self.state, self.monitor = Path(out_dir), state, monitor

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor, logs.get("loss"))
        if value is not None and math.isfinite(value) and value < self.state.get("best", math.inf):
            self.state["best"] = float(value)
            self.state["best_epoch"] = epoch + 1
            tmp = self.out_dir / "best.tmp.weights.h5"
            self.model.save_weights(tmp)
            os.replace(tmp, self.out_dir / "best.weights.h5")
        tmp = self.out_dir / "last.tmp.keras"
        self.model.save(tmp)
        os.replace(tmp, self.out_dir / "last.keras")
        self.state["epoch"] = epoch + 1
        self.state["history"] = {
            k: self.state.get("history", {}).get(k, []) + [float(v)] for k, v in logs.items()
        }
        _atomic_write_json(self.out_dir / "state.json", self.state)


def _callbacks(cfg: TrainConfig, out_dir: Path, state: dict, val_ds, resumed: bool):
    """Schedules first (they add the learning rate to each epoch's logs), then the callbacks
    that record the epoch."""
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
    elif cfg.schedule != "none":
        raise ColornetError(f"unknown schedule {cfg.schedule!r}; use none, plateau or cosine.")
    if cfg.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(patience=cfg.early_stopping, restore_best_weights=False)
        )
    sample_inputs, sample_targets = next(iter(val_ds.unbatch().batch(cfg.samples)))
    callbacks += [
        RunCheckpoint(out_dir, state),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=resumed),
        keras.callbacks.TensorBoard(str(out_dir / "logs"), write_graph=False),
        SampleStrips(sample_inputs, sample_targets, out_dir / "samples"),
        keras.callbacks.TerminateOnNaN(),
    ]
    return callbacks


def _check_config(cfg: TrainConfig):
    if cfg.model not in MODELS:
        raise ColornetError(f"unknown model {cfg.model!r}; choose one of {', '.join(MODELS)}.")
    if cfg.size % 8 or cfg.size < 8:
        raise ColornetError(f"--size must be a positive multiple of 8, got {cfg.size}.")
    if cfg.loss not in LOSSES:
        raise ColornetError(f"unknown loss {cfg.loss!r}; use {', '.join(LOSSES)}.")
    for name in ("epochs", "batch_size"):
        if getattr(cfg, name) < 1:
            raise ColornetError(f"--{name.replace('_', '-')} must be at least 1.")


def train(model: str = "beta", data: str = "data/Train", *, embedder=None, **kwargs) -> TrainResult:
    """Train a model on a folder of photos, resuming the run in `out` if there is one.

    Args:
        model: "alpha", "beta" or "full".
        data: folder (searched recursively), file or glob of training photos.
        embedder: full only: a `colornet.embed.Embedder` to share with other code
            (default: one built from `embed_weights`).
        **kwargs: any `TrainConfig` field (val, size, epochs, batch_size, init, out, seed, ...).

    Returns:
        A `TrainResult` with the trained model, the history and the run directory.

    Example:
        >>> result = train("beta", data="data/Train", size=64, epochs=2, out="runs/try")
        >>> result.history["val_loss"]
    """
    cfg = TrainConfig(model=model, data=data if isinstance(data, (list, tuple)) else str(data), **kwargs)
    _check_config(cfg)
    out_dir = Path(cfg.out or f"runs/{cfg.model}")
    cfg.out = str(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)

    state_path = out_dir / "state.json"
    resumed = state_path.exists() and (out_dir / "last.keras").exists()
    if resumed:
        state = json.loads(state_path.read_text())
        if state["model"] != cfg.model or state.get("options", {}) != cfg.model_options:
            raise RunError(
                f"{out_dir}: holds a {state['model']!r} run with options {state.get('options', {})}; "
                "use another --out for a different model."
            )
        if state.get("size") != cfg.size:
            raise RunError(
                f"{out_dir}: that run trains at --size {state.get('size')}; use it or another --out."
            )
        net = keras.models.load_model(out_dir / "last.keras")
        initial_epoch = int(state["epoch"])
        if cfg.init:
            print(f"Resuming {out_dir} at epoch {initial_epoch}; --init is ignored for a resumed run.")
        else:
            print(f"Resuming {out_dir} after epoch {initial_epoch} of {cfg.epochs}.")
    else:
        net = build_model(cfg.model, **cfg.model_options)
        if cfg.init:
            load_weights(net, cfg.init)
        net.compile(optimizer=keras.optimizers.Adam(cfg.lr), loss=LOSSES[cfg.loss])
        initial_epoch = 0
        state = {
            "model": cfg.model,
            "options": cfg.model_options,
            "size": cfg.size,
            "epoch": 0,
            "init": cfg.init,
        }
    save_config(out_dir / "best.weights.h5", cfg.model, cfg.model_options, size=cfg.size)

    train_ds, val_ds, train_paths, val_paths = make_datasets(cfg, embedder)
    epochs_run = max(0, cfg.epochs - initial_epoch)
    if epochs_run:
        print(
            f"Training {cfg.model} on {len(train_paths)} photos, validating on {len(val_paths)}, {cfg.size}x{cfg.size}."
        )
        start = time.time()
        net.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=cfg.steps_per_epoch,
            callbacks=_callbacks(cfg, out_dir, state, val_ds, resumed),
            verbose=cfg.verbose,
            shuffle=False,  # the dataset shuffles itself
        )
        state["seconds"] = state.get("seconds", 0.0) + time.time() - start
        _atomic_write_json(state_path, state)
    else:
        print(f"{out_dir}: already trained for {state['epoch']} epochs; raise --epochs to train more.")
    net.training_size = cfg.size  # colorize and evaluate predict colors at this scale
    return TrainResult(
        model=net,
        history=state.get("history", {}),
        out_dir=out_dir,
        best_weights=out_dir / "best.weights.h5",
        epochs_run=epochs_run,
    )


# --- command line -------------------------------------------------------------


def add_arguments(parser):
    d = TrainConfig()
    parser.add_argument("model", choices=sorted(MODELS), help="which network to train")
    parser.add_argument(
        "--data", required=True, nargs="+", help="folders (recursive), files or globs of training photos"
    )
    parser.add_argument("--val", nargs="+", help="held-out photos (default: hold out --val-split of --data)")
    parser.add_argument(
        "--size", type=int, default=d.size, help="training crop size, multiple of 8 (default: %(default)s)"
    )
    parser.add_argument("--epochs", type=int, default=d.epochs, help="total epochs (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="default: %(default)s")
    parser.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--loss", choices=sorted(LOSSES), default=d.loss, help="default: %(default)s")
    parser.add_argument("--init", help="start from these weights (fine-tuning), e.g. weights/beta.weights.h5")
    parser.add_argument("--out", help="run directory (default: runs/MODEL); an existing run there is resumed")
    parser.add_argument("--seed", type=int, default=d.seed, help="default: %(default)s")
    parser.add_argument("--val-split", type=float, default=d.val_split, help="default: %(default)s")
    parser.add_argument("--limit", type=int, help="use at most N training photos")
    parser.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: the whole folder)")
    parser.add_argument(
        "--schedule", choices=["none", "plateau", "cosine"], default=d.schedule, help="learning-rate schedule"
    )
    parser.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without improvement",
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="no rotation/zoom/shear (crops and flips stay)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first unreadable photo instead of skipping it"
    )
    parser.add_argument("--width", type=float, help="multiply every layer's filters (beta)")
    parser.add_argument(
        "--batch-norm", action="store_true", help="batch normalization after each convolution (beta)"
    )
    parser.add_argument(
        "--embed-weights",
        default=d.embed_weights,
        help="full: Inception weights: imagenet, a .h5 path, or none",
    )
    parser.add_argument(
        "--embed-mode",
        choices=["cached", "per-batch"],
        default=d.embed_mode,
        help="full: embeddings computed once (cached) or per batch as in the article",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=d.verbose,
        help="progress bar (1), a line per epoch (2), none (0)",
    )


def run(args) -> int:
    options = {}
    if args.width is not None:
        options["width"] = args.width
    if args.batch_norm:
        options["batch_norm"] = True
    if options and args.model != "beta":
        raise ColornetError("--width and --batch-norm apply to the beta model only.")
    result = train(
        args.model,
        data=args.data,
        val=args.val,
        size=args.size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        loss=args.loss,
        seed=args.seed,
        init=args.init,
        out=args.out,
        val_split=args.val_split,
        limit=args.limit,
        steps_per_epoch=args.steps_per_epoch,
        schedule=args.schedule,
        early_stopping=args.early_stopping,
        augment=not args.no_augment,
        on_error="raise" if args.strict else "skip",
        model_options=options,
        embed_weights=args.embed_weights,
        embed_mode=args.embed_mode,
        verbose=args.verbose,
    )
    best = result.history.get("val_loss", [])
    summary = f"best val_loss {min(best):.5f}" if best else "no validation loss"
    print(f"Done: {result.out_dir} ({summary}); weights: {result.best_weights}")
    return 0
