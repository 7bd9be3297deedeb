"""The 70x70 PatchGAN discriminator of pix2pix, conditioned on the gray photo.

It does not say whether a whole photo is real: each value of its output grid judges one
70x70 patch of the input (its receptive field), whether those colors, for that gray patch,
look like a real photo's. At 256 px the grid is 30x30; at 128 px, 14x14.
"""

import keras
from keras import layers

from colornet.models.layers import pix2pix_init, scaled

RECEPTIVE_FIELD = 70  # pixels of the input one output value sees


def build_patchgan(width: float = 1.0, name: str = "patchgan") -> keras.Model:
    """C64 (no normalization) - C128 - C256, 4x4 stride 2, then C512 stride 1 and a 1-channel
    4x4 convolution: logits, one per patch.

    Args:
        width: multiplies every layer's filters (1.0 is pix2pix's).
        name: model name, also the prefix of every layer name.

    Returns:
        A `keras.Model` taking `[gray (b, h, w, 1), colors (b, h, w, 2)]` (the generator's
        input and a real or generated output, both in [-1, 1]) and returning logits
        `(b, h / 8 - 2, w / 8 - 2, 1)` (real > 0).
    """
    f = scaled(width)
    gray = keras.Input((None, None, 1), name=f"{name}_gray")
    colors = keras.Input((None, None, 2), name=f"{name}_colors")
    x = layers.Concatenate(name=f"{name}_pair")([gray, colors])  # (b, h, w, 3)
    for i, n in enumerate([f(64), f(128), f(256)], start=1):  # (b, h / 2^i, w / 2^i, n)
        x = layers.Conv2D(
            n,
            4,
            strides=2,
            padding="same",
            kernel_initializer=pix2pix_init(),
            use_bias=False,
            name=f"{name}_c{i}",
        )(x)
        if i > 1:
            x = layers.BatchNormalization(name=f"{name}_c{i}_bn")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"{name}_c{i}_lrelu")(x)
    x = layers.ZeroPadding2D(name=f"{name}_pad4")(x)  # (b, h/8 + 2, w/8 + 2, 256)
    x = layers.Conv2D(f(512), 4, kernel_initializer=pix2pix_init(), use_bias=False, name=f"{name}_c4")(x)
    x = layers.BatchNormalization(name=f"{name}_c4_bn")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name=f"{name}_c4_lrelu")(x)  # (b, h/8 - 1, w/8 - 1, 512)
    x = layers.ZeroPadding2D(name=f"{name}_pad5")(x)
    logits = layers.Conv2D(1, 4, kernel_initializer=pix2pix_init(), name=f"{name}_logits", dtype="float32")(x)
    return keras.Model([gray, colors], logits, name=name)


def patch_of(row: int, col: int, depth_steps: int = 3) -> tuple[int, int, int, int]:
    """The input window `(top, left, bottom, right)` (may reach outside the photo) that output
    value `(row, col)` sees: 70 x 70 pixels."""
    # Walk back through the layers: c5 (k4 s1, pad 1), c4 (k4 s1, pad 1), c3..c1 (k4 s2, 'same').
    top = bottom = row
    left = right = col
    for kernel, stride, pad in [(4, 1, 1), (4, 1, 1)] + [(4, 2, 1)] * depth_steps:
        top, left = top * stride - pad, left * stride - pad
        bottom, right = bottom * stride - pad + kernel - 1, right * stride - pad + kernel - 1
    return top, left, bottom + 1, right + 1
