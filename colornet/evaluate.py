"""Evaluate colorization models against the gray baseline on a folder of photos.

Every photo is resized so its shorter side is `size` and center-cropped to
`size` x `size` (the steps `colornet.data` uses), its L channel is colored by
each model, and the 8-bit results are compared with the real photo by the
metrics of `colornet.metrics`. The gray baseline (a = b = 0: the photo's own
lightness, no color) is what any model has to beat.

    python -m colornet evaluate --model beta --data photos/ --json out.json --grid out.png

Example (in a notebook):
    >>> results = evaluate({"beta": model}, "data/val", size=128, limit=200)
    >>> print(format_table(results))
"""

import json
import math
import os
import sys
import zlib
from pathlib import Path

import numpy as np

from colornet.arguments import WORK_SIZE_RANGE, int_in, path_name
from colornet.errors import EvaluateError
from colornet.images import FORMATS, ImageError, Photo, find_images, load_image
from colornet.metrics import METRICS, bin_error_sums, colorfulness, image_metrics, rebalanced_auc_of_sums

GRAY = "gray"
TRUTH = "truth"  # the column of the real photos
LABELS = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "ab_auc": "AuC ab",
    "ab_auc_rebalanced": "AuC ab rebalanced",
    "ab_auc_rebalanced_set": "AuC ab rebalanced, set",
    "colorfulness": "colorfulness",
    "colorfulness_gap": "colorfulness gap",
}
DIGITS = {
    "psnr": 2,
    "ssim": 4,
    "ab_auc": 4,
    "ab_auc_rebalanced": 4,
    "ab_auc_rebalanced_set": 4,
    "colorfulness": 2,
    "colorfulness_gap": 2,
}


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
    resolution, colors predicted at `work_size` (default: the model's training size) and
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


# --- evaluation -------------------------------------------------------------------


def _stats(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(np.mean(values)), "median": float(np.median(values))}


def _add_bin_sums(total: list, pred, truth) -> None:
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


def evaluate(
    models,
    data,
    size: int = 256,
    limit: int | None = None,
    batch_size: int = 8,
    embedder=None,
    progress: bool = False,
    work_size: int | None = None,
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    semantic: bool = True,
    labels=None,
    hints=None,
    precision: str = "float32",
) -> dict:
    """Evaluate models and the gray baseline on the same photos.

    Args:
        models: a model name or weights path, a keras.Model, a list of them, or
            a dict display name -> any of those.
        data: folder (recursive), file, glob, or a list of them.
        size: side of the square center crops, in pixels (at least 16).
        limit: evaluate at most this many photos, spread evenly over the sorted files.
        batch_size: photos per model call.
        embedder: for models with an embedding input (`full`); made once if needed.
        progress: show a progress bar when stderr is a terminal.
        work_size: predict colors at this resolution and upsample them, as
            `colornet.colorize` does; by default each model's training size
            (recorded beside its weights), or `size` when unknown.
        temperature: the annealed mean's temperature for models over ab bins (zhang, beta
            --head bins); default: 0.38. Other models ignore it (a note in `notes`).
        undo_rebalancing: for models over ab bins: the share of the rebalancing taken back
            before the annealed mean (`colornet.bins.undo_rebalancing`); default 0, the paper's.
        semantic: also judge the colors through EfficientNet-Lite0 (`colornet.semantic`): its top-1
            on the photos of known ImageNet class, and the Fréchet distance of its features to the
            real photos'. Costs a Lite0 pass per column on a CPU.
        labels: a file giving the photos' ImageNet classes (`colornet.semantic.read_labels`);
            otherwise a WordNet id in a photo's path (`n01440764/...`) gives its class.
        hints: for models with hint channels (Zhang et al. 2017): a number of hints, or a list
            of numbers, sampled from each photo's true colors (`truth_hints`: seeded by the
            photo, the same for every model); each model then gives one column per number,
            `NAME N hints`. None: no hints.
        precision: the precision of the models given by name or path (`colornet.colorize`):
            `float32` (the default: the same scores on every machine), `mixed_bfloat16`,
            `mixed_float16` or `auto`; `precisions` in the results says which each model ran in.

    Returns:
        A JSON-ready dict: `columns` (`gray` then the models), `images` (per
        photo: `path`, `truth` colorfulness and each column's metrics),
        `summary` (column -> metric -> mean and median, and the colorfulness
        gap), `skipped` (path and reason of each file left out), and the settings; with
        `semantic`, `semantic` (column or truth -> `{"top1", "photos"}`, when a photo has a known
        class) and `frechet` (column -> distance to the real photos, from 2 photos on).
    """
    check_whole("size", size, *SIZE_RANGE)
    check_whole("batch_size", batch_size, 1)
    if limit is not None:
        check_whole("limit", limit, 1)
    from colornet.finite import check_finite_colors
    from colornet.predict import check_work_size

    check_work_size(work_size)
    models = load_models(models, precision=precision)
    models, hint_counts = hint_columns(models, hints)
    notes = []
    for name, colorizer in list(models.items()):
        models[name], note = colorizer.with_temperature(temperature, undo_rebalancing)
        notes += [f"{name}: {note}"] if note else []
    for name, colorizer in models.items():
        fixed = colorizer.canvas_shape()
        if fixed is not None and tuple(fixed) != (size, size):
            raise EvaluateError(f"model {name!r} takes {fixed[1]}x{fixed[0]} inputs; pass --size {fixed[0]}.")
        if embedder is not None and colorizer.design.features is not None:
            colorizer.features = embedder
        check_finite_colors(colorizer)  # NaN weights would score as plausible gray photos
    columns = [GRAY, *models]
    work_sizes = {name: min(size, work_size or c.training_size or size) for name, c in models.items()}
    paths = select_paths(data, limit)
    lite0 = classes = None
    if semantic:
        from colornet.semantic import Lite0Scores, labels_for

        classes = dict(zip(paths, labels_for(paths, labels)))  # a bad labels file fails before the work
        lite0 = Lite0Scores(columns)
    elif labels is not None:
        notes.append(f"--labels {labels} not used: the semantic check is off.")

    images, skipped = [], []
    bin_sums = {col: [0.0, 0] for col in columns}  # per column: ab error sums and counts per bin
    batches = range(0, len(paths), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(
            batches, desc="evaluate", unit="batch", file=sys.stderr, disable=None
        )  # off unless a terminal
    for start in batches:
        batch_paths, crops = [], []
        for path in paths[start : start + batch_size]:
            try:
                crop = load_crop(path, size)
            except ImageError as err:
                skipped.append({"path": path, "reason": str(err)})
                continue
            if np.all(crop[..., 0] == crop[..., 1]) and np.all(crop[..., 1] == crop[..., 2]):
                skipped.append({"path": path, "reason": f"{path}: has no color (R = G = B) to compare with."})
                continue
            batch_paths.append(path)
            crops.append(crop)
        if not crops:
            continue
        crops = np.stack(crops)  # (b, size, size, 3) uint8
        gray = colorize_crops(None, crops)
        scores = {GRAY: image_metrics(gray, crops)}
        _add_bin_sums(bin_sums[GRAY], gray, crops)
        recognized = {}  # column -> per photo: its ImageNet class is Lite0's top-1 (None: unknown)
        if lite0 is not None:
            known = [classes[p] for p in batch_paths]
            recognized = {TRUTH: lite0.add(TRUTH, crops, known), GRAY: lite0.add(GRAY, gray, known)}
        scenes = {}
        for name, model in models.items():
            scenes[name] = []
            n = hint_counts.get(name)
            colorized = colorize_crops(
                model,
                crops,
                work_size=work_sizes[name],
                probabilities=scenes[name],
                hints=None if n is None else truth_hints(crops, batch_paths, n),
            )
            scores[name] = image_metrics(colorized, crops)
            _add_bin_sums(bin_sums[name], colorized, crops)
            if lite0 is not None:
                recognized[name] = lite0.add(name, colorized, known)
        truth_cf = [colorfulness(c) for c in crops]
        for i, path in enumerate(batch_paths):
            row = {"path": path, TRUTH: {"colorfulness": truth_cf[i]}}
            for col in columns:
                row[col] = {m: scores[col][m][i] for m in METRICS}
            for name, model in models.items():
                truth = Path(path).parent.name
                if scenes[name][i] is not None and model.classes and truth in model.classes:
                    guess = model.classes[int(np.argmax(scenes[name][i]))]
                    row[name]["scene"] = {"truth": truth, "predicted": guess, "correct": guess == truth}
            for col, hits in recognized.items():
                if hits[i] is not None:
                    row[col]["recognized"] = hits[i]
            images.append(row)

    if not images:
        raise ImageError(
            f"{data}: none of the {len(paths)} images could be evaluated (first: {skipped[0]['reason']})"
        )
    measures = lite0.report() if lite0 is not None else {}
    return {
        "data": source_name(data),
        "size": size,
        "limit": limit,
        "files": len(paths),
        "evaluated": len(images),
        "skipped": skipped,
        "columns": columns,
        "models": {name: c.name for name, c in models.items()},  # display name -> design
        "work_sizes": work_sizes,  # display name -> resolution the colors were predicted at
        "decoding": {name: c.decoding() for name, c in models.items()},  # {"temperature": T} for bins
        "precisions": {name: c.precision for name, c in models.items()},  # float32, mixed_bfloat16, ...
        "hints": hint_counts,  # column -> hints sampled from the truth of each photo (--hints)
        "notes": notes + measures.get("notes", []),
        "summary": summarize(images, columns, bin_sums),
        "scene_accuracy": scene_accuracy(images, list(models)),
        **{k: v for k, v in measures.items() if k != "notes"},  # semantic, frechet
        "images": images,
    }


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


def scene_accuracy(images: list[dict], names: list[str]) -> dict:
    """Model name -> `{"accuracy", "photos"}` over the photos whose folder is one of the model's
    scene classes (designs that classify the scene, from the gray photo); others are left out."""
    result = {}
    for name in names:
        judged = [row[name]["scene"]["correct"] for row in images if "scene" in row[name]]
        if judged:
            result[name] = {"accuracy": float(np.mean(judged)), "photos": len(judged)}
    return result


# --- table, JSON and grid ---------------------------------------------------------


def summary_rows(results: dict) -> list[dict]:
    """The summary as rows of plain values: `metric`, `stat`, `truth`, one key per column,
    and `<model> - gray` for each model (None where a value does not apply)."""
    summary, columns = results["summary"], results["columns"]
    rows = []
    metrics = ("psnr", "ssim", "ab_auc", "ab_auc_rebalanced", "ab_auc_rebalanced_set", "colorfulness")
    for metric in (*metrics, "colorfulness_gap"):
        if metric not in summary[columns[0]]:
            continue  # results of an older colornet
        one = metric in ("colorfulness_gap", "ab_auc_rebalanced_set")  # one figure for the set
        for stat in ("mean",) if one else ("mean", "median"):
            row = {"metric": metric, "stat": stat}
            row[TRUTH] = summary[TRUTH]["colorfulness"][stat] if metric == "colorfulness" else None
            for col in columns:
                row[col] = summary[col][metric][stat]
            for col in columns[1:]:
                row[f"{col} - {GRAY}"] = row[col] - row[GRAY]
            rows.append(row)
    return rows


def _fmt(value, digits: int, sign: bool = False) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    if round(value, digits) == 0:
        value = 0.0  # no "-0.00"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def source_name(data) -> str:
    """Where the photos came from, as a report says it: the folder, file or glob; for a list of
    files, the folder that holds them all and how many were listed."""
    if not isinstance(data, (list, tuple)):
        return str(data)
    if len(data) == 1:
        return str(data[0])
    folder = os.path.commonpath([os.path.abspath(str(p)) for p in data]) if data else "."
    return f"{folder} (a list of {len(data)})"


def format_table(results: dict) -> str:
    """The summary as a text table: each metric's mean and median for the real photos'
    colorfulness, the gray baseline and each model, and each model's difference from gray."""
    columns = results["columns"]
    header = ["metric", "stat", TRUTH, *columns, *(f"{c} - {GRAY}" for c in columns[1:])]
    lines, previous = [], None
    for row in summary_rows(results):
        d = DIGITS[row["metric"]]
        label = LABELS[row["metric"]] if row["metric"] != previous else ""
        previous = row["metric"]
        stat = {"colorfulness_gap": "of means", "ab_auc_rebalanced_set": "of the set"}.get(
            row["metric"], row["stat"]
        )
        cells = [label, stat]
        cells += [_fmt(row[TRUTH], d)] + [_fmt(row[c], d) for c in columns]
        cells += [_fmt(row[f"{c} - {GRAY}"], d, sign=True) for c in columns[1:]]
        lines.append(cells)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def join(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    skipped = len(results["skipped"])
    title = (
        f"{results['evaluated']} photos from {results['data']} at {results['size']} px"
        f" ({skipped} of {results['files']} files skipped)"
    )
    note = "Higher is better for PSNR, SSIM and AuC; lower for the colorfulness gap (|mean - truth's mean|)."
    note += (
        "\nAuC ab rebalanced (Zhang et al. 2016): each ab bin of the real colors weighs the same, within each "
        "photo, or over all the photos' pixels (set)."
    )
    work = results.get("work_sizes") or {}
    if any(v != results["size"] for v in work.values()):
        sizes = ", ".join(f"{name} at {v} px" for name, v in work.items())
        note += f"\nColors predicted at the working resolution and upsampled, as colorize does: {sizes}."
    rule = "-" * len(join(header))
    for name, decoding in (results.get("decoding") or {}).items():
        if "temperature" in decoding:
            note += (
                f"\n{name}: colors decoded as the annealed mean at temperature {decoding['temperature']:g}"
                + (
                    f", {decoding['undo_rebalancing']:g} of the rebalancing undone."
                    if "undo_rebalancing" in decoding
                    else "."
                )
            )
    for line in results.get("notes") or []:
        note += f"\n{line}"
    from colornet.semantic import format_lines

    for line in format_lines(results):
        note += f"\n{line}"
    shares = [(c, results["summary"][c].get("better_than_gray")) for c in columns[1:]]
    if shares and all(v is not None for _, v in shares):  # (not in an older colornet's results)
        cells = ", ".join(f"{c} {100 * v['mean']:.1f} %" for c, v in shares)
        note += f"\nPhotos where the PSNR is above gray's: {cells} (of {results['evaluated']})."
    for name, scene in (results.get("scene_accuracy") or {}).items():
        note += (
            f"\nScene class recognized from the gray photo by {name}: {scene['accuracy']:.1%} of the "
            f"{scene['photos']} photos whose folder is one of its classes."
        )
    return "\n".join([title, join(header), rule, *(join(c) for c in lines), note])


def _json_ready(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no infinity (a perfect PSNR)
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def write_json(results: dict, path) -> None:
    """Write the results (settings, summary, per-image rows) as JSON; an infinite PSNR becomes null."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(_json_ready(results), f, indent=2, allow_nan=False)


def pick_examples(results: dict, model: str | None = None, n: int = 3) -> tuple[list[dict], list[dict]]:
    """The `n` photos where `model` (default: the first) gains most over gray in PSNR, and the `n`
    where it gains least (or loses), without repeats."""
    model = model or results["columns"][1]
    images = results["images"]
    order = sorted(range(len(images)), key=lambda i: images[i][GRAY]["psnr"] - images[i][model]["psnr"])
    k = max(1, min(n, len(images) // 2))
    best = order[:k]
    worst = [i for i in order[::-1][:k] if i not in best]
    return [images[i] for i in best], [images[i] for i in worst]


def draw_grid(results: dict, models: dict, path, n: int = 3, embedder=None) -> None:
    """Save a grid of the best and worst photos by PSNR gain of the first model:
    one row per photo, columns gray | each model | truth, PSNR under each.

    `models` is the dict name -> Colorizer that was evaluated (see `load_models`);
    the few photos shown are colored again rather than kept in memory.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size, columns = results["size"], results["columns"]
    best, worst = pick_examples(results, n=n)
    rows = [("best", r) for r in best] + [("worst", r) for r in worst]
    crops = np.stack([load_crop(r["path"], size) for _, r in rows])
    panels = {GRAY: colorize_crops(None, crops)}
    work = results.get("work_sizes") or {}
    hints = results.get("hints") or {}
    models, _ = hint_columns(models, sorted(set(hints.values()))) if hints else (models, {})
    paths = [r["path"] for _, r in rows]
    for name in columns[1:]:
        n = hints.get(name)
        panels[name] = colorize_crops(
            models[name],
            crops,
            embedder,
            work.get(name),
            hints=None if n is None else truth_hints(crops, paths, n),
        )
    panels[TRUTH] = crops
    titles = [*columns, TRUTH]

    fig, axes = plt.subplots(
        len(rows), len(titles), figsize=(2.4 * len(titles), 2.6 * len(rows)), squeeze=False
    )
    for i, (kind, row) in enumerate(rows):
        gain = row[columns[1]]["psnr"] - row[GRAY]["psnr"]
        for j, col in enumerate(titles):
            ax = axes[i, j]
            ax.imshow(panels[col][i])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(col)
            if col != TRUTH:
                ax.set_xlabel(f"{row[col]['psnr']:.1f} dB", fontsize=8)
        axes[i, 0].set_ylabel(f"{kind}: {Path(row['path']).name}\n{gain:+.2f} dB", fontsize=8)
    fig.suptitle(f"best and worst photos by PSNR gain of {columns[1]} over gray")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- command line -------------------------------------------------------------------


def add_arguments(parser) -> None:
    from colornet.weights import provided_names

    parser.add_argument(
        "--model",
        action="extend",
        nargs="+",
        required=True,
        metavar="NAME|PATH",
        help=f"provided weights by name ({', '.join(provided_names())}) or a weights file with its .json "
        "beside it; several (or --model repeated) give one column each",
    )
    parser.add_argument(
        "--name",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="column names, one per --model in order (default: the provided weights' name, or the run "
        "folder's name for a run's best.weights.h5)",
    )
    parser.add_argument(
        "--data", required=True, metavar="DIR", help="photos: a folder (searched recursively), file or glob"
    )
    parser.add_argument(
        "--size", type=int, default=256, help="side of the square center crops (default: %(default)s)"
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="evaluate N photos spread evenly over the files (default: all)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=8, help="photos per model call (default: %(default)s)"
    )
    parser.add_argument(
        "--json",
        type=path_name,
        metavar="OUT.json",
        help="write the summary and per-photo figures (default: none)",
    )
    parser.add_argument(
        "--grid",
        type=path_name,
        metavar="OUT.png",
        help="draw the best and worst photos: gray | model | truth (default: none)",
    )
    parser.add_argument(
        "--examples",
        type=int_in(1),
        default=3,
        metavar="K",
        help="best and worst photos in the grid (default: %(default)s)",
    )
    parser.add_argument(
        "--work-size",
        type=int_in(*WORK_SIZE_RANGE),
        metavar="N",
        help="predict colors at N px and upsample them, as colorize does "
        "(default: each model's training size, else --size)",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="the photos' ImageNet classes for the semantic check: the corpus' manifest.tsv, or lines "
        "relative/path<TAB>wnid (default: a WordNet id in the path, as in n01440764/x.jpg)",
    )
    parser.add_argument(
        "--no-semantic",
        dest="semantic",
        action="store_false",
        help="skip the EfficientNet-Lite0 measures (top-1 on photos of known class, Fréchet distance "
        "to the real photos), which cost a classifier pass per column (default: measured)",
    )
    parser.add_argument(
        "--hints",
        type=int_in(0, MAX_HINTS),
        nargs="+",
        metavar="N",
        help="models with hint channels (features-hints): N color hints sampled from each photo's true colors "
        "(the same places for every model); several numbers give one column each, e.g. --hints 0 1 2 5 10 20 50 "
        "(default: none)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing --json and --grid files")
    from colornet.precision import add_precision_argument

    add_precision_argument(parser, default="float32", inference=True)
    from colornet.predict import add_temperature_argument

    add_temperature_argument(parser)


def grid_formats() -> tuple[str, ...]:
    """File extensions the grid can be saved as (matplotlib's: png, jpg, pdf, svg, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(f".{ext}" for ext in FigureCanvasBase.get_supported_filetypes())


def check_output_file(path, flag: str, overwrite: bool = False, suffixes=None) -> None:
    """Before any work: refuse an output that is a folder, has a format that cannot be written,
    or exists (unless `overwrite`), as `colorize` keeps existing results unless --overwrite."""
    if path is None:
        return
    if os.path.isdir(path):
        raise EvaluateError(
            f"{flag} {path}: is a folder; name a file, e.g. {os.path.join(path, 'eval' + (suffixes or ('.json',))[0])}."
        )
    if suffixes and os.path.splitext(path)[1].lower() not in suffixes:
        raise EvaluateError(
            f"{flag} {path}: cannot be written in that format; end it in {', '.join(suffixes)}."
        )
    if os.path.exists(path) and not overwrite:
        raise EvaluateError(f"{flag} {path}: exists; pass --overwrite to replace it, or name another file.")
    parent = os.path.dirname(os.path.abspath(path))
    existing = parent
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK):
        raise EvaluateError(f"{flag} {path}: its folder cannot be written; check the path.")


def run(args) -> int:
    outputs = {flag: os.path.realpath(p) for flag, p in (("--json", args.json), ("--grid", args.grid)) if p}
    inputs = {os.path.realpath(p) for p in select_paths(args.data)} if outputs else set()
    for flag, path in outputs.items():  # never written over, --overwrite or not
        if path in inputs:
            given = getattr(args, flag[2:])
            raise EvaluateError(f"{flag} {given}: is one of the input photos; name another file.")
    if len(set(outputs.values())) < len(outputs):
        raise EvaluateError(f"--json and --grid both name {args.json}; name two files.")
    check_output_file(args.json, "--json", args.overwrite)
    check_output_file(args.grid, "--grid", args.overwrite, grid_formats())
    specs = args.model
    if args.name:
        if len(args.name) != len(args.model):
            raise EvaluateError(
                f"--name gives {len(args.name)} name(s) for {len(args.model)} --model(s); give one per model."
            )
        if len(set(args.name)) != len(args.name) or {GRAY, TRUTH} & set(args.name):
            raise EvaluateError(f"--name: use different names, other than {GRAY} and {TRUTH}.")
        specs = dict(zip(args.name, args.model))
    check_whole("--size", args.size, *SIZE_RANGE)  # before the models load
    check_whole("--batch-size", args.batch_size, 1)
    if args.limit is not None:
        check_whole("--limit", args.limit, 1)
    models = load_models(specs, precision=args.precision)
    import tensorflow as tf

    try:
        results = evaluate(
            models,
            args.data,
            size=args.size,
            limit=args.limit,
            batch_size=args.batch_size,
            progress=True,
            work_size=args.work_size,
            temperature=args.temperature,
            undo_rebalancing=args.undo_rebalancing,
            semantic=args.semantic,
            labels=args.labels,
            hints=args.hints,
        )
    except (MemoryError, tf.errors.ResourceExhaustedError):
        raise EvaluateError(
            f"--size {args.size} with --batch-size {args.batch_size} needs more memory than there is; "
            "use a smaller --size or --batch-size."
        ) from None
    given = dict(zip(models, args.model))
    results["models"] = {  # display name -> the name or path given
        column: given[next(name for name in given if column == name or column.startswith(f"{name} "))]
        for column in results["columns"][1:]
    }
    skipped = results["skipped"]
    if skipped:
        reasons = "; ".join(s["reason"] for s in skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        print(f"skipped {len(skipped)} of {results['files']} file(s): {reasons}", file=sys.stderr)
    print(format_table(results))
    if args.json:
        write_json(results, args.json)
        print(f"wrote {args.json}")
    if args.grid:
        draw_grid(results, models, args.grid, n=args.examples)
        print(f"wrote {args.grid}")
    return 0
