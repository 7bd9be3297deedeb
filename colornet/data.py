"""tf.data pipelines: a folder of photos -> batches of (L, ab) for the networks.

Each step is a small function that can be tried on one sample before it is
chained, as in the TensorFlow pix2pix tutorial:

    decode_image(path)                     -> uint8 RGB (h, w, 3)
    load_lab(path, size)                   -> float Lab (>= size, >= size, 3): decode,
                                              resize_shorter_side and rgb_to_lab
    crop_square(lab, size, seed)           -> float Lab (size, size, 3), random crop
    augment_batch(labs, seed, flip=True)   -> float Lab (b, size, size, 3), flip/rotation/zoom/shear
    codec.encode(labs, extras)             -> (inputs, targets): what a design's network
                                              takes and learns (`colornet.codecs`)

`make_lab_dataset` chains the first four, `make_dataset` adds the codec: files are checked once; each photo is decoded,
resized and converted to Lab once, and cached; each epoch then crops, flips and
warps whole batches of cached Lab images in graph ops. Converting once instead
of every epoch is what makes later epochs fast. (The article converted after
augmenting; warping L, a and b instead of R, G and B differs only by the
interpolation of a few edge pixels.)

The steps live beside this module, all importable from here: one photo's decoding and resizing
in `colornet.data_photos`, crops, flips and warps in `colornet.data_augment`, the photo list,
labels, shards and source weights in `colornet.data_sources`.
"""

import numpy as np
import tensorflow as tf

from colornet.codecs import LabTanhCodec
from colornet.color import rgb_to_lab

# names marked F401 are not used here: they stay importable from `colornet.data`, as before
from colornet.data_augment import (
    affine_params,  # noqa: F401
    augment_batch,
    crop_square,
)
from colornet.data_photos import (
    crop_to_multiple,  # noqa: F401
    decode_image,  # noqa: F401
    load_lab,  # noqa: F401
    load_rgb,
    pad_to_multiple,  # noqa: F401
    photo_to_batch,  # noqa: F401
    resize_shorter_side,  # noqa: F401
    to_model_io,  # noqa: F401
)
from colornet.data_sources import (
    check_source_weights,  # noqa: F401
    folder_labels,  # noqa: F401
    list_images,
    shard_paths,
    weighted_sources,
)
from colornet.errors import ImageError

AUTOTUNE = tf.data.AUTOTUNE


def normalize_batch(labs):
    """Lab batch -> (L normalized `(b, h, w, 1)` in [-1, 1], ab normalized `(b, h, w, 2)`)."""
    return LabTanhCodec().encode(labs)


