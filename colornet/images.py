"""Reading and checking photos: every loader in the project goes through here.

`load_image` reads one photo at full resolution as float RGB in [0, 1], whatever it was on disk
(grayscale, palette, RGBA, 16-bit, EXIF-rotated), and `load_rgb8` the same as uint8 for the
training pipeline; `check_image` is the validity test training runs on every file first. Errors a
user can cause are `ImageError`s: one line that names the file and says what to do.

Finding photos (`find_images`, `IMAGE_EXTENSIONS`, the one list of formats) is `colornet.images_find`,
writing them (`save_image`) `colornet.images_save`; both are importable from here too.
"""

import os
import re
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from colornet.errors import ImageError, ImageWarning

# names marked F401 are not used here: they stay importable from `colornet.images`, as before
from colornet.images_find import (
    FORMATS,
    IMAGE_EXTENSIONS,  # noqa: F401
    find_images,  # noqa: F401
    is_image_file,  # noqa: F401
    path_kind,
)
from colornet.images_save import save_image  # noqa: F401

# Pixels a photo may have, checked from its header before anything is decoded: a 100 MP photo
# takes about 1.2 GB as float RGB; a "decompression bomb" (a tiny PNG claiming 30000x30000) is refused.
MAX_PIXELS = 100_000_000
# `warnings.catch_warnings` swaps the interpreter's global warning state: photos read on several
# threads at once (`colorize_files`) take turns through it, and warn in turn, so that each photo's
# warnings are recorded with it and no other's.
_WARNINGS = threading.RLock()


@dataclass
class Photo:
    """A decoded photo.

    Attributes:
        rgb: float32 array `(h, w, 3)` in [0, 1] (grayscale files are replicated).
        alpha: float32 array `(h, w)` in [0, 1], or None when the file has none.
        is_gray: True when the file had no color (a grayscale mode, or R = G = B).
        path: where it was read from, or None for in-memory images.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    is_gray: bool = False
    path: str | None = None


def denied(path) -> str:
    """The one line for a file this user may not read."""
    return f"{path}: cannot read it (permission denied); check the permissions of the file and its folders."


# Pillow's refusals of a metadata block (text, color profile) that expands past its limit
METADATA_BOMB = re.compile(r"Decompressed data too large|Too much memory used in text chunks")


def unreadable_data(path, err: Exception, what: str = "corrupt or truncated image data") -> ImageError:
    """The one line for a photo that cannot be decoded (`err`: what Pillow raised)."""
    if METADATA_BOMB.search(str(err)):
        return ImageError(
            f"{path}: its metadata (a text or color profile block) expands to more than "
            f"{PngImagePlugin.MAX_TEXT_CHUNK // 2**20} MB (a decompression bomb or a damaged file); "
            "re-save it without metadata or remove it."
        )
    return ImageError(f"{path}: {what} ({err}); re-export or remove it.")


def _open(path, max_pixels: int | None = MAX_PIXELS, notes: list | None = None) -> Image.Image:
    """Open `path` (reading its header only) and check its size against `max_pixels`. Pillow's
    warnings about the header (corrupt EXIF data) go to `notes`, or are dropped."""
    path = str(path)
    kind = path_kind(path)
    if kind == "denied":
        raise ImageError(denied(path))
    if kind is None:
        raise ImageError(f"{path}: file not found; check the path.")
    if kind == "folder":
        raise ImageError(f"{path}: is a folder, not an image file.")
    if os.path.getsize(path) == 0:
        raise ImageError(f"{path}: empty file (0 bytes); replace it with a real photo or remove it.")
    try:
        with recorded_warnings(Image.DecompressionBombWarning) as caught:  # our own cap is below
            im = Image.open(path)
        if notes is not None:
            notes += [" ".join(str(w.message).split()).rstrip(".") for w in caught]
    except Image.DecompressionBombError as err:
        claimed = re.search(r"\((\d+) pixels\)", str(err))
        pixels = f"{int(claimed[1]) // 1_000_000} million" if claimed else "too many"
        raise ImageError(
            f"{path}: its header claims {pixels} pixels, more than the {MAX_PIXELS // 1_000_000} million "
            "colornet reads (a decompression bomb or a damaged file); remove it or downscale it."
        ) from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{path}: not an image file that can be read ({FORMATS}); remove it or convert it."
        ) from None
    except PermissionError:
        raise ImageError(denied(path)) from None
    except (OSError, ValueError) as err:  # a damaged header, or metadata past Pillow's limits
        if getattr(err, "errno", None) is not None:  # the disk or the file system, not the file
            raise ImageError(
                f"{path}: cannot be read ({err.strerror}); check the disk or copy it again."
            ) from None
        raise unreadable_data(path, err, "truncated or damaged") from None
    w, h = im.size
    if max_pixels and w * h > max_pixels:
        im.close()
        raise ImageError(
            f"{path}: {w}x{h} is more than {max_pixels // 1_000_000} million pixels; downscale it first."
        )
    return im


CHECK_SIDE = 64  # JPEGs are checked decoded at about this size (libjpeg's 1/2 to 1/8 scaling)


def check_image(path) -> None:
    """Raise `ImageError` if `path` is not a readable image: its header, its size (`MAX_PIXELS`)
    and all its data, decoded (`verify()` alone passes truncated JPEGs).

    What it costs: a JPEG is decoded at 1/8 scale (libjpeg still reads every byte, but skips most
    of the inverse DCT): a 12 MP JPEG took 40 ms, a quarter of a full decode; other formats are
    decoded in full (a 1 MP PNG: about 100 ms), once per photo and run, on a busy 2-core machine.
    `verify()` took 2 ms but passes truncated JPEGs, which then stopped training in its first epoch.
    """
    with _open(path) as im:
        try:
            im.draft("RGB", (CHECK_SIDE, CHECK_SIDE))  # JPEG only; others ignore it
            im.seek(0)
            im.load()
        except Exception as err:  # PIL raises many types for corrupt data
            raise unreadable_data(path, err) from None


def filter_readable(paths, on_error: str = "raise") -> list[str]:
    """Check every file; raise on the first bad one, or skip bad ones with one counted warning.

    Args:
        paths: image paths.
        on_error: "raise" (default) or "skip".
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}.")
    good, bad = [], []
    for p in paths:
        try:
            check_image(p)
            good.append(p)
        except ImageError as err:
            if on_error == "raise":
                raise
            bad.append(str(err).rstrip("."))
    if bad:
        warnings.warn(
            f"skipped {len(bad)} unreadable file(s) of {len(paths)} (--strict stops at the first): "
            + "; ".join(bad[:3])
            + (f" ... and {len(bad) - 3} more" if len(bad) > 3 else "")
            + ".",
            ImageWarning,
            stacklevel=2,
        )
    return good


