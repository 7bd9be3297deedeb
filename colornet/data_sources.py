"""Which photos a run trains on: a source's readable photos, their class labels from folder names,
each cluster worker's share of them, and the share of a pass each source (`--data`) is given."""

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from colornet.errors import ImageError
from colornet.images import filter_readable
from colornet.images_find import FORMATS, find_images


def list_images(source, on_error: str = "raise", skip=()) -> list[str]:
    """All readable photos under `source` (a folder, file, glob, or list of them).

    `skip`: folders whose files are not photos to use (a training run's own sample strips); a file
    named in `source` is used wherever it is.

    Raises:
        ImageError: `source` has no images, or (with on_error="raise") a bad file.
    """
    try:
        paths = find_images(source)
    except FileNotFoundError as err:
        raise ImageError(str(err)) from None
    if skip and paths:
        found = paths
        paths = _outside(paths, source, skip)
        if not paths:
            raise ImageError(
                f"{source}: its {len(found)} image(s) are all in {skip[0]}, the run's own images, which "
                "are never training photos; point to your photos."
            )
    if not paths:
        raise ImageError(
            f"{source}: no images ({FORMATS}) found; put photos there or point to another folder."
        )
    paths = filter_readable(paths, on_error=on_error)
    if not paths:
        raise ImageError(f"{source}: none of the images could be read; see the warnings above.")
    return paths


def _outside(paths, source, folders) -> list[str]:
    """`paths` less those inside `folders`, unless `source` names them as files."""
    sources = [source] if isinstance(source, (str, Path)) else list(source)
    named = {os.path.realpath(s) for s in sources if os.path.isfile(s)}
    inside = tuple(os.path.join(os.path.realpath(f), "") for f in folders)
    return [p for p in paths if os.path.realpath(p) in named or not os.path.realpath(p).startswith(inside)]


def folder_labels(paths, classes: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Class labels from the parent folder of each photo (`scenes/train/forest/x.jpg` -> `forest`).

    Args:
        paths: image files.
        classes: the class names, in label order (default: the sorted folder names).

    Returns:
        `(classes, labels)`: the class names and an int32 label per file.

    Raises:
        ImageError: a file whose folder is not one of `classes`.
    """
    names = [Path(p).parent.name for p in paths]
    classes = sorted(set(names)) if classes is None else list(classes)
    index = {name: i for i, name in enumerate(classes)}
    unknown = [p for p, name in zip(paths, names) if name not in index]
    if unknown:
        raise ImageError(
            f"{unknown[0]}: its folder {Path(unknown[0]).parent.name!r} is not one of the classes "
            f"{', '.join(classes)}; move it into a class folder or leave it out."
        )
    return classes, np.array([index[name] for name in names], np.int32)


def shard_paths(paths, shard: tuple[int, int] | None):
    """Every `num_shards`-th file starting at `index`, for `shard = (num_shards, index)`: each
    worker of a cluster reads its own files."""
    if shard is None:
        return list(paths), None
    num_shards, index = shard
    return list(paths)[index::num_shards], slice(index, None, num_shards)


def check_source_weights(weights, n_sources: int) -> list[float]:
    """The sampling shares of `n_sources` sources, normalized to sum 1.

    Raises:
        ValueError: not one weight per source, or a weight that is negative, not finite or all 0.
    """
    weights = [float(w) for w in weights]
    if len(weights) != n_sources:
        raise ValueError(
            f"--data-weights has {len(weights)} value(s) for {n_sources} --data source(s); give one per source."
        )
    if not all(np.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"--data-weights {' '.join(map(str, weights))}: use numbers >= 0, not all 0.")
    return [w / sum(weights) for w in weights]


def weighted_sources(photos, sources, weights, n: int, seed: int) -> tf.data.Dataset:
    """`n` photos a pass, drawn from each source with its share of `weights` (a small source is seen
    more often than once a pass, a large one less), from `photos(rows)`, each source repeating on
    its own. `sources`: the source index of each photo; a source without photos is left out."""
    datasets, shares = [], []
    for index, share in enumerate(weights):
        rows = np.flatnonzero(sources == index)
        if share > 0 and len(rows):
            ds = photos(rows).shuffle(min(len(rows), 4096), seed=seed + index, reshuffle_each_iteration=True)
            datasets.append(ds.repeat())
            shares.append(share)
    if not datasets:
        raise ImageError("no training photos in the sources with a weight above 0; check --data-weights.")
    total = sum(shares)
    sampled = tf.data.Dataset.sample_from_datasets(
        datasets, weights=[w / total for w in shares], seed=seed, rerandomize_each_iteration=True
    )
    return sampled.take(n)
