"""Video frames as the codec holds them, 8-bit 4:2:0 YCbCr, colored on the chroma planes' grid: a
quarter of the pixels.

A 4:2:0 frame keeps one luma sample per pixel and one Cb and one Cr sample per 2 x 2 pixels, and
that is all an H.264 or VP9 output holds. So the full-resolution work of `colornet.fullres` (CIE L
of every pixel, the merge of L with the upsampled colors, the gamut fit, RGB back to YCbCr, and
FFmpeg's conversions both ways) can run on the chroma grid instead:

    planes = planes_of(frame)          # luma, and on the grid each 2 x 2 block's mean luma and CIE L
    y, cb, cr, rgb = merge_420(planes, ab)   # the colored frame's planes (and its colors on the grid)

`planes.L` (the CIE L of each block's mean luma with the block's Cb and Cr) is what the network's
canvas is made from, and what the colors upsampled to the grid are merged with (kept in gamut as
`fullres.merge_full` does); the merged colors' Cb and Cr are the output's chroma planes. The
output's luma is the input's, plus the change of luma the colors bring on the grid, upsampled
bilinearly: the frame keeps its full-resolution detail and its lightness (luma is not CIE L: a red
and a gray of the same L do not have the same luma, so a colored pixel needs another luma).

The frame's own matrix (BT.601, BT.709, BT.2020, FCC, SMPTE 240M) and range (limited or full) are
used; other frames (10-bit, 4:2:2, 4:4:4, RGB, odd sizes, other matrices) take the RGB path of
`colornet.fullres` instead, as do outputs that are not 4:2:0 (`supported`).
"""

import functools
import sys
from typing import NamedTuple

import av
import numpy as np
import tensorflow as tf

from colornet.color import lab_to_rgb_planes, lightness_of_planes
from colornet.fullres import fit_in_gamut
from colornet.grid_sizes import aligned, as_tensor, edge_padded, padded_planes, padded_size

# FFmpeg's colorspace (AVColorSpace) -> the matrix's (Kr, Kb); 2 (unspecified) is read as BT.601, as
# FFmpeg's scaler does.
MATRICES = {
    1: (0.2126, 0.0722),  # BT.709
    2: (0.299, 0.114),  # unspecified: BT.601
    4: (0.30, 0.11),  # FCC
    5: (0.299, 0.114),  # BT.470BG (BT.601, PAL)
    6: (0.299, 0.114),  # SMPTE 170M (BT.601, NTSC)
    7: (0.212, 0.087),  # SMPTE 240M
    9: (0.2627, 0.0593),  # BT.2020, non-constant luminance
}
FORMATS = {"yuv420p": False, "yuvj420p": True}  # 8-bit 4:2:0 formats -> full range by the format itself
FULL_RANGE = 2  # FFmpeg's AVCOL_RANGE_JPEG


class Matrix(NamedTuple):
    """How a frame's 8-bit codes map to R'G'B' in [0, 1]."""

    kr: float
    kb: float
    full_range: bool

    def constants(self) -> np.ndarray:
        """(kr, kb, Y offset, Y scale, chroma scale) in codes, for the compiled functions."""
        if self.full_range:
            return np.array([self.kr, self.kb, 0.0, 255.0, 255.0], np.float32)
        return np.array([self.kr, self.kb, 16.0, 219.0, 224.0], np.float32)


class Planes(NamedTuple):
    """One 4:2:0 frame, read for the merge: its luma `(H, W)` uint8, and on the chroma grid
    `(H/2, W/2)` the mean luma of each 2 x 2 block and its CIE L (with the block's Cb and Cr);
    and its matrix. `tensors`: the same luma, mean luma and L as TensorFlow tensors, which the
    merge's compiled functions take as they are (a NumPy array would be copied into a new tensor
    on each call, holding Python's lock), padded where `planes_from` was told to (`grid_sizes.padded_size`);
    empty where the planes were made by hand."""

    y: np.ndarray
    pooled: np.ndarray
    L: np.ndarray
    matrix: Matrix
    tensors: tuple = ()


def matrix_of(frame) -> Matrix | None:
    """The frame's `Matrix` where the 4:2:0 path can take it, else None (see the module's docstring)."""
    name = frame.format.name
    if name not in FORMATS or frame.width % 2 or frame.height % 2 or frame.colorspace not in MATRICES:
        return None
    kr, kb = MATRICES[frame.colorspace]
    return Matrix(kr, kb, FORMATS[name] or frame.color_range == FULL_RANGE)


