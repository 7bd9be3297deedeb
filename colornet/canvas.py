"""One photo on a network's working canvas, and back to full size.

    prepared = prepare(photo, work_size=256, multiple=8)  # full-resolution L and the padded canvas
    ab = ...                                               # Lab ab on the canvas, from a network
    rgb = finish(prepared, ab)                             # full size, L kept, colors in gamut

The photo is shrunk (never enlarged) so that its longer side is the working size, then padded by
reflection to the network's size multiple (or to its fixed size); `finish` crops the padding,
refuses non-finite colors and merges ab with the full-resolution L (`colornet.fullres`).
"""

import functools
from dataclasses import dataclass

import numpy as np

from colornet.arguments import WORK_SIZE_RANGE
from colornet.color import AB_SCALE
from colornet.errors import ColornetError, ImageError, WeightsError
from colornet.fullres import lightness, merge_full
from colornet.images import Photo

WORK_SIZE = 256  # default longer side of the working resolution, in pixels (the article colorized 256x256)


def check_work_size(work_size) -> None:
    """Refuse a `work_size` that is not a whole number of pixels from 8 to 8192 (None: the default)."""
    low, high = WORK_SIZE_RANGE
    if work_size is None:
        return
    if (
        isinstance(work_size, bool)
        or not isinstance(work_size, (int, np.integer))
        or not low <= work_size <= high
    ):
        raise ColornetError(f"work_size {work_size!r}: use a whole number of pixels from {low} to {high}.")


MIN_SIDE = 4  # smaller photos are refused: there is nothing to colorize in a 1x1 image


