"""Training: `python -m colornet train MODEL --data DIR`, and `train(...)` for the notebooks.

A run directory (`--out`, default `runs/MODEL`) holds everything about a run:

    last.keras          model + optimizer state after the last finished epoch
    state.json          model name and options, precision, strategy, epochs finished, best validation loss
    best.weights.h5     weights with the lowest validation loss (+ best.json: model, options, size)
    history.csv         one row per epoch (CSVLogger)
    logs/               TensorBoard
    samples/epoch_NNN.png   gray | colorized | truth for fixed validation photos

Running the same command again resumes after the last finished epoch, also
after Ctrl-C or kill -9 (checkpoints are written atomically), also with another
`--precision` or `--strategy` (weights are float32 under every precision). `--init`
starts a new run from existing weights, to fine-tune on your own folder.

Everything about a model comes from its design (`colornet.models.spec.Design`): the
builder, the codec that turns Lab photos into inputs and targets, the loss, the size
multiple, the extra inputs. Training runs under a Keras precision policy
(`colornet.precision`) and a `tf.distribute` strategy (`colornet.distribute`).
"""

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from colornet import data as cdata
from colornet.arguments import fraction, int_in, path_name, positive_float
from colornet.color import lab_to_rgb
from colornet.distribute import (
    CONNECT_TIMEOUT,
    STRATEGIES,
    WorkerInfo,
    choose_strategy,
    will_be_chief,
    worker_info,
)
from colornet.errors import ColornetError, ImageError, RunError
from colornet.files import atomic_path, atomic_write_json
from colornet.images import save_image
from colornet.losses import LOSS_NAMES, get_loss
from colornet.models import DESIGNS, Design, get_design
from colornet.precision import add_precision_argument, choose_precision, precision_scope
from colornet.predict import Colorizer
from colornet.run_dir import damaged, open_run, remove_leftovers
from colornet.signals import sigterm_as_interrupt
from colornet.train_args import MAX_SEED, check_arguments, check_config, make_config
from colornet.weights import load_weights, read_config, save_config, transfer_weights, weights_file

__all__ = ["RunError", "TrainConfig", "TrainResult", "train"]


