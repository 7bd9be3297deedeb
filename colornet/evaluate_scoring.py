"""The steps `colornet.evaluate` scores photos with: which photos (spread over the files, center
crops), the models (names, loading, one column per hint count), each model's coloring of the crops
as `colornet.colorize` writes it, and the summary of the per-photo scores.
"""

import os
import zlib
from pathlib import Path

import numpy as np

from colornet.arguments import WORK_SIZE_RANGE
from colornet.errors import EvaluateError
from colornet.images import FORMATS, ImageError, Photo, find_images, load_image
from colornet.metrics import METRICS, bin_error_sums, rebalanced_auc_of_sums

GRAY = "gray"
TRUTH = "truth"  # the column of the real photos

MAX_HINTS = 1000  # `--hints` per photo, at most
SIZE_RANGE = (16, WORK_SIZE_RANGE[1])  # the side of the crops, in pixels


def check_whole(name: str, value, low: int, high: int | None = None) -> None:
    """Refuse an argument that is not a whole number from `low` to `high`, in one line naming it."""
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not whole or value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise EvaluateError(f"{name} {value!r}: use a whole number {limit}.")


# --- photos and predictions -----------------------------------------------------


def select_paths(data, limit: int | None = None) -> list[str]:
    """The image files under `data`; with `limit`, that many spread evenly over the
    sorted list (so that every subfolder is represented), not just the first ones."""
    try:
        paths = find_images(data)
    except FileNotFoundError as err:
        raise ImageError(str(err)) from None
    if not paths:
        raise ImageError(f"{data}: no images ({FORMATS}) found; point --data to a folder of photos.")
    if limit is not None:
        if limit < 1:
            raise EvaluateError(f"--limit must be at least 1, got {limit}.")
        if limit < len(paths):
            picks = np.unique(np.round(np.linspace(0, len(paths) - 1, limit)).astype(int))
            paths = [paths[i] for i in picks]
    return paths


def load_crop(path, size: int) -> np.ndarray:
    """One photo -> uint8 RGB `(size, size, 3)`: shorter side resized to `size`, center crop.

    Raises:
        ImageError: a file that cannot be read.
    """
    import tensorflow as tf

    from colornet.color import to_uint8
    from colornet.data import crop_square, resize_shorter_side

    photo = load_image(path)
    image = resize_shorter_side(tf.constant(to_uint8(photo.rgb)), size)
    return crop_square(image, size).numpy()


HINT_SEED = 2017  # the simulated hints of `--hints`: the same places for every model and every run


def truth_hints(crops, paths, n: int):
    """`hints(i, prepared)` for `colorize_photos`: `n` hints sampled from the true colors of each
    crop on its working canvas (`colornet.hints.sample_hints`), at places seeded by the photo's
    path, so every model gets the same ones and the first k of n are those of k."""
    import tensorflow as tf

    from colornet.color import rgb_to_lab
    from colornet.hints import sample_hints

    def hints(i, prepared):
        h, w = prepared.content
        rgb = tf.image.resize(
            np.asarray(crops[i], np.float32)[None] / 255.0, (h, w), "bilinear", antialias=True
        )
        lab = np.zeros(prepared.canvas.shape[:2] + (3,), np.float32)
        lab[:h, :w] = np.asarray(rgb_to_lab(tf.clip_by_value(rgb, 0.0, 1.0)))[0]
        rng = np.random.default_rng([HINT_SEED, zlib.crc32(str(paths[i]).encode())])
        return sample_hints(lab, (h, w), n, rng)

    return hints


def colorize_crops(
    colorizer,
    crops,
    embedder=None,
    work_size: int | None = None,
    probabilities: list | None = None,
    hints=None,
) -> np.ndarray:
    """uint8 RGB `(b, h, w, 3)` -> what `colornet.colorize` writes for each, uint8.

    The crops go through the same steps as any photo (`colornet.predict`): L at full
    resolution, colors predicted at `work_size` (default: the model's own, `Colorizer.work_size`) and
    upsampled, chroma reduced where a color would leave the gamut. `colorizer` None
    gives the gray baseline (a = b = 0: the photo's own lightness). `probabilities` receives
    each crop's scene class probabilities, for designs that classify the scene. `hints`:
    `hints(i, prepared)`, each crop's hint map (`truth_hints`), for networks that take hints.
    """
    from colornet.predict import colorize_photos, finish, load_colorizer, prepare

    photos = [Photo(rgb=np.asarray(c, np.float32) / 255.0) for c in crops]
    if colorizer is None:
        gray = []
        for photo in photos:
            prepared = prepare(photo, work_size=max(photo.rgb.shape[:2]))
            gray.append(finish(prepared, np.zeros(prepared.canvas.shape[:2] + (2,), np.float32), np.uint8))
        return np.stack(gray)
    colorizer = load_colorizer(colorizer, features=embedder)
    return np.stack(colorize_photos(colorizer, photos, work_size, probabilities=probabilities, hints=hints))