def working_shape(h: int, w: int, work_size: int = WORK_SIZE, canvas=None, multiple: int = 8):
    """Where a photo of `h` x `w` pixels goes on the network's canvas.

    Args:
        h, w: the photo's size.
        work_size: longer side of the working resolution; smaller photos are not enlarged.
        canvas: a model's fixed `(height, width)`, or None for any multiple of `multiple`.
        multiple: the design's size multiple.

    Returns:
        `((h, w), (hc, wc))`: the photo's size at the working resolution (aspect
        ratio kept) and the canvas it is padded to (multiples of `multiple`).
    """
    if canvas is None:
        scale = min(1.0, work_size / max(h, w))
    else:
        scale = min(canvas[0] / h, canvas[1] / w)
    content = (max(1, round(h * scale)), max(1, round(w * scale)))
    if canvas is None:
        canvas = (-(-content[0] // multiple) * multiple, -(-content[1] // multiple) * multiple)
    return (min(content[0], canvas[0]), min(content[1], canvas[1])), tuple(canvas)


def shrunk(L, size) -> np.ndarray:
    """`L` `(H, W)` float32 resized to `size` `(h, w)` as `tf.image.resize(..., "bilinear",
    antialias=True)` resizes it (within float32 rounding), as two sparse matrix products with the same
    weights (`antialias_weights`), rows first (each output row a sum of whole input rows): several
    times less CPU time than `tf.image.resize`, for a 1 MP photo's chroma grid as for 48 MP."""
    rows, cols = antialias_weights(size[0], L.shape[0]), antialias_weights(size[1], L.shape[1])
    return np.ascontiguousarray((cols @ (rows @ np.asarray(L, np.float32)).T).T, dtype=np.float32)


@functools.lru_cache(maxsize=64)
def antialias_weights(n_out: int, n_in: int):
    """`(n_out, n_in)` sparse (CSR): bilinear resizing with antialiasing along one axis, as
    TensorFlow's `scale_and_translate` computes it (a triangle of radius 1, widened by the scale when
    shrinking; half-pixel centers; each output's weights over the inputs in reach, summing to 1)."""
    import scipy.sparse  # SciPy comes with scikit-image; loaded where first needed

    inv_scale = np.float32(1.0) / (np.float32(n_out) / np.float32(n_in))
    kernel_scale = max(inv_scale, np.float32(1.0))
    sample = (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * inv_scale
    start = np.clip(np.ceil(sample - kernel_scale - 0.5), 0, n_in - 1).astype(np.int64)
    end = np.clip(np.floor(sample + kernel_scale - 0.5), 0, n_in - 1).astype(np.int64) + 1
    span = int((end - start).max())
    source = start[:, None] + np.arange(span)  # (n_out, span), past `end` masked below
    weight = np.maximum(0.0, 1.0 - np.abs((source + np.float32(0.5) - sample[:, None]) / kernel_scale))
    weight = np.where(source < end[:, None], weight, 0.0).astype(np.float32)
    weight /= weight.sum(axis=1, keepdims=True)
    keep = weight > 0
    rows = np.broadcast_to(np.arange(n_out)[:, None], source.shape)
    return scipy.sparse.csr_matrix((weight[keep], (rows[keep], source[keep])), shape=(n_out, n_in))


@dataclass
class Prepared:
    """A photo ready for the network."""

    L: np.ndarray  # (H, W) float32, L in [0, 100] at full resolution
    canvas: np.ndarray  # (hc, wc, 1) float32, L in [0, 100] at the working resolution, padded
    content: tuple  # (h, w): the part of the canvas that holds the photo
    source: str | None = None  # the photo's path, for messages
    hints: np.ndarray | None = None  # (hc, wc, 3): a person's color hints on the canvas (`colornet.hints`)
    # the photo on its chroma grid (`colornet.frames420.Planes`), L being the grid's, where it is
    # colored there (`colornet.jpeg420`); None: L is the photo's own, at full resolution
    planes: object | None = None


def prepare(photo: Photo, work_size: int = WORK_SIZE, canvas=None, multiple: int = 8, L=None) -> Prepared:
    """Full-resolution L and the working canvas of one photo (color photos are desaturated here).

    `L`: the photo's CIE L `(H, W)` where it is already known (a video frame's, from
    `fullres.frame_lightness`); `photo.rgb` is not read then."""
    h, w = photo.rgb.shape[:2] if L is None else L.shape
    if min(h, w) < MIN_SIDE:
        raise ImageError(
            f"{photo.path or 'image'}: {w}x{h} pixels is too small to colorize; "
            f"use a photo of at least {MIN_SIDE}x{MIN_SIDE} pixels."
        )
    L = lightness(photo.rgb) if L is None else np.asarray(L, np.float32)
    content, canvas = working_shape(h, w, work_size, canvas, multiple)
    l_work = (L if content == (h, w) else shrunk(L, content))[..., None]
    pad = [(0, canvas[0] - content[0]), (0, canvas[1] - content[1]), (0, 0)]
    padded = np.pad(l_work, pad, mode="reflect" if min(content) > 1 else "edge")  # (hc, wc, 1)
    canvas = np.clip(padded, 0.0, 100.0).astype(np.float32)
    return Prepared(L=L, canvas=canvas, content=content, source=photo.path)


def check_finite(ab, source=None) -> None:
    """Raise a one-line `WeightsError` naming `source` (a photo) where the network's colors `ab`
    hold NaN or infinite values (diverged or damaged weights): they would give a black image."""
    if not np.all(np.isfinite(ab)):
        raise WeightsError(
            f"{source or 'image'}: the network's colors came out NaN or infinite (its weights diverged in "
            "training or are damaged), so no result is written; use other weights or retrain."
        )


def colors(prepared: Prepared, ab_canvas) -> np.ndarray:
    """ab predicted on the canvas `(hc, wc, 2)` -> the photo's part of it `(h, w, 2)`, within the ab
    range, float32.

    Raises:
        WeightsError: NaN or infinite colors (`check_finite`), naming the photo.
    """
    h, w = prepared.content
    ab = np.asarray(ab_canvas, np.float32)[:h, :w]  # crop the padding
    check_finite(ab, prepared.source)
    return np.clip(ab, -AB_SCALE, AB_SCALE)


def finish(prepared: Prepared, ab_canvas, dtype=np.float32) -> np.ndarray:
    """ab predicted on the canvas `(hc, wc, 2)`, in Lab units -> full-resolution RGB `(H, W, 3)`.

    Raises:
        WeightsError: NaN or infinite colors (`check_finite`), naming the photo.
    """
    return merge_full(prepared.L, colors(prepared, ab_canvas), dtype)
