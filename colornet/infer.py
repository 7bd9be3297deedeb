"""Colorize photos of any size: `python -m colornet colorize`, and `colorize(...)` for the notebooks.

One photo goes through these steps (`colornet.predict` and `colornet.fullres`); only
the small working canvas goes through the network, everything at full resolution is
done in strips of rows:

    L = rgb_to_lab(photo)[..., 0]        full resolution, never resized       (H, W)
    l_work = resize(L, (h, w))           longer side <= work_size, aspect kept (h, w)
    canvas = pad(l_work)                 reflect-padded to the design's multiple
    ab = decode(model(encode(canvas)))   predicted at the working resolution   (h, w, 2)
    ab_full = bilinear(ab, (H, W))       upsampled smoothly                     (H, W, 2)
    rgb = lab_to_rgb(L, ab_full)         chroma reduced where a color would leave
                                         the sRGB gamut, so the output keeps L  (H, W, 3)

>>> rgb = colorize("old_photo.jpg")                     # float RGB (h, w, 3) in [0, 1]
>>> summary = colorize_files(["data/Test"], "results")  # writes results/*.png

The files a run reads and writes, their names, its summary and the compare strips are in
`colornet.infer_jobs`; the command, `python -m colornet colorize`, is `colornet.cli.colorize`.
"""

import os
import sys
from contextlib import closing

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from colornet import jpeg420
from colornet.canvas import MIN_SIDE, colors
from colornet.defaults import DEFAULT_MODEL, HINTS_MODEL
from colornet.errors import ColornetError, HintError
from colornet.frames420 import merge_420
from colornet.hints import hint_map, read_hints
from colornet.images import ImageError, Photo, as_photo, load_image, save_image
from colornet.images_save import save_ycbcr
from colornet.infer_jobs import (  # noqa: F401  (Job, _fit, ...: kept importable from here)
    COMPARE_SIDE,
    Job,
    Summary,
    _fit,
    check_out_dir,
    compare_strip,
    plan_jobs,
)
from colornet.inference_options import InferenceOptions, merge_options
from colornet.pipeline import ahead, behind, padded
from colornet.predict import (  # noqa: F401  (working_shape, load_colorizer, ...: kept importable from here)
    WORK_SIZE,
    Colorizer,
    Prepared,
    check_work_size,
    content_for,
    finish,
    load_colorizer,
    prepare_for,
    working_shape,
)
from colornet.printing import printable
from colornet.signals import remove_stale_temporaries
from colornet.weights import WEIGHTS_DIR

# JPEG photos written as JPEG are colored on their chroma grid (`colornet.jpeg420`); False colors every
# photo in RGB at full resolution (`colornet.fullres`), as other formats are.
CHROMA_GRID = True
MAX_PENDING_PIXELS = 32_000_000  # full-resolution pixels waiting for a batch, at most
READ_DEPTH = 4  # photos read and prepared ahead of the network, at most
FINISH_DEPTH = 2  # batches waiting to be merged and written, at most


def choose_model(model, hints=None):
    """The model a command uses: `model` where named, else the default model, or with hints
    the default model's network with hint channels."""
    if model is not None:
        return model
    return HINTS_MODEL if hints is not None else DEFAULT_MODEL


