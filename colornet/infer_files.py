"""Colorize files, folders and globs: `colorize_files(...)`, what `python -m colornet colorize` runs
(importable from `colornet.infer` too).

Photos stream through three stages at once (`colornet.pipeline`): reading and L on two threads, the
network on batches of photos with the same working canvas, then the merge at full resolution and the
compressing and writing on two more, each photo on one of them, taken into the summary in order;
bounded queues between them. JPEGs written as JPEG are colored on their chroma grid
(`colornet.jpeg420`), every other photo in RGB at full resolution (`colornet.fullres`). The files a
run reads and writes, their names and its summary are in `colornet.infer_jobs`.
"""

import os
import sys
from collections import deque
from contextlib import closing

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from colornet import jpeg420
from colornet.canvas import MIN_SIDE, colors
from colornet.errors import ColornetError, HintError
from colornet.frames420 import merge_420_pixels
from colornet.hints import hint_map, read_hints
from colornet.images import ImageError, Photo, load_image, save_image
from colornet.images_save import save_ycbcr
from colornet.infer_jobs import (
    Summary,
    check_out_dir,
    compare_strip,
    plan_jobs,
)
from colornet.inference_options import InferenceOptions, merge_options
from colornet.pipeline import mapped, padded, workers
from colornet.predict import (
    Prepared,
    choose_model,
    content_for,
    finish,
    prepare_for,
    scene_class,
    style_lightness,
)
from colornet.printing import printable
from colornet.signals import remove_stale_temporaries
from colornet.weights import WEIGHTS_DIR

# JPEG photos written as JPEG are colored on their chroma grid (`colornet.jpeg420`); False colors every
# photo in RGB at full resolution (`colornet.fullres`), as other formats are.
CHROMA_GRID = True
MAX_PENDING_PIXELS = 32_000_000  # full-resolution pixels waiting for a batch, at most
# Photos are read and prepared on two threads (both cores while the network waits for its first
# batch), up to a batch and two ahead of the network, and no further while those read and not yet
# taken hold `READ_PIXELS` full-resolution pixels.
READ_WORKERS = 2
READ_PIXELS = MAX_PENDING_PIXELS // 2
FINISH_DEPTH = 2  # batches waiting to be merged and written, at most
FINISH_WORKERS = 2  # photos merged and written at once (both cores at the end of a run)


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
    finishing_order = deque()  # (job, future) of the photos being merged and written, in order
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

    def read(job):
        """`(job, photo, prepared)` for a photo to colorize, `(job, message, None)` for one that
        cannot be, `(job, None, None)` for one whose outputs are kept (on a reading thread)."""
        if not overwrite and all(os.path.exists(p) for p in job.outputs):
            return job, None, None
        try:
            prepared = on_grid(job) if grid else None
            photo = Photo(rgb=None, path=job.source) if prepared else load_image(job.source)
            prepared = prepared or prepare_for(colorizer, photo, work_size)
            if hints is not None:
                prepared.hints = hint_map(prepared, hints, job.source)
        except (ImageError, HintError) as err:
            return job, str(err), None
        except MemoryError:
            return job, f"{job.source}: out of memory while reading it; downscale it first.", None
        if not job.compare:
            photo = Photo(rgb=None, alpha=photo.alpha, is_gray=photo.is_gray, path=photo.path)
        return job, photo, prepared

    def pixels(result) -> int:
        """The full-resolution pixels a read photo holds (for the reading stage's budget)."""
        return 0 if result[2] is None else result[2].L.size

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

    def finish_and_write(job, photo, prepared, ab_canvas) -> tuple[list, str | None]:
        """Merge one photo at full resolution and write it, and its comparison strip (on a finishing
        thread): the files written, and what failed (None)."""
        written = []
        try:
            grid = prepared.planes is not None  # the planes of a JPEG: its YCbCr pixels out
            if grid:
                rgb = merge_420_pixels(prepared.planes, colors(prepared, ab_canvas))
            else:
                rgb = finish(prepared, ab_canvas, np.uint8)
            if overwrite or not os.path.exists(job.output):
                os.makedirs(os.path.dirname(job.output) or ".", exist_ok=True)
                if grid:
                    save_ycbcr(job.output, rgb, quality)
                else:
                    save_image(job.output, rgb, photo.alpha, quality)
                written.append(job.output)
            if job.compare and (overwrite or not os.path.exists(job.compare)):
                save_image(job.compare, compare_strip(photo, rgb))
                written.append(job.compare)
        except (OSError, MemoryError) as err:
            return written, f"{job.source}: cannot write the result ({err}); check the --out folder."
        except ColornetError as err:  # colors that came out NaN
            return written, str(err)
        return written, None

    def collect(keep: int) -> None:
        """Take the finished photos in order into the summary, waiting until at most `keep` are
        still on the finishing threads (a bound on the memory in flight)."""
        while finishing_order and (finishing_order[0][1].done() or len(finishing_order) > keep):
            job, future = finishing_order.popleft()
            written, error = future.result()
            summary.written += written
            if error is None:
                summary.colorized.append(job.source)
            else:
                fail(error)
            bar.update(1)

    def flush(shape):
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
        for i, (job, photo, prepared) in enumerate(group):
            if probabilities is not None:
                summary.scenes[job.source] = scene_class(colorizer, probabilities[i])
            future = finishing.submit(finish_and_write, job, photo, prepared, ab[i])
            finishing_order.append((job, future))
        collect(keep=FINISH_DEPTH * batch_size)

    # Three stages at once (`colornet.pipeline`): reading and L ahead (two photos at a time), the
    # network here, merging and writing behind (two photos at a time).
    with (
        workers(FINISH_WORKERS, "colornet-finish") as finishing,
        closing(mapped(read, jobs, batch_size + READ_WORKERS, READ_WORKERS, pixels, READ_PIXELS)) as reading,
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
                flush(shape)
            photo = prepared = None
        for shape in list(pending):
            flush(shape)
        collect(keep=0)
    bar.close()
    return summary