DEFAULT_LR = 5e-4  # Adam's learning rate for designs that do not set their own


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in state.json)."""

    model: str = "beta"  # a design name: alpha, beta, full, ...
    data: str | list = "data/Train"  # folder (recursive), file, glob, or a list of them
    data_weights: list | None = None  # each `data` source's share of the photos drawn; None: as listed
    val: str | list | None = None  # held-out photos; None: split `val_split` off `data`
    size: int = 128  # side of the square training crops, a multiple of the design's size multiple
    epochs: int = 10  # total epochs, counting those of a resumed run
    batch_size: int = 16  # photos per batch on each replica (the global batch is this x replicas)
    lr: float | None = None  # Adam learning rate; None: the design's (unet-gan: 2e-4), else DEFAULT_LR
    loss: str | None = None  # mse (the article), mae or huber; None: the design's loss
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
    encoder_weights: str | None = "imagenet"  # keras.applications encoders (unet, dahl): imagenet, path, none
    embed_weights: str | None = (
        "imagenet"  # designs with features (full): their weights (imagenet, path, none)
    )
    embed_mode: str = "cached"  # designs with features: cached or per-batch
    precision: str = "auto"  # auto, float32, mixed_bfloat16 or mixed_float16 (colornet.precision)
    strategy: str = "auto"  # auto, one, mirrored or multiworker (colornet.distribute)
    jit_compile: bool | str = (
        "auto"  # XLA: auto (on for GPUs; for bfloat16 on CPUs where it is faster), True or False
    )
    connect_timeout: float = CONNECT_TIMEOUT  # seconds a cluster's workers wait for each other
    classes: str = "auto"  # designs with a class head: classes from folder names (auto) or none
    prior: str | None = None  # bin heads (zhang, beta --head bins): prior file; None: computed from `data`
    verbose: int = 1  # Keras progress bar (1), one line per epoch (2), silent (0)


@dataclass
class TrainResult:
    model: keras.Model
    history: dict  # metric name -> list of values, one per epoch, including resumed epochs
    out_dir: Path
    best_weights: Path
    epochs_run: int  # epochs trained by this call (0 when the run was already complete)
    colorizer: Colorizer | None = None  # the trained model ready for colorize/evaluate (its training size)
    precision: str = "float32"  # the dtype policy it trained under
    worker: WorkerInfo = field(default_factory=WorkerInfo)


def _split(paths, val_split, seed):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    n_val = max(1, int(round(len(paths) * val_split)))
    if len(paths) - n_val < 1:
        raise ColornetError(f"only {len(paths)} photo(s): too few to hold some out; pass --val DIR.")
    val = [paths[i] for i in sorted(order[:n_val])]
    train = [paths[i] for i in sorted(order[n_val:])]
    return train, val


def run_images(cfg: TrainConfig) -> list[str]:
    """Folders of the run's own images, never training photos: its sample strips, and the whole run
    folder when it is inside a --data or --val folder (as colorize skips its --out folder)."""
    out = os.path.realpath(cfg.out or f"runs/{cfg.model}")
    sources = [cfg.data, cfg.val or []]
    sources = [str(s) for group in sources for s in (group if isinstance(group, (list, tuple)) else [group])]
    inside = any(os.path.isdir(s) and out.startswith(os.path.join(os.path.realpath(s), "")) for s in sources)
    return [out] if inside else [os.path.join(out, "samples")]


def list_run_photos(cfg: TrainConfig) -> tuple[list[str], list[str]]:
    """The training and validation photos of a run (checked, split, limited)."""
    skip = run_images(cfg)
    train_paths = cdata.list_images(cfg.data, on_error=cfg.on_error, skip=skip)
    if cfg.val:
        val_paths = cdata.list_images(cfg.val, on_error=cfg.on_error, skip=skip)
    else:
        train_paths, val_paths = _split(train_paths, cfg.val_split, cfg.seed)
    if cfg.limit:
        rng = np.random.default_rng(cfg.seed)
        keep = sorted(rng.permutation(len(train_paths))[: cfg.limit])
        train_paths = [train_paths[i] for i in keep]
    return train_paths, val_paths


def source_indices(cfg: TrainConfig, paths: list[str]) -> np.ndarray:
    """The `--data` source (its index in `cfg.data`) of each training photo; a photo that two
    sources name belongs to the first."""
    data = cfg.data if isinstance(cfg.data, (list, tuple)) else [cfg.data]
    index = {}
    for i, source in enumerate(data):
        for path in cdata.list_images(source, on_error="skip"):
            index.setdefault(path, i)
    return np.array([index.get(p, 0) for p in paths], np.int64)


def make_features(design: Design, cfg: TrainConfig, features=None):
    """The design's feature extractor (e.g. the Full model's Embedder), or None when it needs none."""
    if design.features is None:
        return None
    if features is not None:
        return features
    weights = None if str(cfg.embed_weights).lower() in ("none", "") else cfg.embed_weights
    return design.make_features(cfg.model_options, weights=weights)  # full: the `embedder` option's


MAX_CLASSES = 100  # more class folders than this is taken for a mistake in --data


def class_names(cfg: TrainConfig, paths: list[str]) -> list[str]:
    """The scene classes of a run, from the folders of its training photos: a photo's class is
    its folder's name (`scenes/train/forest/x.jpg` -> forest; a `--data` folder with photos and
    no subfolders, like `faces/`, is one class).

    Raises:
        ColornetError: photos with no class folder beside class folders, one class, or hundreds.
    """
    roots = [Path(d) for d in ([cfg.data] if isinstance(cfg.data, str) else cfg.data) if Path(d).is_dir()]
    for root in roots:
        inside = [Path(p) for p in paths if root.resolve() in Path(p).resolve().parents]
        loose = [p for p in inside if p.parent.resolve() == root.resolve()]
        if loose and len(loose) < len(inside):
            raise ColornetError(
                f"{loose[0]}: is in {root} beside class folders, so it has no class; move it into one "
                "of them, or train with --classes none."
            )
    classes = sorted({Path(p).parent.name for p in paths})
    if len(classes) < 2:
        raise ColornetError(
            f"{cfg.data}: the photos are in one folder ({classes[0]!r}), so there is one class; put them in "
            "class folders (forest/, sea/, ...) or train with --classes none."
        )
    if len(classes) > MAX_CLASSES:
        raise ColornetError(
            f"{cfg.data}: {len(classes)} class folders (e.g. {', '.join(classes[:3])}); pass the folder whose "
            "subfolders are the classes, or train with --classes none."
        )
    return classes


def make_datasets(
    cfg: TrainConfig,
    design: Design,
    features=None,
    worker: WorkerInfo | None = None,
    paths: tuple | None = None,
    classes: list[str] | None = None,
    codec=None,
):
    """The training and validation datasets of a run, and the training and validation paths.

    Batches hold `cfg.batch_size` photos (one replica's share). With a cluster
    (`worker.workers > 1`) each worker reads every `workers`-th file from its index, and
    both datasets repeat, so that every worker runs the same number of steps. With `classes`,
    each photo's class (its folder's name) goes with it as `extras["label"]`. `codec`: the
    design's codec for `cfg.model_options` unless given (a bins codec with the run's prior)."""
    worker = worker or WorkerInfo()
    train_paths, val_paths = paths or list_run_photos(cfg)
    train_labels = val_labels = None
    if classes:
        train_labels = cdata.folder_labels(train_paths, classes)[1]
        val_labels = cdata.folder_labels(val_paths, classes)[1]
    distributed = worker.replicas > 1
    common = dict(
        size=cfg.size,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        on_error=cfg.on_error,
        codec=codec or design.make_codec(cfg.model_options),
        features=features,
        features_mode=cfg.embed_mode,
        cache_dir=Path(cfg.out) / "embeddings",
        write_cache=worker.is_chief,
        shard=worker.shard,
    )
    weighted = {}
    if cfg.data_weights is not None:
        weighted = dict(sources=source_indices(cfg, train_paths), source_weights=cfg.data_weights)
    train_ds = cdata.make_dataset(
        None,
        training=True,
        augment=cfg.augment,
        paths=train_paths,
        labels=train_labels,
        drop_remainder=distributed,
        **weighted,
        **common,
    )
    val_ds = cdata.make_dataset(None, training=False, paths=val_paths, labels=val_labels, **common)
    if distributed:
        train_ds, val_ds = train_ds.repeat(), val_ds.repeat()
    elif cfg.steps_per_epoch:  # epochs cut short go on where the last one stopped, over every photo
        train_ds = train_ds.repeat()
    return train_ds, val_ds, train_paths, val_paths


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


class FiniteCSVLogger(keras.callbacks.CSVLogger):
    """history.csv without a diverged epoch's row (a NaN loss is not an epoch to keep)."""

    def on_epoch_end(self, epoch, logs=None):
        if _finite(logs):
            super().on_epoch_end(epoch, logs)