def colorize(
    image,
    model=None,
    *,
    work_size: int | None = None,
    weights_dir=WEIGHTS_DIR,
    embedder=None,
    style=None,
    explain: bool = False,
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    hints=None,
    precision: str | None = None,
    options: InferenceOptions | None = None,
):
    """Colorize one photo at its full resolution.

    The output keeps the photo's lightness (CIE L) pixel for pixel; only the
    colors (a, b) are predicted, at a working resolution whose longer side is
    `work_size`, and upsampled. Color photos are desaturated first.

    Args:
        image: a path, a `colornet.images.Photo`, or an array: uint8, uint16 or
            float in [0, 1]; `(h, w)`, `(h, w, 3)` or `(h, w, 4)` with alpha.
        model: a `Colorizer` (see `colornet.load_colorizer`: load once for many photos),
            `alpha`, `beta`, `full` (provided weights in `weights_dir`), a weights path
            with its `.json` beside it, or a `keras.Model` of a registered design; None: the
            default model (`features`), or with `hints` its network with hint channels
            (`features-hints`).
        work_size: longer side of the working resolution, in pixels; by default
            the size the model was trained at.
        weights_dir: where provided weights are looked up by name.
        embedder: for the Full model, its `colornet.embed.Embedder`; by default
            one with ImageNet weights, built on first use.
        style: for designs with a global path (`iizuka`): another photo (path, `Photo` or
            array) whose global features color this one; only its lightness is used.
        explain: also return what the network recognized (see Returns).
        temperature: for networks over ab bins (`zhang`, `beta --head bins`): the annealed
            mean's temperature, from 1 (the mean of the predicted colors: safe, sepia) toward 0
            (the most probable color: vivid, blotchy); default 0.38, the paper's. Other
            networks ignore it with a note on stderr.
        undo_rebalancing: for networks over ab bins whose prior is known: the share (0 to 1)
            of the class rebalancing taken back before the annealed mean
            (`colornet.bins.undo_rebalancing`); default 0, the paper's decoding.
        hints: colors a person wants where they are (Zhang et al. 2017; networks built with
            hints): a list of `(x, y, color)` in the photo's own pixels, color as `(r, g, b)`
            0-255, `"#2e7d32"` or a color name, each made the photo's lightness at that point
            (`colornet.hints.ab_under`); a scribble image of the photo's size (RGBA array or
            PIL image) whose non-transparent pixels are hints; or a JSON or PNG file of either.
            The network spreads each hint along the photo's edges and colors the rest itself.
        precision: the network's precision: `float32` (the same colors on every machine),
            `mixed_bfloat16`, `mixed_float16`, or `auto`: mixed_float16 on a GPU, mixed_bfloat16 on
            a CPU with bfloat16 units where it measures 1.2x faster for this model and its colors
            stay within 1 level of 255 of float32's on average, else float32 (decided once per
            model and working size, in a few seconds; `colornet.load_colorizer`). None: `options`'
            precision, float32 by default.
        options: an `InferenceOptions` holding `work_size`, `precision`, `temperature` and
            `undo_rebalancing` at once (one object for many calls and commands); each of those
            keywords given (not None) wins over its field.

    Returns:
        float32 RGB `(h, w, 3)` in [0, 1], or RGBA `(h, w, 4)` when the input
        has an alpha channel (kept unchanged). With `explain`, `(rgb, info)` where
        `info` is `{"class": name, "probability": p}` for designs that classify the
        scene (`iizuka`), else `{}`.

    Raises:
        ImageError: unreadable file, or a photo smaller than 4x4 pixels.
        WeightsError: missing or corrupt weights.
        HintError: a hint outside the photo, an unreadable color, a scribble of another size,
            or hints for a model trained without them.

    Example:
        >>> rgb = colorize("data/Test/chelsea.jpg", model="beta")
        >>> rgb.shape
        (300, 451, 3)
        >>> rgb = colorize("data/Test/chelsea.jpg", hints=[(200, 150, "#c62828")])
    """
    options = merge_options(
        options,
        work_size=work_size,
        precision=precision,
        temperature=temperature,
        undo_rebalancing=undo_rebalancing,
    )
    colorizer, note = options.load(choose_model(model, hints), weights_dir, features=embedder)
    colorizer.check_hints(hints)
    if note:
        print(note, file=sys.stderr)
    style_l = style_lightness(colorizer, style, options.work_size)
    photo = as_photo(image)
    alpha = photo.alpha
    prepared = prepare_for(colorizer, photo, options.work_size)
    del photo  # the full-resolution input is not needed any more
    hint = None if hints is None else hint_map(prepared, hints)[None]
    ab, probabilities = colorizer.predict(prepared.canvas[None], style=style_l, hints=hint)
    rgb = finish(prepared, ab[0])
    if alpha is not None:
        rgb = np.concatenate([rgb, np.asarray(alpha, np.float32)[..., None]], axis=-1)
    if explain:
        return rgb, scene_class(colorizer, None if probabilities is None else probabilities[0])
    return rgb


def style_lightness(colorizer: Colorizer, style, work_size: int | None = None):
    """L `(1, h, w, 1)` of a style photo at the working resolution, or None without one.

    Raises:
        ImageError: an unreadable style photo.
        ColornetError: a design without a global path.
    """
    if style is None:
        return None
    if not colorizer.codec.takes_style:
        raise ColornetError(
            f"--style needs a model with global features (iizuka); {colorizer.name} has none."
        )
    try:
        photo = as_photo(style)
    except ImageError as err:
        raise ImageError(f"style photo: {err}") from None
    prepared = prepare_for(colorizer, photo, work_size)
    h, w = prepared.content
    return prepared.canvas[None, :h, :w]


def scene_class(colorizer: Colorizer, probabilities) -> dict:
    """`{"class": name, "probability": p}` of the most probable scene class, or `{}`."""
    if probabilities is None:
        return {}
    best = int(np.argmax(probabilities))
    names = colorizer.classes or [f"class {i}" for i in range(len(probabilities))]
    return {"class": names[best], "probability": float(probabilities[best])}