def _to_float(im: Image.Image):
    """PIL image in any mode -> (rgb float32 (h, w, 3), alpha or None, is_gray)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 or mode.startswith("I;16") else 255.0
        gray = np.clip(arr / top, 0, 1).astype(np.float32)
        return np.repeat(gray[..., None], 3, axis=-1), None, True
    if mode == "F":
        gray = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
        return np.repeat(gray[..., None], 3, axis=-1), None, True
    if mode in ("1", "L"):
        gray = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        return np.repeat(gray[..., None], 3, axis=-1), None, True
    if mode == "LA" or (mode == "P" and "transparency" in im.info) or mode == "PA":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode == "RGBA":
        arr = np.asarray(im, dtype=np.float32) / 255.0
        rgb, alpha = arr[..., :3], arr[..., 3]
    else:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        alpha = None
    is_gray = bool(np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2]))
    return np.ascontiguousarray(rgb), alpha, is_gray


def _decode(path, convert, max_pixels: int | None = MAX_PIXELS, draft: str | None = None):
    """Open, check, decode and EXIF-rotate `path`, then `convert(pil_image)`. Pillow's warnings
    about the file (corrupt EXIF data, printed raw and without the file's name) come back as one
    `ImageWarning` each, naming it. `draft`: the mode a JPEG is decoded to where its decoder can
    (`"YCbCr"`: its own planes, no conversion); other files ignore it."""
    header = []
    im = _open(path, max_pixels, header)
    notes = [f"corrupt metadata ({note}); the photo is used as far as it could be read" for note in header]
    with im:
        try:
            with recorded_warnings() as caught:
                im.seek(0)
                if draft is not None:
                    im.draft(draft, im.size)
                im.load()
            notes += [f"{w.message}".strip().rstrip(".") for w in caught]
            with recorded_warnings() as caught:
                im = ImageOps.exif_transpose(im)
            notes += [
                f"corrupt metadata ({' '.join(str(w.message).split()).rstrip('.')}); "
                "the photo is used as far as it could be read"
                for w in caught
            ]
            result = convert(im)
        except ImageError:
            raise
        except Exception as err:
            raise unreadable_data(path, err) from None
    with _WARNINGS:
        for note in dict.fromkeys(notes):
            warnings.warn(f"{path}: {note}.", ImageWarning, stacklevel=3)
    return result


@contextmanager
def recorded_warnings(*ignored):
    """The warnings raised in the block (but `ignored` categories), recorded in a list instead of
    shown, one thread at a time (see `_WARNINGS`)."""
    with _WARNINGS, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in ignored:
            warnings.simplefilter("ignore", category)
        yield caught


def load_image(path, max_pixels: int | None = MAX_PIXELS) -> Photo:
    """Read one photo at full resolution, EXIF orientation applied.

    Grayscale, palette, RGBA and 16-bit files all come back as float RGB in
    [0, 1]; transparency is returned separately as `alpha`. GIFs give their
    first frame. Pillow's warnings about a file (corrupt EXIF data) come back as one
    `ImageWarning` that names it.

    Raises:
        ImageError: missing, empty, non-image, corrupt or too large files (more than
            `max_pixels`, checked from the header before decoding).
    """
    rgb, alpha, is_gray = _decode(path, _to_float, max_pixels)
    return Photo(rgb=rgb, alpha=alpha, is_gray=is_gray, path=str(path))


EIGHT_BIT_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")


def _to_rgb8(im: Image.Image) -> np.ndarray:
    if im.mode in EIGHT_BIT_MODES:
        return np.asarray(im.convert("RGB"))
    from colornet.color import to_uint8

    return to_uint8(_to_float(im)[0])  # 16-bit and float files


def load_rgb8(path, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """uint8 RGB `(h, w, 3)` of a photo, read as `load_image` reads it (EXIF orientation,
    palette colors, 16-bit, first frame; alpha dropped): what the training pipeline decodes.

    Raises:
        ImageError: as `load_image`.
    """
    return _decode(path, _to_rgb8, max_pixels)


def load_ycbcr(path, max_pixels: int | None = MAX_PIXELS) -> np.ndarray | None:
    """A JPEG's own YCbCr `(h, w, 3)` uint8 (chroma upsampled to every pixel by its decoder), read
    as `load_image` reads it (EXIF orientation applied), or None for a file that does not hold
    YCbCr (PNG, a gray or CMYK JPEG, ...).

    Raises:
        ImageError: as `load_image`.
    """
    return _decode(path, lambda im: np.asarray(im) if im.mode == "YCbCr" else None, max_pixels, "YCbCr")


def as_photo(image) -> Photo:
    """Accept a path, a `Photo`, or an array (uint8, uint16 or float in [0, 1]; gray, RGB or RGBA)."""
    if isinstance(image, Photo):
        return image
    if isinstance(image, (str, os.PathLike)):
        if not str(image).strip():
            raise ImageError("the image's path is empty; pass a photo's path, a Photo or an image array.")
        return load_image(image)
    try:
        arr = np.asarray(image)
    except ValueError:  # ragged nested lists
        arr = np.asarray(None)
    if arr.dtype.kind not in "biuf":
        shown = f"an array of {arr.dtype}" if isinstance(image, np.ndarray) else f"a {type(image).__name__}"
        shown = "None" if image is None else shown
        raise ImageError(f"expected a photo's path, a Photo or an image array of numbers, not {shown}.")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    else:
        arr = arr.astype(np.float32)
        if arr.size and not np.all(np.isfinite(arr)):
            raise ImageError("the image has NaN or infinite values; pass finite values in [0, 1].")
        if arr.size and (arr.max() > 1.0 + 1e-6 or arr.min() < -1e-6):
            raise ImageError("float images must be in [0, 1]; divide by 255 for 8-bit values.")
    alpha = None
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return Photo(rgb=np.repeat(arr[..., None], 3, axis=-1), is_gray=True)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise ImageError(f"expected an image of shape (h, w), (h, w, 3) or (h, w, 4), got {arr.shape}.")
    if arr.shape[-1] == 4:
        arr, alpha = arr[..., :3], arr[..., 3]
    is_gray = bool(np.all(arr[..., 0] == arr[..., 1]) and np.all(arr[..., 1] == arr[..., 2]))
    return Photo(rgb=np.ascontiguousarray(arr), alpha=alpha, is_gray=is_gray)
