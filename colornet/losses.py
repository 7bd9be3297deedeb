"""Losses by name, for the command line and the designs."""

import keras
import numpy as np
import tensorflow as tf

from colornet.bins import BIN_LOSS
from colornet.errors import ColornetError

BLURRED = "blurred"
LOSS_NAMES = ("mse", "mae", "huber", BLURRED)
BLUR_SIGMAS = (3.0, 5.0)  # Dahl 2016: the distance also after Gaussian blurs of 3 and 5 px


def get_loss(name):
    """`mse` (the article), `mae` (L1), `huber` (delta 0.1 on ab / 128) or `blurred` (Dahl's
    blurred distance, `blurred_distance`) -> a Keras loss; anything else (a loss object, a dict
    of them) is returned as it is."""
    if not isinstance(name, str):
        return name
    if name == BIN_LOSS:
        return soft_cross_entropy
    if name == BLURRED:
        return blurred_distance
    if name == "huber":
        return keras.losses.Huber(delta=0.1)
    if name not in LOSS_NAMES:
        raise ColornetError(f"unknown loss {name!r}; use {', '.join(LOSS_NAMES)}.")
    return name


@keras.saving.register_keras_serializable(package="colornet")
def soft_cross_entropy(y_true, y_pred):
    """Cross-entropy of bin logits `(b, h, w, Q)` against soft targets `(b, h, w, Q)`, per pixel
    `(b, h, w)`; `fit` multiplies it by the per-pixel rebalancing weights (Zhang et al. 2016)."""
    log_p = keras.ops.log_softmax(keras.ops.cast(y_pred, "float32"), axis=-1)
    return -keras.ops.sum(keras.ops.cast(y_true, "float32") * log_p, axis=-1)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalized 1-D Gaussian of standard deviation `sigma` px, cut at 2 sigma: `(2 r + 1,)`."""
    radius = max(1, int(round(2 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    return (kernel / kernel.sum()).astype(np.float32)


def blur(maps, sigma: float):
    """Gaussian blur of `(b, h, w, c)` maps, each channel on its own: a fixed depthwise
    convolution, as two 1-D passes (rows, then columns); zeros beyond the border."""
    maps = tf.cast(maps, tf.float32)
    channels = maps.shape[-1]
    k = tf.constant(gaussian_kernel(sigma))
    rows = tf.tile(tf.reshape(k, (1, -1, 1, 1)), (1, 1, channels, 1))  # (1, 2r+1, c, 1)
    cols = tf.tile(tf.reshape(k, (-1, 1, 1, 1)), (1, 1, channels, 1))  # (2r+1, 1, c, 1)
    x = tf.nn.depthwise_conv2d(maps, rows, strides=(1, 1, 1, 1), padding="SAME")
    return tf.nn.depthwise_conv2d(x, cols, strides=(1, 1, 1, 1), padding="SAME")


@keras.saving.register_keras_serializable(package="colornet")
def blurred_distance(y_true, y_pred):
    """Dahl's loss: the mean of the squared distance of two color maps `(b, h, w, c)` and of
    their squared distances after Gaussian blurs of 3 and 5 px, per pixel `(b, h, w)`.

    The blurred terms compare colors over a neighbourhood, so a color put a few pixels off
    costs less than one of the wrong hue, and the gradient is smoother
    (https://tinyclouds.org/colorize).
    """
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.cast(y_pred, tf.float32)
    terms = [tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)]
    for sigma in BLUR_SIGMAS:
        terms.append(tf.reduce_mean(tf.square(blur(y_true, sigma) - blur(y_pred, sigma)), axis=-1))
    return tf.add_n(terms) / len(terms)