def photos_digest(train_paths, val_paths) -> str:
    """A short fingerprint of the photos a run trains and validates on (their real paths), recorded
    in state.json: resuming with other --data is refused instead of mixing two data sets."""
    digest = hashlib.sha256()
    for name, paths in (("train", train_paths), ("val", val_paths)):
        digest.update(name.encode())
        for path in paths:
            digest.update(os.path.realpath(path).encode() + b"\0")
    return digest.hexdigest()[:16]


def _diverged(history: dict) -> bool:
    return any(not math.isfinite(float(v)) for values in history.values() for v in values)


def _image_error_in(err) -> str | None:
    """The one-line message of an `ImageError` raised while the pipeline read a photo, if `err` is one."""
    for line in str(err).splitlines():
        if "ImageError: " in line:
            return line.split("ImageError: ", 1)[1].strip()
    return None


ACTIVATION_FLOATS = 16  # floats per crop pixel a training step keeps, a floor (a first layer's output alone)


def memory_needed(cfg: TrainConfig, n_photos: int) -> int:
    """Bytes a run needs at least: every photo cached in 8-bit RGB (shorter side `size`, square at
    least) plus one batch's crops, warps and activations. A lower bound: refusing only what cannot fit."""
    pixels = cfg.size * cfg.size
    cache = n_photos * pixels * 3
    step = cfg.batch_size * pixels * 4 * (2 * 3 + ACTIVATION_FLOATS)
    if tf.config.list_physical_devices("GPU"):
        step = 0  # the step's tensors live on the GPU; only the cache must fit in this memory
    return cache + step


