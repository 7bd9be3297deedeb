"""The full-resolution part of colorizing, shared by every design: the photo's own L
everywhere, colors upsampled from the working resolution, kept inside the sRGB gamut.

    L = lightness(rgb)               # (H, W) CIE L of the photo, at full resolution
    rgb = merge_full(L, ab)          # ab (h, w, 2) in Lab units from any design -> RGB (H, W, 3)

Per-pixel work runs in strips of rows through XLA-compiled functions, so a 48 MP
photo never needs a full-size float copy of ab.
"""

import numpy as np
import tensorflow as tf

from colornet.color import lab_to_linear_planes, lab_to_rgb_planes, merge_l_ab, rgb_to_lightness, to_uint8

STRIP_PIXELS = 1 << 20  # pixels per strip of rows for the full-resolution work
# Photos and frames up to this size get their ab upsampled whole (32 MB of float32 at most); larger
# ones strip by strip, so a 48 MP photo never needs a full-size copy of ab.
WHOLE_PIXELS = 1 << 22
GAMUT_STEPS = 6  # bisection steps of the chroma reduction for out-of-gamut colors (1/64 precision)


def _strips(h: int, w: int):
    """Row ranges of at most `STRIP_PIXELS` pixels (one row at least)."""
    rows = max(1, STRIP_PIXELS // max(w, 1))
    for y0 in range(0, h, rows):
        yield y0, min(h, y0 + rows)


# The full-resolution work is per pixel: it runs on flat chunks of at most CHUNKS[-1] pixels, the
# last one padded to the next of a few sizes, through XLA-compiled functions (several times faster
# than op by op, compiled once per size); sizes a factor 2 to 4 apart keep the padding small.
CHUNKS = (1 << 12, 1 << 14, 1 << 16, 1 << 17, 1 << 18)


@tf.function(jit_compile=True)
def _lightness_xla(rgb):  # (n, 3) -> (n,)
    return rgb_to_lightness(rgb)


@tf.function(jit_compile=True)
def _merge_xla(L, ab):  # (n,), (n, 2) -> RGB (n, 3), clipped (n,)
    rgb = merge_l_ab(L[:, None], ab)
    # A channel at 0 or 1 was (almost always) clipped: the color was outside the gamut; a gray
    # (a = b = 0) is always inside, black and white included.
    neutral = tf.reduce_all(ab == 0.0, axis=-1)
    return rgb, tf.reduce_any((rgb <= 0.0) | (rgb >= 1.0), axis=-1) & ~neutral


@tf.function(jit_compile=True)
def _merge_uint8_xla(L, ab):  # as `_merge_xla`, RGB rounded to uint8 in the same pass (as `to_uint8`)
    rgb, clipped = _merge_xla(L, ab)
    return tf.cast(tf.clip_by_value(tf.round(rgb * 255.0), 0.0, 255.0), tf.uint8), clipped


@tf.function(jit_compile=True)
def _merge_in_gamut_xla(L, ab):  # (n,), (n, 2) -> (n, 3)
    return tf.stack(in_gamut_planes(L, ab[:, 0], ab[:, 1]), axis=-1)


def in_gamut_planes(L, a, b):
    """The colors L, a, b (planes of the same shape) with their chroma reduced (hue kept) until they
    fit the sRGB gamut at their L, to 1/64 of it: their R, G, B planes in [0, 1]."""
    # Bisection on a chroma factor in [0, 1]: the largest one whose color needs no clipping, its
    # linear RGB inside [0, 1] (where sRGB's curve keeps it inside, no curve needed to tell).
    low, high = tf.zeros_like(L), tf.ones_like(L)
    for _ in range(GAMUT_STEPS):
        mid = (low + high) / 2
        inside = tf.ones_like(L, tf.bool)
        for c in lab_to_linear_planes(L, a * mid, b * mid):
            inside &= (c > 0.0) & (c < 1.0)
        low, high = tf.where(inside, mid, low), tf.where(inside, high, mid)
    return lab_to_rgb_planes(L, a * low, b * low)


def _per_pixel(fn, *arrays, sizes=CHUNKS):
    """`fn` on arrays of `n` pixels `(n, ...)`, in chunks of at most `sizes[-1]`, each padded to the
    next of `sizes`; returns numpy arrays (a tuple when `fn` returns several)."""
    n = len(arrays[0])
    pieces = []
    for start in range(0, n, sizes[-1]):
        part = [a[start : start + sizes[-1]] for a in arrays]
        m = len(part[0])
        size = next(c for c in sizes if c >= m)
        results = fn(*(np.pad(a, [(0, size - m)] + [(0, 0)] * (a.ndim - 1)) for a in part))
        several = isinstance(results, (tuple, list))
        pieces.append([np.asarray(r)[:m] for r in (results if several else [results])])
    outputs = [parts[0] if len(parts) == 1 else np.concatenate(parts) for parts in zip(*pieces)]
    return tuple(outputs) if several else outputs[0]


def fit_in_gamut(L, ab, sizes=CHUNKS) -> np.ndarray:
    """RGB `(n, 3)` in [0, 1] of `n` colors L `(n,)`, ab `(n, 2)` whose chroma is reduced (hue kept)
    until they fit the sRGB gamut at their L (to 1/64 of it), in chunks padded to the next of `sizes`."""
    return _per_pixel(_merge_in_gamut_xla, L, ab, sizes=sizes)


def precompile() -> None:
    """Compile the full-resolution functions for every chunk size now (a few seconds, once per
    process) rather than while the first photos that need them are colorized."""
    for size in CHUNKS:
        L, ab = np.zeros(size, np.float32), np.zeros((size, 2), np.float32)
        _lightness_xla(np.zeros((size, 3), np.float32))
        _merge_xla(L, ab)
        _merge_uint8_xla(L, ab)
        _merge_in_gamut_xla(L, ab)


def lightness(rgb) -> np.ndarray:
    """CIE L of float RGB `(H, W, 3)` -> float32 `(H, W)` in [0, 100], computed in strips."""
    h, w = rgb.shape[:2]
    L = np.empty((h, w), np.float32)
    for y0, y1 in _strips(h, w):
        L[y0:y1] = _per_pixel(_lightness_xla, rgb[y0:y1].reshape(-1, 3)).reshape(y1 - y0, w)
    return L


def bilinear_taps(n_out: int, n_in: int):
    """Source indices and weights of bilinear resizing with half-pixel centers (as tf.image.resize)."""
    x = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    i0 = np.floor(x).astype(np.int64)
    return i0, np.minimum(i0 + 1, n_in - 1), (x - i0).astype(np.float32)


def merge_full(L, ab, dtype=np.float32) -> np.ndarray:
    """Full-resolution L `(H, W)` + working-resolution ab `(h, w, 2)` in Lab units -> RGB `(H, W, 3)`,
    float32 in [0, 1], or uint8 (converted strip by strip, a quarter of the memory) with `dtype=np.uint8`.

    ab is upsampled bilinearly (half-pixel centers, edges held): whole up to `WHOLE_PIXELS`, else strip
    by strip, so no full-size ab array is made for a large photo.
    Where a predicted color is outside the sRGB gamut for its L, clipping it would
    change L; there the chroma is reduced (hue kept) until the color fits, so the
    output keeps the input's L.
    """
    H, W = L.shape
    if H * W <= WHOLE_PIXELS:  # TensorFlow's resize, the same taps, 4x faster than the strips below
        ab_full = tf.image.resize(np.asarray(ab, np.float32)[None], (H, W), "bilinear")[0].numpy()
        ab_full = ab_full.reshape(-1, 2)
    else:
        rows_0, rows_1, fy = bilinear_taps(H, ab.shape[0])
        cols_0, cols_1, fx = bilinear_taps(W, ab.shape[1])
        fx = fx[None, :, None]
        ab_wide = ab[:, cols_0] * (1 - fx) + ab[:, cols_1] * fx  # (h, W, 2): columns first, it is small
    out = np.empty((H, W, 3), dtype)
    flat = out.reshape(-1, 3)
    convert = to_uint8 if out.dtype == np.uint8 else np.asarray
    # Out-of-gamut pixels (flat index, L, ab), gathered over strips so the fit runs on full chunks.
    pending = []

    def fit_pending():
        index, L_c, ab_c = (np.concatenate(parts) for parts in zip(*pending))
        flat[index] = convert(fit_in_gamut(L_c, ab_c))
        pending.clear()

    for y0, y1 in _strips(H, W):
        if H * W <= WHOLE_PIXELS:
            ab_strip = ab_full[y0 * W : y1 * W]
        else:
            f = fy[y0:y1, None, None]
            ab_strip = ab_wide[rows_0[y0:y1]] * (1 - f) + ab_wide[rows_1[y0:y1]] * f  # (r, W, 2)
            ab_strip = ab_strip.reshape(-1, 2)
        L_strip = L[y0:y1].reshape(-1)
        rgb, clipped = _per_pixel(
            _merge_uint8_xla if out.dtype == np.uint8 else _merge_xla, L_strip, ab_strip
        )
        flat[y0 * W : y1 * W] = rgb
        # A color outside the gamut for its L had a channel clipped, which changes L:
        # for those pixels the chroma is reduced instead, until the color fits.
        clipped = np.flatnonzero(clipped)
        if clipped.size:
            pending.append((clipped + y0 * W, L_strip[clipped], ab_strip[clipped]))
            if sum(len(p[0]) for p in pending) >= CHUNKS[-1]:
                fit_pending()
    if pending:
        fit_pending()
    return out


# --- whole frames of one size (video) -------------------------------------------------------------
# A film's frames all have one size, so L can come from one compiled function over the whole uint8
# frame (compiled once per film), without a float copy of the frame: 2 to 3 times faster than
# `lightness` on a frame that is read as uint8 anyway. (The merge stays in chunks: as one function over
# the whole frame, upsampling included, it measured slower.)


@tf.function(jit_compile=True)
def _frame_lightness_xla(rgb):  # uint8 (H, W, 3) -> L (H, W)
    return rgb_to_lightness(tf.cast(rgb, tf.float32) / 255.0)


def frame_lightness(rgb) -> np.ndarray:
    """CIE L of a uint8 RGB frame `(H, W, 3)` -> float32 `(H, W)`: `lightness(rgb / 255)` in one
    compiled pass (compiled once per frame size)."""
    return np.asarray(_frame_lightness_xla(np.asarray(rgb, np.uint8)))
