"""A person's color hints carried the rest of the way after the network (`colornet.hints`): what the
network left between each hint's color and its colors at the hint's pixels is added there and, fading
with the distance and with the difference of lightness, to the pixels around it, a joint bilateral filter
guided by L. A hint's color fills the surface it is on and stops where the lightness changes; colors far
from every hint stay the network's.

    ab = spread_hints(ab, L, hints)   # ab (b, h, w, 2), L (b, h, w, 1), hint maps (b, h, w, 3)

Before it, `near_hints` says how near each pixel is to a hint: the network's change under hints is
kept there and fades to the automatic colors far from every hint.
"""

import numpy as np
import tensorflow as tf

from colornet.color import AB_SCALE, L_MAX

# The Gaussian's sigma as a share of the canvas' longer side, how alike in L two pixels must be (L units),
# and how many hint pixels' weight give the whole correction.
SPREAD, SPREAD_L, SPREAD_FULL = 0.2, 4.0, 1.0
# How far the network's own change under hints is kept (a Gaussian's sigma as a share of the canvas'
# longer side) and how many hint pixels keep all of it: a person's point, 5 x 5 on the canvas.
REACH, REACH_FULL = 0.25, 25.0


def _blur(x, sigma: float):
    """A Gaussian of `sigma` pixels (peak 1, not normalized: sums stay counts) over `(b, h, w, c)`."""
    r = max(1, int(3 * sigma))
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
    c = x.shape[-1]
    x = tf.nn.depthwise_conv2d(x, tf.constant(np.tile(g[None, :, None, None], (1, 1, c, 1))), [1] * 4, "SAME")
    return tf.nn.depthwise_conv2d(
        x, tf.constant(np.tile(g[:, None, None, None], (1, 1, c, 1))), [1] * 4, "SAME"
    )


def _sigma(x, share: float, factor: int, what: str) -> float:
    """`share` of the longer side of the canvas `x` `(b, h, w, c)`, in pixels at 1 / `factor` of it."""
    if x.shape[1] is None or x.shape[2] is None:
        raise ValueError(
            f"{what} needs the canvas' size in the tensors' shape; call it eagerly, or in a "
            "tf.function with a fixed input size."
        )
    return max(share * max(int(x.shape[1]), int(x.shape[2])) / factor, 0.5)


def near_hints(hints, reach: float = REACH, factor: int = 4, full: float = REACH_FULL):
    """How near each pixel of hint maps `(b, h, w, 3)` is to a hint, `(b, h, w, 1)` in [0, 1]: the
    hints' pixels counted through a Gaussian of sigma `reach` x the canvas' longer side (at 1 /
    `factor` of the canvas), over `full` (a person's point: 1 at it, fading with the distance;
    a scribble's many pixels reach further). 0 everywhere without hints."""
    mask = tf.cast(hints, tf.float32)[..., 2:]
    small = tf.nn.avg_pool2d(mask, factor, factor, "SAME") * float(factor * factor)
    near = _blur(small, _sigma(mask, reach, factor, "near_hints")) / full
    return tf.clip_by_value(tf.image.resize(near, tf.shape(mask)[1:3], "bilinear"), 0.0, 1.0)


def spread_hints(
    ab,
    L,
    hints,
    spread: float = SPREAD,
    spread_l: float = SPREAD_L,
    factor: int = 4,
    full: float = SPREAD_FULL,
    levels: int = 12,
):
    """The network's colors `ab` `(b, h, w, 2)` (Lab units) under hints `(b, h, w, 3)` -> ab where
    each hint's pixels take the hint's color and the pixels around them of like lightness `L`
    `(b, h, w, 1)` take the same change, fading with the distance (a Gaussian of sigma `spread` x the
    canvas' longer side) and with the difference of L (`spread_l`): a joint bilateral filter of the
    differences between the hints and the network, over a grid of `levels` lightness levels, at 1 /
    `factor` of the canvas (the changes are smooth). Where the hints' weight (their pixels counted
    through both Gaussians) is at least `full`, the whole difference; below, in proportion, so the
    change fades to 0 far from every hint. Without hints, `ab` unchanged."""
    ab, L, hints = (tf.cast(t, tf.float32) for t in (ab, L, hints))
    mask = hints[..., 2:]
    diff = mask * (hints[..., :2] * AB_SCALE - ab)
    centers = tf.constant(np.linspace(0.0, L_MAX, levels), tf.float32)
    w = tf.exp(-0.5 * tf.square((L - centers) / spread_l))  # (b, h, w, levels)
    w = w / tf.reduce_sum(w, axis=-1, keepdims=True)
    stack = tf.concat([diff[..., :1] * w, diff[..., 1:] * w, mask * w], axis=-1)
    size = tf.shape(ab)[1:3]
    small = tf.nn.avg_pool2d(stack, factor, factor, "SAME") * float(factor * factor)  # sums per cell
    blurred = tf.image.resize(_blur(small, _sigma(ab, spread, factor, "spread_hints")), size, "bilinear")
    da, db, weight = (
        tf.reduce_sum(blurred[..., i * levels : (i + 1) * levels] * w, -1, keepdims=True) for i in range(3)
    )
    change = (
        tf.concat([da, db], axis=-1) / tf.maximum(weight, 1e-6) * tf.clip_by_value(weight / full, 0.0, 1.0)
    )
    return ab + change
