"""A run's photos and datasets: the training and validation photos (listed, split, limited), their
classes and fingerprint, the `tf.data` pipelines `fit` reads, and the memory they need at least."""

import hashlib
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from colornet import data as cdata
from colornet.distribute import WorkerInfo
from colornet.errors import ColornetError
from colornet.models import Design
from colornet.train_config import TrainConfig


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


def photos_digest(train_paths, val_paths) -> str:
    """A short fingerprint of the photos a run trains and validates on (their real paths), recorded
    in state.json: resuming with other --data is refused instead of mixing two data sets."""
    digest = hashlib.sha256()
    for name, paths in (("train", train_paths), ("val", val_paths)):
        digest.update(name.encode())
        for path in paths:
            digest.update(os.path.realpath(path).encode() + b"\0")
    return digest.hexdigest()[:16]


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


def check_memory(cfg: TrainConfig, n_photos: int, available: int | None) -> None:
    """Refuse a run whose photos and batches cannot fit in `available` bytes (None: unknown, not refused)."""
    needed = memory_needed(cfg, n_photos)
    if available is not None and needed > available:
        raise ColornetError(
            f"--size {cfg.size}: training needs at least {needed / 2**30:.1f} GiB ({n_photos} photos cached at "
            f"{cfg.size}x{cfg.size} and batches of {cfg.batch_size}), but {available / 2**30:.1f} GiB is "
            "available; use a smaller --size, --batch-size or --limit."
        )