def make_lab_dataset(
    source,
    size: int = 128,
    batch_size: int = 16,
    *,
    training: bool = True,
    augment: bool = True,
    seed: int = 42,
    cache: bool | str = True,
    on_error: str = "raise",
    extras: dict | None = None,
    labels=None,
    drop_remainder: bool = False,
    paths: list[str] | None = None,
    shard: tuple[int, int] | None = None,
    sources=None,
    source_weights=None,
) -> tf.data.Dataset:
    """A dataset of `(lab, extras)` batches: Lab photos `(b, size, size, 3)` and a dict of
    per-photo values (`{}` when there are none). See `make_dataset` for the arguments."""
    if paths is None:
        paths = list_images(source, on_error=on_error)
    paths, rows = shard_paths(paths, shard)
    n = len(paths)
    if sources is not None:
        sources = np.asarray(sources)[rows] if rows is not None else np.asarray(sources)
        if len(sources) != n:
            raise ValueError(f"sources has {len(sources)} values but there are {n} images.")
    if n == 0:
        raise ImageError(f"{source}: no photos for this worker's shard; use fewer workers or more photos.")
    extras = dict(extras or {})
    if labels is not None:
        extras["label"] = labels
    columns = {}
    for key, values in extras.items():
        values = np.asarray(values)
        values = values[rows] if rows is not None else values
        if len(values) != n:
            raise ValueError(f"extras[{key!r}] has {len(values)} rows but there are {n} images.")
        columns[key] = values.astype(np.int32 if key == "label" else np.float32)
    if not columns:
        columns = {"_": np.zeros((n, 0), np.float32)}  # a placeholder, dropped from the batches

    def photos(rows):
        """Decoded photos of the files at `rows` (all: None), with their columns; for training in
        an order shuffled once over the whole list (a folder lists its photos class by class or
        source by source, and the shuffle buffer after the cache only mixes neighbors)."""
        rows = np.arange(n) if rows is None and training else rows
        if training:
            rows = np.random.default_rng(seed).permutation(rows)
        pick = (lambda v: v) if rows is None else (lambda v: np.asarray(v)[rows])
        ds = tf.data.Dataset.zip(
            tf.data.Dataset.from_tensor_slices(pick(paths)),
            tf.data.Dataset.from_tensor_slices({k: pick(v) for k, v in columns.items()}),
        )
        # Photos are cached as 8-bit RGB at the training scale (a quarter of the memory of float
        # Lab: 33,000 photos at 160 px take 3.4 GB); each crop is turned into Lab once it is cut.
        ds = ds.map(lambda p, e: (load_rgb(p, size), e), num_parallel_calls=AUTOTUNE)
        if cache:
            name = cache if isinstance(cache, str) else ""
            ds = ds.cache(f"{name}.rows{min(rows)}" if name and rows is not None and len(rows) < n else name)
        return ds

    if training and source_weights is not None:
        ds = weighted_sources(photos, sources, source_weights, n, seed)
    else:
        ds = photos(None)
    if training:
        ds = ds.shuffle(min(n, 4096), seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds)
        flip_here = not augment  # with augmentation the flip is part of the warp
        ds = ds.map(
            lambda item, s: (rgb_to_lab(crop_square(item[0], size, s, flip=flip_here)), item[1], s),
            num_parallel_calls=AUTOTUNE,
        )
    else:
        ds = ds.map(
            lambda im, e: (rgb_to_lab(crop_square(im, size)), e, tf.zeros([2], tf.int64)),
            num_parallel_calls=AUTOTUNE,
        )

    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)

    def finish(images, extra, seeds):
        if training and augment:
            images = augment_batch(images, seeds[0], flip=True)
        extra = {k: v for k, v in extra.items() if k != "_"}
        return images, extra  # (b, size, size, 3) Lab

    ds = ds.map(finish, num_parallel_calls=AUTOTUNE)
    options = tf.data.Options()
    # Parallelism comes from running several map calls at once; kernels that also
    # spread over all cores inside each call oversubscribe them (2x slower first epoch).
    options.threading.max_intra_op_parallelism = 1
    # Workers of a cluster read their own files (`shard`); tf.data must not split them again.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options)


