"""JPEG photos into JPEG outputs, colored on their chroma grid as video frames are
(`colornet.frames420`): a quarter of the pixels, and no RGB at full resolution either way.

A JPEG holds its photo as YCbCr, and the JPEGs `colorize` writes keep one Cb and one Cr per 2 x 2
pixels (4:2:0, Pillow's default). So a JPEG colorized into a JPEG is read in its own YCbCr (the
decoder's color conversion skipped), each 2 x 2 block's mean luma and chroma give its CIE L, the
network's canvas is made from that L, the colors are merged on that grid (kept in gamut, as every
path does), and their Cb and Cr are written with the photo's own luma plus the change of luma the
colors bring (`frames420.merge_420`), without RGB at full resolution:

    planes = read_planes("old.jpg")           # None: the photo takes the RGB path
    y, cb, cr, _ = merge_420(planes, ab)
    save_ycbcr("old_color.jpg", y, cb, cr, quality=95)   # colornet.images_save

JPEG's YCbCr is BT.601 at full range (JFIF). Photos of odd width or height, gray or CMYK JPEGs and
other formats take the RGB path of `colornet.fullres`.
"""

from pathlib import Path

import numpy as np

from colornet.frames420 import Matrix, Planes, planes_from
from colornet.images import MAX_PIXELS, load_ycbcr

JFIF = Matrix(kr=0.299, kb=0.114, full_range=True)  # JPEG's YCbCr
SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def read_planes(path, max_pixels: int | None = MAX_PIXELS) -> Planes | None:
    """The `Planes` of a JPEG photo (`frames420.Planes`: its luma, and each 2 x 2 block's mean luma and
    CIE L), or None where it cannot take this path (not a YCbCr JPEG, or an odd width or height).

    Raises:
        ImageError: a file `load_image` would refuse (missing, corrupt, too large, ...).
    """
    if Path(path).suffix.lower() not in SUFFIXES:
        return None
    ycc = load_ycbcr(path, max_pixels)
    if ycc is None or ycc.shape[0] % 2 or ycc.shape[1] % 2:
        return None
    cb, cr = (_block_means(ycc[..., i]) for i in (1, 2))
    return planes_from(np.ascontiguousarray(ycc[..., 0]), cb, cr, JFIF)


def _block_means(plane) -> np.ndarray:
    """uint8 `(H, W)` -> the mean of each 2 x 2 block, float32 `(H/2, W/2)` (sums of 4 in uint16)."""
    top, bottom = plane[0::2].astype(np.uint16), plane[1::2]
    sums = top[:, 0::2] + top[:, 1::2] + bottom[:, 0::2] + bottom[:, 1::2]
    return sums.astype(np.float32) * np.float32(0.25)
