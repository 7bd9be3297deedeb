"""One photo as tensors: decoded by Pillow, resized to the training scale, in Lab; and, for a
network that needs sides of a multiple of 8, cropped or padded to one. The first steps of
`colornet.data`'s pipelines, each a small function that can be tried on one sample."""

import numpy as np
import tensorflow as tf

from colornet.color import rgb_to_lab, rgb_to_model_io
from colornet.errors import ImageError
from colornet.images import load_rgb8


def _read_rgb8(path) -> np.ndarray:
    return load_rgb8(path.decode() if isinstance(path, bytes) else str(path))


def decode_image(path):
    """Read and decode one file -> uint8 RGB `(h, w, 3)`.

    Read by Pillow (`colornet.images.load_rgb8`), as `colorize` reads it: grayscale,
    palette (8-bit BMP, GIF, PNG), RGBA and 16-bit files become 8-bit RGB, EXIF orientation
    is applied, a GIF gives its first frame. (TensorFlow's own decoders read a palette BMP's
    indices as gray and refuse 1-bit BMPs.)
    """
    image = tf.numpy_function(_read_rgb8, [path], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return image


def resize_shorter_side(image, size: int):
    """Resize so the shorter side is `size`, keeping the aspect ratio; keeps the dtype.

    Antialiased when shrinking, plain bilinear when enlarging; no work at the right size.
    """
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(h, w)
    new_size = tf.stack(
        [
            tf.maximum(size, tf.cast(tf.round(h * scale), tf.int32)),
            tf.maximum(size, tf.cast(tf.round(w * scale), tf.int32)),
        ]
    )

    def resize():
        resized = tf.cond(
            scale < 1.0,
            lambda: tf.image.resize(image, new_size, method="bilinear", antialias=True),
            lambda: tf.image.resize(image, new_size, method="bilinear"),
        )
        if image.dtype == tf.uint8:
            return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
        return tf.cast(resized, image.dtype)

    return tf.cond(tf.reduce_all(new_size == shape[:2]), lambda: image, resize)


def load_lab(path, size: int):
    """Decode a photo and return it in Lab, shorter side `size` -> float32 `(>= size, >= size, 3)`.

    The conversion runs at the smaller of the photo's and the target resolution:
    large photos are shrunk first, small ones converted first and then enlarged.
    """
    image = decode_image(path)
    shorter = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
    return tf.cond(
        shorter > size,
        lambda: rgb_to_lab(resize_shorter_side(image, size)),
        lambda: resize_shorter_side(rgb_to_lab(image), size),
    )


def load_rgb(path, size: int):
    """Decode a photo and resize it so its shorter side is `size` -> uint8 RGB `(>= size, >= size, 3)`."""
    return resize_shorter_side(decode_image(path), size)


def to_model_io(images):
    """uint8 or float RGB batch -> (L normalized `(b, h, w, 1)`, ab normalized `(b, h, w, 2)`)."""
    return rgb_to_model_io(tf.image.convert_image_dtype(images, tf.float32))


# --- single photos, whole, for a network ---------------------------------------


def pad_to_multiple(rgb, multiple: int = 8, mode: str = "reflect"):
    """Pad `(h, w, c)` at the bottom/right to a multiple of `multiple`; returns (padded, (h, w))."""
    rgb = np.asarray(rgb)
    h, w = rgb.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        pad = [(0, ph), (0, pw)] + [(0, 0)] * (rgb.ndim - 2)
        rgb = np.pad(rgb, pad, mode=mode if min(h, w) > 1 else "edge")
    return rgb, (h, w)


def crop_to_multiple(rgb, multiple: int = 8):
    """Center-crop `(h, w, c)` to the largest multiple of `multiple` on each side."""
    h, w = rgb.shape[:2]
    nh, nw = h - h % multiple, w - w % multiple
    if nh == 0 or nw == 0:
        raise ImageError(
            f"image of {w}x{h} pixels is smaller than {multiple}x{multiple}; use a larger photo."
        )
    top, left = (h - nh) // 2, (w - nw) // 2
    return rgb[top : top + nh, left : left + nw]


def photo_to_batch(rgb, multiple: int = 8, fit: str = "crop"):
    """One RGB photo `(h, w, 3)` in [0, 1] -> a batch of one `(L (1, H, W, 1), ab (1, H, W, 2))`
    with H, W multiples of `multiple` (`fit` = "crop" or "pad")."""
    rgb = np.asarray(rgb, dtype=np.float32)
    rgb = crop_to_multiple(rgb, multiple) if fit == "crop" else pad_to_multiple(rgb, multiple)[0]
    l, ab = rgb_to_model_io(tf.constant(rgb[None]))
    return l, ab