def make_dataset(
    source,
    size: int = 128,
    batch_size: int = 16,
    *,
    training: bool = True,
    augment: bool = True,
    seed: int = 42,
    cache: bool | str = True,
    on_error: str = "raise",
    codec=None,
    extras: dict | None = None,
    labels=None,
    drop_remainder: bool = False,
    paths: list[str] | None = None,
    shard: tuple[int, int] | None = None,
    features=None,
    features_mode: str = "cached",
    cache_dir=None,
    write_cache: bool = True,
    verbose: bool = True,
    sources=None,
    source_weights=None,
) -> tf.data.Dataset:
    """A dataset of training batches from a folder (recursive) of photos, encoded by a design's codec.

    Args:
        source: folder, file, glob, or a list of them.
        size: side of the square crops, in pixels (a multiple of the design's size multiple
            when the batches go to a network: `Design.check_size`).
        batch_size: photos per batch.
        training: shuffle, random crop and flip; otherwise center crops in file order.
        augment: with `training`, also the article's rotation/zoom/shear.
        seed: makes shuffling, crops and augmentation reproducible.
        cache: keep decoded, resized photos in memory (True), in a file (a path), or not (False).
        on_error: "raise" on the first unreadable file, or "skip" them with a counted warning.
        codec: the design's codec (`colornet.codecs`); default: normalized L in, ab / 128 out,
            with the keys of `extras` (but `label`) as extra inputs after L.
        extras: dict name -> array `(n_files, ...)` aligned with the file list (for example
            image embeddings), given to the codec with each batch.
        labels: int array `(n_files,)` of class labels (see `folder_labels`), `extras["label"]`.
        drop_remainder: drop the last incomplete batch.
        paths: an already checked file list to use instead of listing `source`.
        shard: `(num_shards, index)`: use only every `num_shards`-th file from `index` (cluster workers).
        features: for designs with extra inputs (`Design.features`, e.g. the Full model's
            `Embedder`): computes them from L. With `features_mode="cached"` each photo's
            extras are computed once on its center crop (`features.file_extras`) and kept in
            `cache_dir` (written only when `write_cache`); with "per-batch" they are computed
            on every augmented batch (`features.extras`), as the article does.
        verbose: let `features` say what its cache did.
        sources: int array `(n_files,)`: the source (a `--data` entry) of each file.
        source_weights: with `training` and `sources`, each source's share of the photos drawn
            in a pass (`check_source_weights`): a pass still has as many photos as there are
            files, but a small source weighted up is seen several times, a large one less.

    Returns:
        A `tf.data.Dataset` of what `codec.encode` gives: by default `(L, ab)` with L
        `(b, size, size, 1)` in [-1, 1] and ab `(b, size, size, 2)` divided by 128.

    Example:
        >>> ds = make_dataset("data/Train", size=128, batch_size=8)
        >>> l, ab = next(iter(ds))
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}.")
    if features_mode not in FEATURE_MODES:
        raise ValueError(f"features_mode must be one of {', '.join(FEATURE_MODES)}, not {features_mode!r}.")
    if paths is None:
        paths = list_images(source, on_error=on_error)
    paths, rows = shard_paths(paths, shard)
    extras = {k: np.asarray(v)[rows] if rows is not None else v for k, v in (extras or {}).items()}
    labels = np.asarray(labels)[rows] if labels is not None and rows is not None else labels
    sources = np.asarray(sources)[rows] if sources is not None and rows is not None else sources
    if features is not None and features_mode == "cached":
        extras.update(
            features.file_extras(paths, size, cache_dir=cache_dir, write=write_cache, verbose=verbose)
        )
    if codec is None:
        if features is not None:
            raise ValueError("pass the design's codec with `features`: it names the extra inputs.")
        codec = LabTanhCodec(extra_inputs=tuple(k for k in extras if k != "label"))
    ds = make_lab_dataset(
        source,
        size,
        batch_size,
        training=training,
        augment=augment,
        seed=seed,
        cache=cache,
        on_error=on_error,
        extras=extras,
        labels=labels,
        drop_remainder=drop_remainder,
        paths=paths,
        sources=sources,
        source_weights=source_weights,
    )
    if features is not None and features_mode == "per-batch":
        ds = ds.map(_per_batch_extras(features, codec.extra_inputs))
    return ds.map(codec.encode, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


FEATURE_MODES = ("cached", "per-batch")


def _per_batch_extras(features, names):
    """A map step that adds `features.extras(L)` of each augmented batch (run eagerly in Python)."""
    if hasattr(features, "build"):
        features.build()  # outside the tf.data thread, so that weight errors surface here

    def compute(L):
        extras = features.extras(L)
        return [tf.cast(extras[k], tf.float32) for k in names]

    def add(lab, extras):
        values = tf.py_function(compute, [lab[..., :1]], [tf.float32] * len(names))
        return lab, {**extras, **dict(zip(names, values))}

    return add
