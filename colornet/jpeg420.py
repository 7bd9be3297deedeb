"""JPEG photos into JPEG outputs, colored on their chroma grid as video frames are
(`colornet.frames420`): a quarter of the pixels, and no RGB at full resolution either way.

A JPEG holds its photo as YCbCr, and the JPEGs `colorize` writes keep one Cb and one Cr per 2 x 2
pixels (4:2:0, Pillow's default). So a JPEG colorized into a JPEG is read in its own YCbCr (the
decoder's color conversion skipped), each 2 x 2 block's mean luma and chroma give its CIE L, the
network's canvas is made from that L, the colors are merged on that grid (kept in gamut, as every
path does), and their Cb and Cr are written with the photo's own luma plus the change of luma the
colors bring (`frames420.merge_420`), without RGB at full resolution:

    planes = read_planes("old.jpg")           # None: the photo takes the RGB path
    pixels = merge_420_pixels(planes, ab)     # Y, Cb, Cr (and a 0) of each pixel, as Pillow holds them
    save_ycbcr("old_color.jpg", pixels, quality=95)   # colornet.images_save

A JPEG of 4:2:0 (nearly every camera's and scanner's) is decoded by FFmpeg's decoder, which gives its
planes as the file holds them: the chroma already on the grid, neither upsampled nor converted.
Other YCbCr JPEGs (4:2:2, 4:4:4), and any whose header or data draws a warning or an error, are read
by Pillow's decoder in YCbCr, each 2 x 2 block's chroma averaged; Pillow then names the problem as
`load_image` does.

JPEG's YCbCr is BT.601 at full range (JFIF). Photos of odd width or height, gray or CMYK JPEGs and
other formats take the RGB path of `colornet.fullres`.
"""

from pathlib import Path

import av
import numpy as np

from colornet.frames420 import Matrix, Planes, planes_420, planes_from
from colornet.images import MAX_PIXELS, _open, load_ycbcr, recorded_warnings

JFIF = Matrix(kr=0.299, kb=0.114, full_range=True)  # JPEG's YCbCr
SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")
ORIENTATION = 0x0112  # the EXIF tag
# EXIF orientation -> the same turn of a plane, as Pillow's `ImageOps.exif_transpose` turns a photo
TURNS = {
    2: lambda p: p[:, ::-1],
    3: lambda p: p[::-1, ::-1],
    4: lambda p: p[::-1],
    5: lambda p: p.T,
    6: lambda p: np.rot90(p, -1),
    7: lambda p: np.rot90(p, 2).T,
    8: lambda p: np.rot90(p),
}


def read_planes(path, max_pixels: int | None = MAX_PIXELS) -> Planes | None:
    """The `Planes` of a JPEG photo (`frames420.Planes`: its luma, and each 2 x 2 block's mean luma and
    CIE L), or None where it cannot take this path (not a YCbCr JPEG, or an odd width or height).

    Raises:
        ImageError: a file `load_image` would refuse (missing, corrupt, too large, ...).
    """
    if Path(path).suffix.lower() not in SUFFIXES:
        return None
    notes = []
    with _open(path, max_pixels, notes) as im:  # the header: raises ImageError as `load_image`
        with recorded_warnings() as caught:
            orientation = im.getexif().get(ORIENTATION, 1) if im.format == "JPEG" else None
        if im.format != "JPEG" or im.mode != "RGB":  # gray, CMYK, another format: the RGB path
            return None
    stored = None if notes or caught or orientation not in range(1, 9) else stored_planes(path)
    if stored is not None:
        turn = TURNS.get(orientation)
        planes = stored if turn is None else [np.ascontiguousarray(turn(p)) for p in stored]
        return planes_from(*planes, JFIF, padded=True)
    ycc = load_ycbcr(path, max_pixels)
    if ycc is None or ycc.shape[0] % 2 or ycc.shape[1] % 2:
        return None
    cb, cr = (_block_means(ycc[..., i]) for i in (1, 2))
    return planes_from(np.ascontiguousarray(ycc[..., 0]), cb, cr, JFIF, padded=True)


def stored_planes(path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A 4:2:0 JPEG's planes as it holds them, decoded by FFmpeg: luma `(H, W)` and Cb and Cr
    `(H/2, W/2)`, uint8, before its EXIF orientation; None for another JPEG (4:2:2, 4:4:4, gray,
    CMYK, RGB, an odd size) and for data the decoder finds damaged (truncated, ...)."""
    codec = av.CodecContext.create("mjpeg", "r")
    codec.options = {"err_detect": "explode"}  # damaged data raises instead of being concealed
    try:
        frames = codec.decode(av.Packet(Path(path).read_bytes()))
    except (av.FFmpegError, OSError, ValueError):
        return None
    if len(frames) != 1 or frames[0].format.name != "yuvj420p":
        return None
    frame = frames[0]
    if frame.width % 2 or frame.height % 2:
        return None
    return planes_420(frame)


def _block_means(plane) -> np.ndarray:
    """uint8 `(H, W)` -> the mean of each 2 x 2 block, float32 `(H/2, W/2)` (sums of 4 in uint16)."""
    top, bottom = plane[0::2].astype(np.uint16), plane[1::2]
    sums = top[:, 0::2] + top[:, 1::2] + bottom[:, 0::2] + bottom[:, 1::2]
    return sums.astype(np.float32) * np.float32(0.25)