def supported(frame, output_pix_fmt: str) -> bool:
    """Whether `frame` and an output stream in `output_pix_fmt` can take the 4:2:0 path."""
    return output_pix_fmt == "yuv420p" and matrix_of(frame) is not None


def planes_of(frame) -> Planes:
    """The `Planes` of a frame for which `matrix_of` is not None."""
    return planes_from(*planes_420(frame), matrix_of(frame))


def planes_420(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 4:2:0 frame's Y `(H, W)`, Cb and Cr `(H/2, W/2)` (H and W even), uint8, each copied once from
    the frame's lines into an array of its own that TensorFlow can take without copying it again
    (`grid_sizes.as_tensor`)."""
    planes = []
    for plane in frame.planes:
        lines = np.frombuffer(plane, np.uint8, plane.line_size * plane.height).reshape(plane.height, -1)
        lines = lines[:, : plane.width]
        out = aligned((plane.height, plane.width))
        np.copyto(out, lines)
        planes.append(out)
    return tuple(planes)


def planes_from(y, cb, cr, matrix: Matrix, padded: bool = False) -> Planes:
    """The `Planes` of luma `y` `(H, W)` uint8 (H and W even) and chroma `cb`, `cr` on its grid
    `(H/2, W/2)` (uint8 codes, or float: a JPEG's chroma averaged over each block).

    `padded`: the merge works on the planes padded to the grid's `padded_size` (the edge's blocks
    repeated, which leaves every output pixel as it was), so photos of many sizes share a few
    compiled functions (a film's frames, of one size, need not)."""
    h, w = (n // 2 for n in y.shape)
    size = padded_size(h, w) if padded else (h, w)
    if size != (h, w):
        y, cb, cr = padded_planes(y, cb, cr, *size)
    y_tensor = as_tensor(y)
    pooled, L = _pooled_lightness_xla(y_tensor, as_tensor(cb), as_tensor(cr), _constants(matrix))
    # (a CPU tensor's NumPy array is a view of it, not a copy)
    views = (y[: 2 * h, : 2 * w], np.asarray(pooled)[:h, :w], np.asarray(L)[:h, :w])
    return Planes(*views, matrix, (y_tensor, pooled, L))


@functools.cache
def _constants(matrix: Matrix) -> tf.Tensor:
    """`matrix.constants()` as a tensor, made once for each matrix."""
    return tf.constant(matrix.constants())


def to_frame(y, cb, cr, matrix: Matrix, colorspace: int):
    """Planes -> an `av.VideoFrame` in yuv420p, tagged with its matrix and range."""
    h, w = y.shape
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, values in zip(frame.planes, (y, cb, cr)):
        # copied once, straight into the frame's own lines (FFmpeg may pad them): concatenated for
        # PyAV's `from_ndarray`, the planes were copied twice (0.54 ms a 1280 x 720 frame against
        # 0.24, `bench/step_threads.py`)
        lines = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        lines[: values.shape[0], : values.shape[1]] = values
    frame.colorspace = colorspace
    frame.color_range = FULL_RANGE if matrix.full_range else 1
    return frame


# --- the color math, on codes -------------------------------------------------------------------
# Each channel is a plane of its own: XLA's fused loops then stay vectorized.


def _to_rgb(y, cb, cr, k):  # codes (float) -> the planes R', G', B' in [0, 1]
    kr, kb, offset, y_scale, c_scale = k[0], k[1], k[2], k[3], k[4]
    luma = (y - offset) / y_scale
    pb, pr = (cb - 128.0) / c_scale, (cr - 128.0) / c_scale
    r = luma + 2.0 * (1.0 - kr) * pr
    b = luma + 2.0 * (1.0 - kb) * pb
    g = (luma - kr * r - kb * b) / (1.0 - kr - kb)
    return tuple(tf.clip_by_value(c, 0.0, 1.0) for c in (r, g, b))


def _to_codes(r, g, b, k):  # the planes R', G', B' in [0, 1] -> Y, Cb, Cr codes (float)
    kr, kb, offset, y_scale, c_scale = k[0], k[1], k[2], k[3], k[4]
    luma = kr * r + (1.0 - kr - kb) * g + kb * b
    pb = (b - luma) / (2.0 * (1.0 - kb))
    pr = (r - luma) / (2.0 * (1.0 - kr))
    return offset + y_scale * luma, 128.0 + c_scale * pb, 128.0 + c_scale * pr


def _code(x):
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


def _pool(y):  # uint8 (H, W) -> the mean of each 2 x 2 block, float (H/2, W/2)
    y = tf.cast(y, tf.float32)
    return 0.25 * ((y[0::2, 0::2] + y[0::2, 1::2]) + (y[1::2, 0::2] + y[1::2, 1::2]))


def _blocks(y):  # (H, W) -> (H/2, 2, W/2, 2): each 2 x 2 block of pixels on axes 1 and 3
    h, w = tf.shape(y)[0], tf.shape(y)[1]
    return tf.reshape(y, (h // 2, 2, w // 2, 2))


def _upsampled(c):  # (H/2, W/2) -> (H/2, 2, W/2, 2): bilinear x2 with half-pixel centers, edges held
    # Each of the four pixels of a block weighs its block 9/16, the two blocks beside it on its side
    # 3/16 each and the one on its diagonal 1/16: four weighted sums of shifted copies, interleaved
    # (which XLA fuses into one pass, a third faster than interpolating rows, then columns).
    p = tf.pad(c, [[1, 1], [1, 1]], mode="SYMMETRIC")  # each edge row and column repeated once
    middle, centre = p[1:-1], 0.5625 * c
    rows = []
    for vertical, diagonals in ((p[:-2, 1:-1], p[:-2]), (p[2:, 1:-1], p[2:])):  # above, below
        left = centre + 0.1875 * (vertical + middle[:, :-2]) + 0.0625 * diagonals[:, :-2]
        right = centre + 0.1875 * (vertical + middle[:, 2:]) + 0.0625 * diagonals[:, 2:]
        rows.append(tf.stack([left, right], axis=-1))  # (H/2, W/2, 2)
    return tf.stack(rows, axis=1)


@tf.function(jit_compile=True)
def _pooled_lightness_xla(y, cb, cr, k):  # -> the 2 x 2 blocks' luma (H/2, W/2) and their L
    pooled = _pool(y)
    rgb = _to_rgb(pooled, tf.cast(cb, tf.float32), tf.cast(cr, tf.float32), k)
    return pooled, lightness_of_planes(*rgb, polynomial=True)


# The out-of-gamut pixels of a frame (often a tenth of them) are fitted, then written into its
# planes, in chunks of at most the larger of these sizes: each fitted padded to the next one (two
# compiled fits in all, shared by every frame size, each compiled once per process in about half a
# second), and written padded to the larger, the last chunk (or a chunk of padding where every color
# fits) in the function that makes the output. So a frame size compiles one such function (two where
# more than one chunk is written), where a size for each count of pixels would compile new ones in the
# middle of a film.
FIT_SIZES = (8192, 32768)


@tf.function(jit_compile=True)
def _merge_xla(L, ab):  # L and ab on the grid -> its R, G, B planes, and where they were clipped
    a, b = ab[..., 0], ab[..., 1]
    rgb = lab_to_rgb_planes(L, a, b, polynomial=True)
    # A channel at 0 or 1 was (almost always) clipped: the color was outside the gamut; a gray
    # (a = b = 0) is always inside, black and white included (as `fullres.merge_full`).
    clipped = tf.zeros_like(L, tf.bool)
    for c in rgb:
        clipped |= (c <= 0.0) | (c >= 1.0)
    return rgb + (clipped & ~((a == 0.0) & (b == 0.0)),)


def _scatter(r, g, b, index, fitted):  # the colors `fitted` (n, 3) at the flat `index` (n,)
    index = index[:, None]
    return tuple(
        tf.reshape(tf.tensor_scatter_nd_update(tf.reshape(c, [-1]), index, fitted[:, i]), tf.shape(c))
        for i, c in enumerate((r, g, b))
    )


_scatter_xla = tf.function(_scatter, jit_compile=True)  # the chunks before the last


def _output(y, pooled, r, g, b, index, fitted, k):  # the merged colors -> the output's codes (float)
    # (the colors `fitted` written at `index` first, in the same compiled function as the output:
    # 14 % less time than writing them in one and reading them back in another)
    r, g, b = _scatter(r, g, b, index, fitted)
    luma, cb, cr = _to_codes(r, g, b, k)
    out = _blocks(tf.cast(y, tf.float32)) + _upsampled(luma - pooled)  # (H/2, 2, W/2, 2)
    return out, cb, cr, (r, g, b)


@tf.function(jit_compile=True)
def _planes_xla(y, pooled, r, g, b, index, fitted, k, small):  # -> Y, Cb, Cr (and the small RGB)
    out, cb, cr, rgb = _output(y, pooled, r, g, b, index, fitted, k)
    planes = _code(tf.reshape(out, tf.shape(y))), _code(cb), _code(cr)
    return planes + ((_code(tf.stack(rgb, axis=-1) * 255.0),) if small else ())


# The bytes Y, Cb, Cr, 0 of a pixel in the order memory holds them, as the bits of one uint32: the
# compiled function then writes whole words (a stack of uint8 channels writes a byte at a time, 3x
# slower).
SHIFTS = (0, 8, 16) if sys.byteorder == "little" else (24, 16, 8)


@tf.function(jit_compile=True)
def _pixels_xla(y, pooled, r, g, b, index, fitted, k):  # -> YCbCr pixels of 4 bytes (H, W) uint32
    out, cb, cr, _ = _output(y, pooled, r, g, b, index, fitted, k)
    word = tf.zeros_like(out, tf.uint32)
    for codes, shift in zip((out, cb[:, None, :, None], cr[:, None, :, None]), SHIFTS):
        byte = tf.cast(tf.clip_by_value(tf.round(codes), 0.0, 255.0), tf.uint32)
        word |= tf.bitwise.left_shift(byte, tf.constant(shift, tf.uint32))  # chroma: over its block
    return tf.reshape(word, tf.shape(y))


def merge_420(planes: Planes, ab, small: bool = True) -> tuple[np.ndarray, ...]:
    """The frame colored by `ab` (h, w, 2) in Lab units (any working size): its `(Y, Cb, Cr)`
    planes as uint8, and the colors on the chroma grid as uint8 RGB `(H/2, W/2, 3)` (for measures
    such as the flicker; not made if not `small`). See the module's docstring."""
    out = _planes_xla(*_merged(planes, ab), small)
    (h, w), (hc, wc) = planes.y.shape, planes.L.shape  # the padding cut off
    return tuple(np.asarray(o)[: h if i == 0 else hc, : w if i == 0 else wc] for i, o in enumerate(out))


def merge_420_pixels(planes: Planes, ab) -> np.ndarray:
    """`merge_420`'s Y, Cb and Cr as the pixels of a YCbCr image, `(H, W, 4)` uint8: Y, Cb, Cr and
    a 0 for each pixel, each Cb and Cr repeated over its 2 x 2 block. That is how Pillow holds a
    YCbCr image, so `images_save.save_ycbcr` writes it as it is: a photo's JPEG is written without
    Pillow upsampling the chroma and merging the planes, which holds Python's lock. (A view whose
    lines are those of the padded planes where they were padded.)"""
    words = np.asarray(_pixels_xla(*_merged(planes, ab)))
    h, w = planes.y.shape
    return words.view(np.uint8).reshape(*words.shape, 4)[:h, :w]


def _merged(planes: Planes, ab) -> tuple:
    """The arguments of the output's compiled functions: the planes, the colors merged on the grid
    with all but the last chunk of the out-of-gamut fit written in, that chunk (padded), and the
    matrix's constants."""
    y, pooled, L = planes.tensors or (planes.y, planes.pooled, planes.L)
    # TensorFlow's bilinear resize with half-pixel centers, as `tf.image.resize` and merge_full call
    # it, without its Python checks; then, on padded planes, the edge's colors repeated over the padding
    ab = np.asarray(ab, np.float32)[None]
    ab = tf.raw_ops.ResizeBilinear(images=ab, size=planes.L.shape, half_pixel_centers=True)[0]
    (h, w), (hp, wp) = planes.L.shape, L.shape
    if (hp, wp) != (h, w):
        ab = as_tensor(edge_padded(np.asarray(ab), hp, wp))
    r, g, b, clipped = _merge_xla(L, ab)
    outside = np.flatnonzero(np.asarray(clipped)).astype(np.int32)
    if outside.size:  # there the chroma is reduced (hue kept) until the color fits: L is kept
        L_out, ab_out = np.asarray(L).reshape(-1)[outside], np.asarray(ab).reshape(-1, 2)[outside]
        fitted = fit_in_gamut(L_out, ab_out, FIT_SIZES)
    else:  # a chunk of padding: the first pixel's own color written back
        outside = np.zeros(1, np.int32)
        fitted = np.stack([np.asarray(c).reshape(-1)[:1] for c in (r, g, b)], axis=-1)
    chunk = FIT_SIZES[-1]
    last = (outside.size - 1) // chunk * chunk
    for start in range(0, last, chunk):
        r, g, b = _scatter_xla(r, g, b, outside[start : start + chunk], fitted[start : start + chunk])
    index, colors = outside[last:], fitted[last:]
    pad = chunk - index.size
    # (the last pixel again over the padding)
    index, colors = np.pad(index, (0, pad), "edge"), np.pad(colors, ((0, pad), (0, 0)), "edge")
    return y, pooled, r, g, b, index, colors, _constants(planes.matrix)
