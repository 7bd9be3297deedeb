"""The sizes and buffers of the chroma grid's planes (`colornet.frames420`): grids of many sizes padded
to a few shared ones, so the merge's compiled functions (one for each size they see) are compiled a few
times for a folder of photos of many sizes; and arrays TensorFlow takes without copying them.

    size = padded_size(h, w)                       # a grid of h x w: the size it is merged at
    y, cb, cr = padded_planes(y, cb, cr, *size)    # the planes padded: the outputs are unchanged
    tensor = as_tensor(y)                          # an aligned array: no copy
"""

import threading

import numpy as np
import tensorflow as tf

# The padded grid sizes handed out in this process (`padded_size`), each with its compiled functions,
# and how often each grid size was asked for.
_SIZES: set = set()
_ASKED: dict = {}
_SIZES_LOCK = threading.Lock()
MAX_PADDING = 3.0  # a grid may take a size of up to this many times its own pixels...
OWN_SIZE_AFTER = 64  # ...until its own size has been asked for this many times


def padded_size(h: int, w: int) -> tuple[int, int]:
    """The size a chroma grid of `h` x `w` is padded to for the merge (`frames420.planes_from(padded=True)`).

    Every compiled function of the merge is compiled for each size it sees (0.8 to 0.9 s on 2 cores
    for a new size), where a grid's own work takes a few ms. So a grid takes its own size where that was
    handed out before, where it is the first, or where it was asked for `OWN_SIZE_AFTER` times (a
    folder of photos of one size: no padding); else the smallest size handed out that holds it with
    at most `MAX_PADDING` times its pixels; else a new size, each side rounded up (to a multiple of an
    eighth of the power of 2 below it, at least 16: at most an eighth more) and made as large as
    that limit allows to hold the sizes handed out before too. A folder of photos of many sizes then
    compiles a few times (these limits gave the fewest seconds of compiling and padding together in
    a simulation of folders of 24 to 2000 photos of random sizes). The padding leaves the outputs as
    they are (`padded_planes`), so the size taken does not change them."""

    def side(n):
        step = max(16, 1 << max(n.bit_length() - 4, 0))
        return -(-n // step) * step

    size, most = (h, w), MAX_PADDING * h * w
    with _SIZES_LOCK:
        _ASKED[size] = _ASKED.get(size, 0) + 1
        if _SIZES and size not in _SIZES and _ASKED[size] < OWN_SIZE_AFTER:
            holding = [(a * b, (a, b)) for a, b in _SIZES if a >= h and b >= w and a * b <= most]
            if holding:
                return min(holding)[1]
            size = (side(h), side(w))
            for a, b in sorted(_SIZES, key=lambda s: -s[0] * s[1]):  # the largest first
                union = (max(a, size[0]), max(b, size[1]))
                size = union if union[0] * union[1] <= most else size
        _SIZES.add(size)
    return size


def padded_planes(y, cb, cr, h: int, w: int):
    """The planes padded to a grid of `h` x `w` in new aligned arrays: each padded block repeats the
    edge's last block (luma its last two rows and columns, in mirror order; chroma its last row and
    column). A padded block then has the same mean luma, L and colors as the edge block beside it,
    so the bilinear upsampling at the edge, which holds the edge's values, sees the same values as
    without the padding: the outputs are unchanged."""
    out_y = aligned((2 * h, 2 * w))
    rows, cols = y.shape
    out_y[:rows, :cols] = y
    out_y[rows::2, :cols], out_y[rows + 1 :: 2, :cols] = y[-1], y[-2]
    out_y[:, cols::2], out_y[:, cols + 1 :: 2] = out_y[:, cols - 1 : cols], out_y[:, cols - 2 : cols - 1]
    return out_y, edge_padded(cb, h, w), edge_padded(cr, h, w)


def edge_padded(plane, h: int, w: int) -> np.ndarray:
    """`plane` `(h0, w0, ...)` padded to `(h, w, ...)` in a new aligned array, its last row and column
    repeated."""
    rows, cols = plane.shape[:2]
    out = aligned((h, w, *plane.shape[2:]), plane.dtype)
    out[:rows, :cols] = plane
    out[rows:, :cols] = plane[-1]
    out[:, cols:] = out[:, cols - 1 : cols]
    return out


ALIGN = 64  # bytes: the alignment TensorFlow's CPU kernels expect of a tensor's data


def aligned(shape, dtype=np.uint8) -> np.ndarray:
    """An empty C-contiguous array whose data starts at a multiple of `ALIGN` bytes."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + ALIGN, np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start : start + size].view(dtype).reshape(shape)


def as_tensor(array) -> tf.Tensor:
    """A NumPy array as a tensor: its own memory where it is C-contiguous and aligned (DLPack: no copy,
    where `tf.convert_to_tensor` copies it holding Python's lock, 0.1 to 0.6 ms a 1 MP plane), else a
    copy."""
    if (
        isinstance(array, np.ndarray)
        and array.flags.c_contiguous
        and array.flags.writeable  # (DLPack cannot export a read-only array)
        and array.ctypes.data % ALIGN == 0
        and array.dtype in (np.uint8, np.float32)
    ):
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    return tf.convert_to_tensor(array)