# --- models ---------------------------------------------------------------------


RUN_FILES = ("best", "last")  # the weights a run folder holds: named after the folder


def model_name(spec) -> str:
    """`beta` -> `beta`; `runs/family/best.weights.h5` -> `family` (the run folder's name);
    `old/mine.weights.h5` -> `mine`; a keras.Model or Colorizer -> its name."""
    if not isinstance(spec, (str, os.PathLike)):
        return getattr(spec, "name", str(spec))
    path = Path(spec)
    name = path.name
    for suffix in (".weights.h5", ".h5", ".keras"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name in RUN_FILES and path.parent.name not in ("", ".", ".."):
        return path.parent.name
    return name


def load_models(specs, precision: str = "float32") -> dict:
    """Names or paths of weights (or keras.Models, Colorizers, or a dict name -> any of those)
    -> dict name -> `colornet.predict.Colorizer`.

    Names are made unique (`beta`, `beta-2`); loading goes through `colornet.predict.load_colorizer`.
    """
    from colornet.predict import Colorizer, load_colorizer

    if isinstance(specs, dict):
        items = list(specs.items())
    else:
        if isinstance(specs, (str, os.PathLike, Colorizer)) or hasattr(specs, "predict"):
            specs = [specs]
        items = [(model_name(s), s) for s in specs]
    if not items:
        raise EvaluateError("no model to evaluate; pass --model NAME or a weights path.")
    models, taken = {}, {GRAY, TRUTH}
    for name, spec in items:
        unique, i = str(name), 2
        while unique in taken:
            unique, i = f"{name}-{i}", i + 1
        taken.add(unique)
        models[unique] = load_colorizer(spec, precision=precision)
    return models


def hint_columns(models: dict, hints) -> tuple[dict, dict]:
    """`(columns, hint counts)`: with `hints` (a number or a list of numbers), a column
    `NAME N hints` per model and number, and column -> N; without, the models as they are.

    Raises:
        EvaluateError: a count that is not a whole number from 0 to 1000, or a model without
            hint channels.
    """
    if hints is None:
        return models, {}
    counts = [hints] if isinstance(hints, (int, np.integer)) and not isinstance(hints, bool) else hints
    try:
        counts = list(dict.fromkeys(counts))
    except TypeError:
        counts = [hints]
    for n in counts:
        check_whole("hints", n, 0, MAX_HINTS)
    columns, counts_of = {}, {}
    for name, colorizer in models.items():
        if not colorizer.takes_hints:
            raise EvaluateError(
                f"--hints: {name} was trained without hint channels; evaluate features-hints (or weights "
                "trained with --hints), or leave --hints out."
            )
        for n in counts:
            column = f"{name} {n} hint{'' if n == 1 else 's'}"
            columns[column], counts_of[column] = colorizer, int(n)
    return columns, counts_of


# --- summary ----------------------------------------------------------------------


def _stats(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(np.mean(values)), "median": float(np.median(values))}


def add_bin_sums(total: list, pred, truth) -> None:
    """Add the ab error sums and counts per bin of `pred` against `truth` to `total`."""
    sums, counts = bin_error_sums(pred, truth)
    total[0], total[1] = total[0] + sums, total[1] + counts


def summarize(images: list[dict], columns: list[str], bin_sums: dict | None = None) -> dict:
    """Per-image rows -> mean and median of each metric per column, the colorfulness gap and, per
    model, the share of photos whose PSNR is above gray's (`better_than_gray`); with `bin_sums`
    (column -> summed `bin_error_sums`), the set-wide AuC rebalanced, as the paper computes it
    (each ab bin weighs the same over the whole set)."""
    truth_cf = [row[TRUTH]["colorfulness"] for row in images]
    summary = {TRUTH: {"colorfulness": _stats(truth_cf)}}
    for col in columns:
        summary[col] = {m: _stats([row[col][m] for row in images]) for m in METRICS}
        gap = abs(summary[col]["colorfulness"]["mean"] - summary[TRUTH]["colorfulness"]["mean"])
        summary[col]["colorfulness_gap"] = {"mean": gap}
        if bin_sums:
            summary[col]["ab_auc_rebalanced_set"] = {"mean": rebalanced_auc_of_sums(*bin_sums[col])}
    for col in columns[1:]:  # PSNR rewards safe colors on average; how often is a model the better guess?
        summary[col]["better_than_gray"] = {
            "mean": float(np.mean([r[col]["psnr"] > r[GRAY]["psnr"] for r in images]))
        }
    return summary


def scene_accuracy(images: list[dict], names: list[str]) -> dict:
    """Model name -> `{"accuracy", "photos"}` over the photos whose folder is one of the model's
    scene classes (designs that classify the scene, from the gray photo); others are left out."""
    result = {}
    for name in names:
        judged = [row[name]["scene"]["correct"] for row in images if "scene" in row[name]]
        if judged:
            result[name] = {"accuracy": float(np.mean(judged)), "photos": len(judged)}
    return result