def available_memory() -> int | None:
    """Bytes of memory available now (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _check_memory(cfg: TrainConfig, n_photos: int) -> None:
    needed, available = memory_needed(cfg, n_photos), available_memory()
    if available is not None and needed > available:
        raise ColornetError(
            f"--size {cfg.size}: training needs at least {needed / 2**30:.1f} GiB ({n_photos} photos cached at "
            f"{cfg.size}x{cfg.size} and batches of {cfg.batch_size}), but {available / 2**30:.1f} GiB is "
            "available; use a smaller --size, --batch-size or --limit."
        )


def _callbacks(cfg, out_dir: Path, state: dict, resumed: bool, worker: WorkerInfo, net, export, samples):
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
        callbacks += [
            RunCheckpoint(out_dir, state, net, export),
            FiniteCSVLogger(str(out_dir / "history.csv"), append=resumed),
            keras.callbacks.TensorBoard(str(out_dir / "logs"), write_graph=False),
        ]
        if samples is not None:
            callbacks.append(samples)
    callbacks.append(keras.callbacks.TerminateOnNaN())
    return callbacks


PRIOR_FILE = "prior.npy"  # a bin head's prior, in the run folder


def run_prior(cfg: TrainConfig, out_dir: Path, train_paths: list[str], write: bool = True):
    """The prior over the ab bins of a run with a bin head, and where it came from: `--prior`,
    the run's own `prior.npy` (a resumed run), or computed from the training photos. It is kept
    in the run folder (`write`), so that a run resumes, and its weights are fine-tuned, with it.

    Raises:
        RunError: a resumed run given another prior than the one it trained with.
    """
    from colornet.prior import compute_prior, load_prior, save_prior

    kept = out_dir / PRIOR_FILE
    if cfg.prior is not None:
        prior = load_prior(cfg.prior)
        if kept.exists() and not np.allclose(load_prior(kept), prior, rtol=1e-6, atol=1e-9):
            raise RunError(
                f"{out_dir}: that run trains with the prior in {kept}, not {cfg.prior}; "
                "leave --prior out or use another --out."
            )
        source = str(cfg.prior)
    elif kept.exists():
        prior, source = load_prior(kept), str(kept)
    else:
        print(f"Computing the prior over the ab bins from {len(train_paths)} training photos...")
        prior = compute_prior(None, size=cfg.size, paths=train_paths)
        source = f"computed from the {len(train_paths)} training photos"
    if write:
        save_prior(kept, prior)
    return prior, source


def _optimizer_variables(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer (float16)
    return inner.variables


def _optimizers(model: keras.Model):
    """`[(optimizer, variables it trains)]`: one for a model trained by `fit`'s own step, one
    per network for a trainer with its own (a GAN's `optimizers_and_variables`)."""
    if hasattr(model, "optimizers_and_variables"):
        return model.optimizers_and_variables()
    return [(model.optimizer, model.trainable_variables)]


def _restore(trainer: keras.Model, path: Path) -> None:
    """Copy the weights and optimizer state of the checkpoint `path` into `trainer`, which was built
    and compiled for this run's precision and strategy (the checkpoint may come from others)."""
    try:
        saved = keras.models.load_model(path, compile=True)
    except (ValueError, OSError, KeyError, TypeError) as err:  # checked before, changed since, or unreadable
        raise damaged(path, err) from None
    trainer.set_weights(saved.get_weights())
    for (saved_opt, _), (opt, variables) in zip(_optimizers(saved), _optimizers(trainer)):
        source = _optimizer_variables(saved_opt) if saved_opt is not None else []
        opt.build(variables)
        target = _optimizer_variables(opt)
        if len(source) != len(target) or any(s.shape != t.shape for s, t in zip(source, target)):
            raise RunError(f"{path}: its optimizer state does not fit this model; use another --out.")
        for s, t in zip(source, target):
            t.assign(tf.cast(s.value, t.dtype))


def _check_init(cfg: TrainConfig) -> None:
    """Weights to start from must come from a network of this run's shape and color space:
    `--init` weights of a Lab U-Net would load into a YCrCb one, and mean nothing there."""
    cfg.init = weights_file(cfg.init)  # a run folder: its best weights
    recorded = (read_config(cfg.init) or {}).get("options", {})
    for name in ("color_space", "depth"):
        theirs, ours = recorded.get(name), cfg.model_options.get(name)
        if theirs is not None and ours is not None and theirs != ours:
            flag = "--" + name.replace("_", "-")
            raise RunError(
                f"{cfg.init}: trained with {name} {theirs}, this run has {ours}; "
                f"add {flag} {theirs} or start without --init."
            )


def load_init(net: keras.Model, cfg: TrainConfig, design: Design) -> None:
    """Load the `--init` weights into `net`. Weights of the same network built without hint
    channels go into all but its hint branches, which start at zero (it colors as they did)."""
    recorded = (read_config(cfg.init) or {}).get("options", {})
    if cfg.model_options.get("hints") and not recorded.get("hints"):
        twin = design.build(**{**cfg.model_options, "hints": False})
        load_weights(twin, cfg.init, design.name)
        copied = transfer_weights(twin, net)
        print(f"Started from {cfg.init} ({copied} weights); its hint branches start at zero.")
        return
    if recorded.get("hints") and not cfg.model_options.get("hints"):
        raise RunError(f"{cfg.init}: trained with hint channels; add --hints or start without --init.")
    load_weights(net, cfg.init, design.name)


def _build_on_a_local_batch(trainer: keras.Model, strategy, batch) -> None:
    """Build the compiled model's state from one local batch before `fit`.

    Keras 3 builds it on fit's first batch averaged over the replicas (`strategy.reduce`),
    which MultiWorkerMirroredStrategy cannot do outside a step (keras-team/keras#20585);
    only the batch's shapes matter, so this worker's own batch does."""
    if not hasattr(trainer, "_symbolic_build"):  # another Keras: it builds as it knows
        return
    with strategy.scope():
        trainer._symbolic_build(data_batch=batch)
    trainer._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def _describe_model(model: keras.Model, design: Design, options: dict) -> None:
    """Check that a model given to `train` is what `design.build(**options)` makes (so that its
    best.weights.h5 can be loaded again from its JSON)."""
    reference = design.build(**options)
    shapes = [tuple(w.shape) for w in model.weights]
    if shapes != [tuple(w.shape) for w in reference.weights]:
        raise RunError(
            f"the model given to train() is not what {design.name} builds with options {options}; "
            f"pass model_options that build it (e.g. model_options={{'width': 0.5}})."
        )


def train(model="beta", data: str = "data/Train", *, embedder=None, design: str | None = None, **kwargs):
    """Train a model on a folder of photos, resuming the run in `out` if there is one.

    Args:
        model: a design name ("alpha", "beta", "full", ...), or a `keras.Model` built by a
            design's builder (then `model_options` must be the options it was built with).
        data: folder (searched recursively), file or glob of training photos.
        embedder: for designs with extra inputs (full): the feature extractor to share with
            other code (default: one built from `embed_weights`).
        design: with a `keras.Model`: its design (default: the model's name).
        **kwargs: any `TrainConfig` field (val, size, epochs, batch_size, init, out, seed,
            precision, strategy, ...).

    Returns:
        A `TrainResult` with the trained model, its `colorizer`, the history and the run directory.

    Raises:
        ColornetError: a bad argument (named, in one line, as the command line names it), or a run
            in `out` that cannot be resumed (`RunError`: it is left as it is).

    Example:
        >>> result = train("beta", data="data/Train", size=64, epochs=2, out="runs/try")
        >>> result.history["val_loss"]
    """
    built = model if isinstance(model, keras.Model) else None
    design = get_design(design or (built.name if built is not None else model))
    data = data if isinstance(data, (list, tuple)) else str(data)
    cfg = make_config(TrainConfig, model=design.name, data=data, **kwargs)
    check_arguments(cfg)
    if cfg.lr is None:
        cfg.lr = design.lr or DEFAULT_LR
    if design.options_for_size is not None:  # e.g. a U-Net as deep as the crop size allows
        try:
            cfg.model_options = design.options_for_size(cfg.model_options, cfg.size)
        except ValueError as err:
            raise ColornetError(str(err)) from None
    check_config(cfg, design, DEFAULT_LR)
    out_dir = Path(cfg.out or f"runs/{cfg.model}")
    cfg.out = str(out_dir)
    if will_be_chief(cfg.strategy):  # a cluster's other tasks leave the chief's files alone
        remove_leftovers(out_dir)
    previous = open_run(out_dir)  # a run there that cannot be resumed is refused before any work
    train_paths, val_paths = list_run_photos(cfg)
    classes = None
    if design.labels:
        classes = class_names(cfg, train_paths) if cfg.classes == "auto" else None
        cfg.model_options = {**cfg.model_options, "n_classes": len(classes or [])}
    if "train_encoder" in design.options and cfg.encoder_weights in (None, "none") and not cfg.init:
        # a random encoder that stayed frozen would never learn anything
        cfg.model_options = {**cfg.model_options, "train_encoder": True}
    if embedder is not None and "embedder" in design.feature_options:  # full: the Embedder given names it
        from colornet.models.fusion import options_for_embedder

        try:
            cfg.model_options = options_for_embedder(cfg.model_options, embedder)
        except ValueError as err:
            raise ColornetError(str(err)) from None
    cfg.model_options = design.complete_options(cfg.model_options)
    strategy = choose_strategy(cfg.strategy, timeout=cfg.connect_timeout)
    worker = worker_info(strategy)
    if built is not None:
        if worker.replicas > 1:
            raise RunError(
                f"a built model cannot be trained under --strategy {cfg.strategy}; pass the design's "
                f"name ({design.name!r}) so that it is built in the strategy's scope."
            )
        _describe_model(built, design, cfg.model_options)
        policy, reason = built.dtype_policy.name, "the given model's"
    else:
        policy, reason = choose_precision(cfg.precision)
    _check_memory(cfg, len(train_paths) + len(val_paths))  # after the strategy: devices are known
    if worker.is_chief:
        out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)

    state_path = out_dir / "state.json"
    resumed = previous is not None
    trained_on = photos_digest(train_paths, val_paths)
    state = {
        "model": cfg.model,
        "options": cfg.model_options,
        "size": cfg.size,
        "epoch": 0,
        "init": cfg.init,
        "lr": cfg.lr,
        "loss": cfg.loss,
        "data": cfg.data,
        "data_weights": cfg.data_weights,
        "photos": trained_on,
    }
    lr_note = ""
    if resumed:
        state = previous
        # options added to a design after the run started take their default there
        recorded = design.complete_options(state.get("options", {}))
        if state["model"] != cfg.model or recorded != cfg.model_options:
            differ = [k for k in cfg.model_options if recorded.get(k) != cfg.model_options[k]]
            what = (
                f" ({', '.join(f'{k}={recorded.get(k)!r}, not {cfg.model_options[k]!r}' for k in differ)})"
                if state["model"] == cfg.model and differ
                else ""
            )
            raise RunError(
                f"{out_dir}: holds a {state['model']!r} run with options {recorded}{what}; "
                "use another --out for a different model."
            )
        if state.get("size") != cfg.size:
            raise RunError(
                f"{out_dir}: that run trains at --size {state.get('size')}; use it or another --out."
            )
        if "loss" in state and state["loss"] != cfg.loss:
            raise RunError(
                f"{out_dir}: that run trains with --loss {state['loss'] or 'default (the model' + chr(39) + 's)'}; "
                "use it or another --out (a loss of another kind makes its best checkpoint meaningless)."
            )
        if state.get("photos", trained_on) != trained_on:
            raise RunError(
                f"{out_dir}: that run trained on other photos ({state.get('data')}); use the same --data "
                "and --val, or another --out to start a new run."
            )
        if state.get("lr") is not None and state["lr"] != cfg.lr:
            lr_note = f"; learning rate {cfg.lr} from now on (was {state['lr']})"
        state.update(lr=cfg.lr, photos=trained_on, data=cfg.data)
    global_batch = cfg.batch_size * worker.replicas
    state.update(
        precision=policy, strategy=worker.kind, replicas=worker.replicas, workers=worker.workers,
        global_batch_size=global_batch,
    )  # fmt: skip

    codec = design.make_codec(cfg.model_options)
    if hasattr(codec, "with_prior"):  # a bin head: rebalancing weights from the prior over the bins
        prior, source = run_prior(cfg, out_dir, train_paths, write=worker.is_chief)
        state.setdefault("prior", source)  # a resumed run keeps where its prior came from
        codec = codec.with_prior(prior)
    loss, loss_weights = design.make_loss(cfg.model_options, cfg.loss)
    loss = {k: get_loss(v) for k, v in loss.items()} if isinstance(loss, dict) else get_loss(loss)
    jit_compile = cfg.jit_compile
    if jit_compile == "auto" and policy == "mixed_bfloat16" and not tf.config.list_physical_devices("GPU"):
        from colornet.precision import bf16_wants_xla

        # bfloat16 steps ran faster with XLA on one CPU and slower on another (bench/train_step.py):
        # follow this CPU's matmul; float32 steps on CPUs were slower with XLA on both
        jit_compile = bf16_wants_xla()
    pretrained_note = None
    with strategy.scope(), precision_scope(policy):
        net = built if built is not None else design.build(**cfg.model_options)
        trainer = design.training_model(net, cfg.model_options) if design.training_model else net
        trainer.compile(
            optimizer=keras.optimizers.Adam(cfg.lr),
            loss=loss,
            loss_weights=loss_weights,
            jit_compile=jit_compile,
        )
        if resumed:
            _restore(trainer, out_dir / "last.keras")
            if lr_note:  # the checkpoint's optimizer state brought the old learning rate back
                for optimizer, _ in _optimizers(trainer):
                    optimizer.learning_rate = cfg.lr
        elif cfg.init:
            _check_init(cfg)
            load_init(net, cfg, design)
        elif design.load_pretrained is not None:
            weights = None if cfg.encoder_weights in (None, "none") else cfg.encoder_weights
            pretrained_note = design.load_pretrained(net, weights)
    with precision_scope("float32"):
        export = design.build(**cfg.model_options)  # best.weights.h5 is written from this float32 twin
    initial_epoch = int(state["epoch"])
    if resumed:
        note = "; --init is ignored for a resumed run" if cfg.init else ""
        print(f"Resuming {out_dir} after epoch {initial_epoch} of {cfg.epochs}{lr_note}{note}.")
    if worker.is_chief:
        extra = {"classes": classes} if classes else {}
        if "prior" in state:
            extra["prior"] = PRIOR_FILE  # beside the weights
        save_config(out_dir / "best.weights.h5", cfg.model, cfg.model_options, size=cfg.size, **extra)

    features = make_features(design, cfg, embedder)
    train_ds, val_ds, train_paths, val_paths = make_datasets(
        cfg, design, features, worker, (train_paths, val_paths), classes, codec
    )
    steps, val_steps = cfg.steps_per_epoch, None
    if worker.replicas > 1:
        local = worker.replicas // worker.workers  # replicas on this worker
        per_worker = len(train_paths) // worker.workers
        steps = steps or max(1, per_worker // (cfg.batch_size * local))
        val_steps = max(1, math.ceil(len(val_paths) / worker.workers / (cfg.batch_size * local)))
        if worker.kind == "multiworker":
            _build_on_a_local_batch(trainer, strategy, next(iter(train_ds)))
        train_ds = strategy.distribute_datasets_from_function(lambda ctx: train_ds)
        val_ds = strategy.distribute_datasets_from_function(lambda ctx: val_ds)
    colorizer = Colorizer(
        model=net,
        design=design,
        training_size=cfg.size,
        features=features,
        source=str(out_dir),
        options=cfg.model_options,
        classes=classes,
        prior=getattr(codec, "prior", None),
    )
    samples = None
    if worker.is_chief and cfg.samples > 0:
        lab, _ = next(
            iter(cdata.make_lab_dataset(None, cfg.size, cfg.samples, training=False, paths=val_paths))
        )
        samples = SampleStrips(colorizer, lab, out_dir / "samples")

    epochs_run = max(0, cfg.epochs - initial_epoch)
    if epochs_run:
        mine = len(train_paths[worker.index :: worker.workers])
        shard = f" (worker {worker.index} of {worker.workers} reads {mine})" if worker.workers > 1 else ""
        print(
            f"Training {cfg.model} on {len(train_paths)} photos{shard}, validating on {len(val_paths)}, "
            f"{cfg.size}x{cfg.size}; precision {policy} ({reason}); strategy {worker.kind}, "
            f"{worker.replicas} replica(s) x batch {cfg.batch_size} = global batch {global_batch}"
            + (f"; {pretrained_note}." if pretrained_note else ".")
        )
        start = time.time()
        state.pop("diverged_epoch", None)
        callbacks = _callbacks(cfg, out_dir, state, resumed, worker, net, export, samples)
        try:
            fitted = trainer.fit(
                train_ds,
                validation_data=val_ds,
                epochs=cfg.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps,
                validation_steps=val_steps,
                callbacks=callbacks,
                verbose=cfg.verbose if worker.is_chief else 0,
                shuffle=False,  # the dataset shuffles itself
            )
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as err:
            bad_photo = _image_error_in(err)
            if bad_photo is None:
                raise
            raise ImageError(f"{bad_photo} (training stopped; the last finished epoch is kept)") from None
        finally:
            for callback in callbacks:  # fit leaves history.csv open when it raises
                csv_file = getattr(callback, "csv_file", None)
                if csv_file is not None and not csv_file.closed:
                    csv_file.close()
        diverged = state.pop("diverged_epoch", None) or (
            _diverged(fitted.history) and int(state.get("epoch", initial_epoch)) + 1
        )
        state["seconds"] = state.get("seconds", 0.0) + time.time() - start
        if worker.is_chief:
            atomic_write_json(state_path, state)
        else:  # the chief keeps the history on disk; the others report what they ran
            state["history"] = {k: [float(v) for v in vs] for k, vs in fitted.history.items()}
        if diverged:
            done = int(state.get("epoch", initial_epoch))
            kept = (
                f"the checkpoint of epoch {done} is kept (best: {out_dir / 'best.weights.h5'})"
                if (out_dir / "best.weights.h5").exists()
                else "no checkpoint was written"
            )
            raise RunError(
                f"{out_dir}: the loss became NaN or infinite in epoch {diverged}; {kept}; "
                f"run again with a lower --lr (now {cfg.lr})."
            )
    else:
        print(
            f"{out_dir}: already trained for {state['epoch']} epochs; to train more, ask for more epochs "
            "(--epochs on the command line, EPOCHS in the notebooks)."
        )
    return TrainResult(
        model=net,
        history=state.get("history", {}),
        out_dir=out_dir,
        best_weights=out_dir / "best.weights.h5",
        epochs_run=epochs_run,
        colorizer=colorizer,
        precision=policy,
        worker=worker,
    )


# --- command line -------------------------------------------------------------


def add_arguments(parser):
    d = TrainConfig()
    parser.add_argument("model", choices=list(DESIGNS), help="which network to train")
    parser.add_argument(
        "--data", required=True, nargs="+", help="folders (recursive), files or globs of training photos"
    )
    parser.add_argument(
        "--data-weights",
        nargs="+",
        type=float,
        metavar="W",
        help="one weight per --data source: its share of the photos drawn in an epoch (e.g. --data corpus "
        "scenes faces --data-weights 2 1 1); an epoch still has as many photos as all sources together "
        "(default: every photo once an epoch)",
    )
    parser.add_argument("--val", nargs="+", help="held-out photos (default: hold out --val-split of --data)")
    parser.add_argument(
        "--size",
        type=int_in(8),
        default=d.size,
        help="training crop size, a multiple of the model's size multiple (8 for alpha, beta, full, "
        "iizuka, zhang, dahl; 2^depth for unet, unet-gan) (default: %(default)s)",
    )
    parser.add_argument(
        "--epochs", type=int_in(1), default=d.epochs, help="total epochs (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size",
        type=int_in(1),
        default=d.batch_size,
        help="photos per batch on each replica; the global batch is this x replicas (default: %(default)s)",
    )
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=d.lr,
        help=f"Adam learning rate (default: {DEFAULT_LR}; unet-gan: 2e-4)",
    )
    parser.add_argument(
        "--loss",
        choices=LOSS_NAMES,
        help="default: the model's own (mse for alpha, beta, full; blurred, the distance also after Gaussian "
        "blurs of 3 and 5 px, for dahl)",
    )
    parser.add_argument(
        "--init",
        type=path_name,
        help="start from these weights (fine-tuning), e.g. weights/beta.weights.h5, or a run folder "
        "(its best.weights.h5) (default: random weights)",
    )
    parser.add_argument(
        "--out", type=path_name, help="run directory (default: runs/MODEL); an existing run there is resumed"
    )
    parser.add_argument(
        "--seed", type=int_in(0, MAX_SEED), default=d.seed, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--val-split",
        type=fraction,
        default=d.val_split,
        help="share of --data held out when there is no --val (default: %(default)s)",
    )
    parser.add_argument("--limit", type=int_in(1), help="use at most N training photos (default: all)")
    parser.add_argument(
        "--steps-per-epoch", type=int_in(1), help="batches per epoch (default: the whole folder)"
    )
    parser.add_argument(
        "--schedule",
        choices=["none", "plateau", "cosine"],
        default=d.schedule,
        help="learning-rate schedule (default: %(default)s)",
    )
    parser.add_argument(
        "--early-stopping",
        type=int_in(1),
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without improvement (default: never stop early)",
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="no rotation/zoom/shear (crops and flips stay)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first unreadable photo instead of skipping it"
    )
    parser.add_argument(
        "--width",
        type=positive_float,
        help="multiply every layer's filters (default: 1.0, the published network)",
    )
    parser.add_argument(
        "--batch-norm", action="store_true", help="batch normalization after each convolution (beta, full)"
    )
    parser.add_argument(
        "--global-size",
        type=int_in(32),
        help="iizuka: side of the global path's input, a multiple of 32 (default: 128)",
    )
    parser.add_argument(
        "--depth",
        type=int_in(1),
        help="unet, unet-gan: encoder steps, each halving the size (default: as many as --size allows, "
        "at most 8: 7 at 128 px)",
    )
    parser.add_argument(
        "--color-space",
        choices=["lab", "ycrcb"],
        help="unet, unet-gan: predict Lab ab, or Cr and Cb from Y (default: lab)",
    )
    parser.add_argument(
        "--encoder",
        choices=["none", "mobilenetv2", "resnet50v2"],
        help="unet, unet-gan: a keras.applications network as the encoder (default: none, pix2pix's own)",
    )
    parser.add_argument(
        "--encoder-weights",
        default=d.encoder_weights,
        metavar="imagenet|none|PATH",
        help="unet --encoder, dahl: ImageNet weights (from weights/ or ~/.keras/models/, else Keras downloads "
        "them), a *_notop.h5 file, or none to train the encoder from scratch (default: %(default)s)",
    )
    parser.add_argument(
        "--variant",
        choices=["residual", "hypercolumn"],
        help="dahl: the residual encoder, or hypercolumns of VGG16's four taps (default: residual)",
    )
    parser.add_argument(
        "--train-encoder",
        action="store_true",
        help="dahl, features: train the ImageNet encoder's layers too (default: frozen; always trained with "
        "--encoder-weights none)",
    )
    parser.add_argument(
        "--hints",
        action="store_true",
        help="features: take a person's color hints too (Zhang et al. 2017): a hint input, trained on hints "
        "simulated from each photo's true colors; --init with weights of the same model without hints "
        "starts from them, its hint branches at zero",
    )
    parser.add_argument(
        "--l1-weight",
        type=positive_float,
        help="unet-gan: lambda, the L1 term's weight next to the GAN loss (default: 100)",
    )
    parser.add_argument(
        "--class-weight",
        type=positive_float,
        help="iizuka: weight of the scene class loss next to the color loss (default: 1/300, the paper's)",
    )
    parser.add_argument(
        "--classes",
        choices=["auto", "none"],
        default=d.classes,
        help="iizuka: learn the scene class from folder names (auto) or not (none) (default: %(default)s)",
    )
    add_precision_argument(parser, default=d.precision)
    parser.add_argument(
        "--xla",
        choices=["auto", "on", "off"],
        default="auto",
        help="compile training steps with XLA: auto (on for GPUs; for bfloat16 on CPUs where its matmul is "
        "faster), on or off. Networks of depthwise convolutions (features) can run slower with it "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=d.strategy,
        help="one device, mirrored (every GPU of this machine), multiworker (machines in TF_CONFIG); "
        "auto picks multiworker when TF_CONFIG is set, mirrored with several GPUs, else one "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=d.connect_timeout,
        metavar="SECONDS",
        help="multiworker: how long to wait for the other machines (default: %(default)s)",
    )
    parser.add_argument(
        "--embed-weights",
        default=d.embed_weights,
        help="full: the embedder's weights: imagenet, a .h5 path, or none (default: %(default)s)",
    )
    parser.add_argument(
        "--embedder",
        choices=["inception_resnet_v2", "efficientnet-lite0"],
        help="full: the ImageNet classifier whose 1000 class probabilities are fused in: Inception-ResNet-v2 "
        "(the article's; Keras downloads its weights) or EfficientNet-Lite0 (weights in weights/, works offline, "
        "about 25x faster) (default: inception_resnet_v2)",
    )
    parser.add_argument(
        "--embed-mode",
        choices=["cached", "per-batch"],
        default=d.embed_mode,
        help="full: embeddings computed once (cached) or per batch as in the article (default: %(default)s)",
    )
    parser.add_argument(
        "--head",
        choices=["ab", "bins"],
        help="beta: predict ab (the article's regression) or a distribution over ab bins, trained with the "
        "rebalanced cross-entropy of zhang (default: ab)",
    )
    parser.add_argument(
        "--prior",
        metavar="FILE",
        help="zhang, beta --head bins: the prior over the ab bins (python -m colornet prior) (default: "
        "computed from --data before training and kept in the run folder)",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=d.verbose,
        help="progress bar (1), a line per epoch (2), none (0) (default: %(default)s)",
    )


