"""Augmentation of training photos in graph ops: random square crops and flips of one photo, and
the article's rotation, zoom and shear applied to a whole batch at once."""

import math

import tensorflow as tf


def crop_square(image, size: int, seed=None, flip: bool = True):
    """Square crop of `size`: random (with a random horizontal flip unless `flip` is
    False) when `seed` (a shape-(2,) int tensor) is given, the center crop otherwise."""
    shape = tf.shape(image)
    if seed is None:
        top = (shape[0] - size) // 2
        left = (shape[1] - size) // 2
        return image[top : top + size, left : left + size, :]
    channels = image.shape[-1] or 3
    image = tf.cond(
        tf.reduce_all(shape[:2] == size),
        lambda: image,
        lambda: tf.image.stateless_random_crop(image, [size, size, channels], seed=seed),
    )
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
    return image


def affine_params(batch_size, seed, rotation: float = 20.0, zoom: float = 0.2, shear: float = 0.2):
    """Random rotation (degrees), zoom and shear per image, as in the article's
    `ImageDataGenerator(rotation_range=20, zoom_range=0.2, shear_range=0.2)`."""
    u = tf.random.stateless_uniform([4, batch_size], seed=seed, minval=-1.0, maxval=1.0)
    angle = u[0] * rotation * math.pi / 180.0
    shear_angle = u[1] * shear  # radians, as Keras 2 did
    zoom_x = 1.0 + u[2] * zoom
    zoom_y = 1.0 + u[3] * zoom
    return angle, shear_angle, zoom_x, zoom_y


def augment_batch(
    images, seed, rotation: float = 20.0, zoom: float = 0.2, shear: float = 0.2, flip: bool = False
):
    """One affine warp per image (rotation, shear, zoom about the center, and a
    random horizontal flip if `flip`), edges repeated outward as Keras' `fill_mode="nearest"`.

    Args:
        images: `(b, h, w, c)` float (Lab or RGB) or uint8 (scaled to [0, 1]).
        seed: shape-(2,) int tensor; the same seed gives the same warps.
        flip: mirror half of the images, in the same warp (no extra pass over the pixels).

    Returns:
        float32 `(b, h, w, c)`, bilinearly interpolated.
    """
    images = tf.image.convert_image_dtype(images, tf.float32)
    shape = tf.shape(images)
    b, h, w = shape[0], tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    angle, shear_angle, zx, zy = affine_params(b, seed, rotation, zoom, shear)
    cos, sin = tf.cos(angle), tf.sin(angle)
    sh_sin, sh_cos = tf.sin(shear_angle), tf.cos(shear_angle)
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    # Output pixel (x, y) -> input pixel: rotate, shear and zoom about the center,
    #   [a0 a1] = R(angle) @ [[1, -sin(s)], [0, cos(s)]] @ diag(zx, zy)
    mirror = 1.0
    if flip:  # x -> -x before the warp: negates the first column
        mirror = tf.where(tf.random.stateless_uniform([b], seed=seed + 7) < 0.5, -1.0, 1.0)
    a0 = cos * zx * mirror
    a1 = (-cos * sh_sin - sin * sh_cos) * zy
    b0 = sin * zx * mirror
    b1 = (-sin * sh_sin + cos * sh_cos) * zy
    a2 = cx - a0 * cx - a1 * cy
    b2 = cy - b0 * cx - b1 * cy
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)  # (b, 8)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    return warped