# --- many files -----------------------------------------------------------------


def colorize_files(
    inputs,
    out_dir="results",
    model=None,
    *,
    work_size: int | None = None,
    image_format: str = "png",
    quality: int = 95,
    compare: bool = False,
    overwrite: bool = False,
    batch_size: int = 8,
    weights_dir=WEIGHTS_DIR,
    embedder=None,
    precision: str | None = None,
    style=None,
    progress: bool = False,
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    hints=None,
    options: InferenceOptions | None = None,
) -> Summary:
    """Colorize files, folders (recursive) and globs into `out_dir`, at full resolution.

    Photos with the same working canvas go through the network together in
    batches of up to `batch_size`. A file that cannot be read is reported in
    the summary and the others go on. Existing outputs are kept unless
    `overwrite`; inputs are never replaced.

    Args:
        inputs: a path, folder or glob, or a list of them.
        out_dir: where the results go; subfolders of folder inputs are mirrored.
        model: a `Colorizer`, `alpha`, `beta`, `full`, a weights path, or a `keras.Model`.
        work_size: longer side of the working resolution, in pixels; by default
            the model's own (`Colorizer.work_size`).
        image_format: `png` (keeps alpha; L exactly) or `jpg` (JPEG photos, of even width and
            height, are then colored on their chroma grid, `colornet.jpeg420`, unless `compare`
            or `hints`).
        quality: JPEG quality.
        compare: also write `<stem>_compare.png`: gray | colorized | original.
        overwrite: replace existing outputs.
        batch_size: photos per network call.
        weights_dir: where provided weights are looked up by name.
        embedder: see `colorize`.
        precision: the network's precision (see `colorize`).
        style: for designs with a global path (`iizuka`): a photo whose global features color
            every input (see `colorize`).
        progress: show a progress bar on stderr.
        temperature: for networks over ab bins: the annealed mean's temperature (see `colorize`).
        undo_rebalancing: for networks over ab bins: see `colorize`.
        hints: color hints given to every photo (see `colorize`; a file is read once); a photo
            they do not fit (a point outside it, a scribble of another size) fails in one line
            and the others go on. None: the model's own colors.
        options: an `InferenceOptions` (see `colorize`); `work_size`, `precision`, `temperature`
            and `undo_rebalancing` given (not None) win over its fields.

    Returns:
        A `Summary`; `summary.failed` lists one line per file that failed.
    """
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', not {image_format!r}.")
    options = merge_options(
        options,
        work_size=work_size,
        precision=precision,
        temperature=temperature,
        undo_rebalancing=undo_rebalancing,
    )
    work_size = options.work_size
    check_out_dir(out_dir)
    remove_stale_temporaries(out_dir, recursive=True)  # half-written photos of a killed run
    colorizer, note = options.load(choose_model(model, hints), weights_dir, features=embedder)
    colorizer.check_hints(hints)
    if isinstance(hints, (str, os.PathLike)):
        hints = read_hints(hints)
    style_l = style_lightness(colorizer, style, work_size)
    jobs, failures = plan_jobs(inputs, out_dir, image_format, compare)
    summary = Summary(
        out_dir=str(out_dir), failed=failures, model=colorizer.name, decoding=colorizer.decoding()
    )
    summary.notes += [note] if note else []
    bar = tqdm(total=len(jobs), unit="photo", file=sys.stderr, disable=None if progress else True)
    pending: dict[tuple, list] = {}  # canvas shape -> [(job, photo, prepared)]
    # JPEGs into JPEGs are colored on their chroma grid (`colornet.jpeg420`); a compare strip or hints
    # need the photo's RGB, so they take the RGB path
    grid = CHROMA_GRID and image_format == "jpg" and not compare and hints is None
    # A network called on many batches runs as one compiled graph: faster per batch once traced
    # (seconds), which a few photos would not repay.
    compiled = len(jobs) > batch_size

    def fail(message):
        summary.failed.append(message)
        if progress:
            bar.write(printable(f"failed: {message}", sys.stderr.encoding), file=sys.stderr)

    def read():
        """`(job, photo, prepared)` for each photo to colorize, or `(job, message, None)` for one
        that cannot be (on the reading thread, in order)."""
        for job in jobs:
            if not overwrite and all(os.path.exists(p) for p in job.outputs):
                yield job, None, None
                continue
            try:
                prepared = on_grid(job) if grid else None
                photo = Photo(rgb=None, path=job.source) if prepared else load_image(job.source)
                prepared = prepared or prepare_for(colorizer, photo, work_size)
                if hints is not None:
                    prepared.hints = hint_map(prepared, hints, job.source)
            except (ImageError, HintError) as err:
                yield job, str(err), None
                continue
            except MemoryError:
                yield job, f"{job.source}: out of memory while reading it; downscale it first.", None
                continue
            if not job.compare:
                photo = Photo(rgb=None, alpha=photo.alpha, is_gray=photo.is_gray, path=photo.path)
            yield job, photo, prepared
            photo = prepared = None  # a written photo's memory is free before the next one is read

    def on_grid(job) -> Prepared | None:
        """A JPEG into a JPEG, prepared on its chroma grid (`colornet.jpeg420`), or None where it takes
        the RGB path (another format, an odd size, a grid smaller than the network's canvas)."""
        planes = jpeg420.read_planes(job.source)
        if planes is None or min(planes.L.shape) < MIN_SIDE:
            return None
        if min(np.subtract(planes.L.shape, content_for(colorizer, *planes.y.shape, work_size))) < 0:
            return None
        prepared = prepare_for(colorizer, Photo(rgb=None, path=job.source), work_size, planes.L)
        prepared.planes = planes
        return prepared

    def write(group, ab, probabilities):
        """Merge each photo at full resolution (on the finishing thread, in order) and hand it to
        the saving thread."""
        for i, ((job, photo, prepared), ab_canvas) in enumerate(zip(group, ab)):
            if probabilities is not None:
                summary.scenes[job.source] = scene_class(colorizer, probabilities[i])
            try:
                if prepared.planes is not None:  # the planes of a JPEG
                    rgb = merge_420(prepared.planes, colors(prepared, ab_canvas))[:3]
                else:
                    rgb = finish(prepared, ab_canvas, np.uint8)
            except MemoryError as err:
                fail(f"{job.source}: cannot write the result ({err}); check the --out folder.")
                bar.update(1)
                continue
            except ColornetError as err:  # colors that came out NaN
                fail(str(err))
                bar.update(1)
                continue
            saving.submit(save, job, photo, rgb)

    def save(job, photo, rgb):
        """Write one colorized photo, and its comparison strip (on the saving thread, in order)."""
        try:
            if overwrite or not os.path.exists(job.output):
                os.makedirs(os.path.dirname(job.output) or ".", exist_ok=True)
                if isinstance(rgb, tuple):  # Y, Cb, Cr
                    save_ycbcr(job.output, *rgb, quality)
                else:
                    save_image(job.output, rgb, photo.alpha, quality)
                summary.written.append(job.output)
            if job.compare and (overwrite or not os.path.exists(job.compare)):
                save_image(job.compare, compare_strip(photo, rgb))
                summary.written.append(job.compare)
            summary.colorized.append(job.source)
        except (OSError, MemoryError) as err:
            fail(f"{job.source}: cannot write the result ({err}); check the --out folder.")
        except ColornetError as err:
            fail(str(err))
        bar.update(1)

    def flush(shape, finishing):
        group = pending.pop(shape)
        L = np.stack([p.canvas for _, _, p in group])
        hint = None if hints is None else np.stack([p.hints for _, _, p in group])
        if compiled:  # a short batch padded to the full one: the graph is not traced again
            L, hint = padded(L, batch_size), None if hint is None else padded(hint, batch_size)
        try:
            ab, probabilities = colorizer.predict(L, style=style_l, hints=hint, compiled=compiled)
        except (tf.errors.ResourceExhaustedError, MemoryError):
            for job, _, _ in group:
                fail(f"{job.source}: out of memory; use a smaller --work-size or --batch-size.")
            bar.update(len(group))
            return
        probabilities = None if probabilities is None else probabilities[: len(group)]
        finishing.submit(write, group, ab[: len(group)], probabilities)

    # Four stages at once (`colornet.pipeline`): reading and L ahead, the network here, the merge
    # behind, and compressing and writing the files behind it.
    with (
        behind(FINISH_DEPTH) as saving,
        behind(FINISH_DEPTH) as finishing,
        closing(ahead(read(), READ_DEPTH)) as reading,
    ):
        for job, photo, prepared in reading:
            if photo is None:
                summary.skipped.append(job.source)
                bar.update(1)
                continue
            if prepared is None:
                fail(photo)
                bar.update(1)
                continue
            shape = prepared.canvas.shape
            pending.setdefault(shape, []).append((job, photo, prepared))
            pending_pixels = sum(p.L.size for group in pending.values() for _, _, p in group)
            if len(pending[shape]) >= batch_size or pending_pixels > MAX_PENDING_PIXELS:
                flush(shape, finishing)
            photo = prepared = None
        for shape in list(pending):
            flush(shape, finishing)
    bar.close()
    return summary