@sigterm_as_interrupt()  # `kill` ends training as Ctrl-C does
def run(args) -> int:
    options = {}
    if args.width is not None:
        options["width"] = args.width
    if args.batch_norm:
        options["batch_norm"] = True
    if args.global_size is not None:
        options["global_size"] = args.global_size
    if args.class_weight is not None:
        options["class_weight"] = args.class_weight
    if args.train_encoder:
        options["train_encoder"] = True
    if args.hints:
        options["hints"] = True
    for name in ("depth", "color_space", "encoder", "l1_weight", "head", "variant", "embedder"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    allowed = get_design(args.model).options
    for name in options:
        if name not in allowed:
            flag = "--" + name.replace("_", "-")
            raise ColornetError(
                f"{flag} does not apply to {args.model} (it takes: {', '.join(allowed) or 'none'})."
            )
    result = train(
        args.model,
        data=args.data,
        data_weights=args.data_weights,
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
        encoder_weights=args.encoder_weights,
        embed_mode=args.embed_mode,
        precision=args.precision,
        jit_compile={"auto": "auto", "on": True, "off": False}[args.xla],
        strategy=args.strategy,
        connect_timeout=args.connect_timeout,
        classes=args.classes,
        prior=args.prior,
        verbose=args.verbose,
    )
    if not result.worker.is_chief:
        print(
            f"Done: worker {result.worker.index} of {result.worker.workers} (the chief writes the run folder)."
        )
        return 0
    best = result.history.get("val_loss", [])
    summary = f"best val_loss {min(best):.5f}" if best else "no validation loss"
    print(f"Done: {result.out_dir} ({summary}); weights: {result.best_weights}")
    return 0
