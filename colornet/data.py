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
"""

import math
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from colornet.codecs import LabTanhCodec
from colornet.color import rgb_to_lab, rgb_to_model_io
from colornet.images import FORMATS, ImageError, filter_readable, find_images, load_rgb8

AUTOTUNE = tf.data.AUTOTUNE


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


def _read_rgb8(path) -> np.ndarray:
    return load_rgb8(path.decode() if isinstance(path, bytes) else str(path))


def decode_image(path):
    """Read and decode one file -> uint8 RGB `(h, w, 3)`.

    Read by Pillow (`colornet.images.load_rgb8`), as `colorize` reads it: grayscale,
    palette (8-bit BMP, GIF, PNG), RGBA and 16-bit files become 8-bit RGB, EXIF orientation
    is applied, a GIF gives its first frame. (TensorFlow's own decoders read a palette BMP's
    indices as gray and refuse 1-bit BMPs.)
    """
    image = tf.numpy_function(_read_rgb8, [path], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return image


def resize_shorter_side(image, size: int):
    """Resize so the shorter side is `size`, keeping the aspect ratio; keeps the dtype.

    Antialiased when shrinking, plain bilinear when enlarging; no work at the right size.
    """
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(h, w)
    new_size = tf.stack(
        [
            tf.maximum(size, tf.cast(tf.round(h * scale), tf.int32)),
            tf.maximum(size, tf.cast(tf.round(w * scale), tf.int32)),
        ]
    )

    def resize():
        resized = tf.cond(
            scale < 1.0,
            lambda: tf.image.resize(image, new_size, method="bilinear", antialias=True),
            lambda: tf.image.resize(image, new_size, method="bilinear"),
        )
        if image.dtype == tf.uint8:
            return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
        return tf.cast(resized, image.dtype)

    return tf.cond(tf.reduce_all(new_size == shape[:2]), lambda: image, resize)


def load_lab(path, size: int):
    """Decode a photo and return it in Lab, shorter side `size` -> float32 `(>= size, >= size, 3)`.

    The conversion runs at the smaller of the photo's and the target resolution:
    large photos are shrunk first, small ones converted first and then enlarged.
    """
    image = decode_image(path)
    shorter = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
    return tf.cond(
        shorter > size,
        lambda: rgb_to_lab(resize_shorter_side(image, size)),
        lambda: resize_shorter_side(rgb_to_lab(image), size),
    )


def load_rgb(path, size: int):
    """Decode a photo and resize it so its shorter side is `size` -> uint8 RGB `(>= size, >= size, 3)`."""
    return resize_shorter_side(decode_image(path), size)


def crop_square(image, size: int, seed=None, flip: bool = True):
    """Square crop of `size`: random (with a random horizontal flip unless `flip` is
    False) when `seed` (a shape-(2,) int tensor) is given, the center crop otherwise."""
    shape = tf.shape(image)
    if seed is None:
        top = (shape[0] - size) // 2
        left = (shape[1] - size) // 2
        return image[top : top + size, left : left + size, :]
    channels = image.shape[-1] or 3
    image = tf.cond(
        tf.reduce_all(shape[:2] == size),
        lambda: image,
        lambda: tf.image.stateless_random_crop(image, [size, size, channels], seed=seed),
    )
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
    return image


def affine_params(batch_size, seed, rotation: float = 20.0, zoom: float = 0.2, shear: float = 0.2):
    """Random rotation (degrees), zoom and shear per image, as in the article's
    `ImageDataGenerator(rotation_range=20, zoom_range=0.2, shear_range=0.2)`."""
    u = tf.random.stateless_uniform([4, batch_size], seed=seed, minval=-1.0, maxval=1.0)
    angle = u[0] * rotation * math.pi / 180.0
    shear_angle = u[1] * shear  # radians, as Keras 2 did
    zoom_x = 1.0 + u[2] * zoom
    zoom_y = 1.0 + u[3] * zoom
    return angle, shear_angle, zoom_x, zoom_y


def augment_batch(
    images, seed, rotation: float = 20.0, zoom: float = 0.2, shear: float = 0.2, flip: bool = False
):
    """One affine warp per image (rotation, shear, zoom about the center, and a
    random horizontal flip if `flip`), edges repeated outward as Keras' `fill_mode="nearest"`.

    Args:
        images: `(b, h, w, c)` float (Lab or RGB) or uint8 (scaled to [0, 1]).
        seed: shape-(2,) int tensor; the same seed gives the same warps.
        flip: mirror half of the images, in the same warp (no extra pass over the pixels).

    Returns:
        float32 `(b, h, w, c)`, bilinearly interpolated.
    """
    images = tf.image.convert_image_dtype(images, tf.float32)
    shape = tf.shape(images)
    b, h, w = shape[0], tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    angle, shear_angle, zx, zy = affine_params(b, seed, rotation, zoom, shear)
    cos, sin = tf.cos(angle), tf.sin(angle)
    sh_sin, sh_cos = tf.sin(shear_angle), tf.cos(shear_angle)
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    # Output pixel (x, y) -> input pixel: rotate, shear and zoom about the center,
    #   [a0 a1] = R(angle) @ [[1, -sin(s)], [0, cos(s)]] @ diag(zx, zy)
    mirror = 1.0
    if flip:  # x -> -x before the warp: negates the first column
        mirror = tf.where(tf.random.stateless_uniform([b], seed=seed + 7) < 0.5, -1.0, 1.0)
    a0 = cos * zx * mirror
    a1 = (-cos * sh_sin - sin * sh_cos) * zy
    b0 = sin * zx * mirror
    b1 = (-sin * sh_sin + cos * sh_cos) * zy
    a2 = cx - a0 * cx - a1 * cy
    b2 = cy - b0 * cx - b1 * cy
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)  # (b, 8)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    return warped


def to_model_io(images):
    """uint8 or float RGB batch -> (L normalized `(b, h, w, 1)`, ab normalized `(b, h, w, 2)`)."""
    return rgb_to_model_io(tf.image.convert_image_dtype(images, tf.float32))


def normalize_batch(labs):
    """Lab batch -> (L normalized `(b, h, w, 1)` in [-1, 1], ab normalized `(b, h, w, 2)`)."""
    return LabTanhCodec().encode(labs)


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


# --- single photos ------------------------------------------------------------


def pad_to_multiple(rgb, multiple: int = 8, mode: str = "reflect"):
    """Pad `(h, w, c)` at the bottom/right to a multiple of `multiple`; returns (padded, (h, w))."""
    rgb = np.asarray(rgb)
    h, w = rgb.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (rgb.ndim - 2)
        rgb = np.pad(rgb, pad, mode=mode if min(h, w) > 1 else "edge")
    return rgb, (h, w)


def crop_to_multiple(rgb, multiple: int = 8):
    """Center-crop `(h, w, c)` to the largest multiple of `multiple` on each side."""
    h, w = rgb.shape[:2]
    nh, nw = h - h % multiple, w - w % multiple
    if nh == 0 or nw == 0:
        raise ImageError(
            f"image of {w}x{h} pixels is smaller than {multiple}x{multiple}; use a larger photo."
        )
    top, left = (h - nh) // 2, (w - nw) // 2
    return rgb[top : top + nh, left : left + nw]


def photo_to_batch(rgb, multiple: int = 8, fit: str = "crop"):
    """One RGB photo `(h, w, 3)` in [0, 1] -> a batch of one `(L (1, H, W, 1), ab (1, H, W, 2))`
    with H, W multiples of `multiple` (`fit` = "crop" or "pad")."""
    rgb = np.asarray(rgb, dtype=np.float32)
    rgb = crop_to_multiple(rgb, multiple) if fit == "crop" else pad_to_multiple(rgb, multiple)[0]
    l, ab = rgb_to_model_io(tf.constant(rgb[None]))
    return l, ab
