"""Colorful Image Colorization (Zhang, Isola and Efros 2016): colors as classes.

Richard Zhang, Phillip Isola, Alexei A. Efros, "Colorful Image Colorization", ECCV 2016,
https://richzhang.github.io/colorization/

Eight blocks of 3x3 convolutions, each of the first seven closed by batch normalization;
blocks 1-3 halve the size, blocks 5-6 see wider with a dilation of 2, block 8 doubles the
size back to 1/4 of the input, and a 1x1 convolution gives the logits of the Q ab bins
(`colornet.bins`) at every position. The loss is the cross-entropy against soft-encoded
targets, weighted per pixel to favor rare colors; colors come back through the annealed
mean (`colornet.codecs.BinsCodec`).
"""

import keras
from keras import layers

from colornet.bins import BIN_LOSS, N_BINS
from colornet.codecs import BinsCodec
from colornet.models.layers import WIDTH_OPTION, check_input_size, scaled
from colornet.models.spec import Design, Setup, register

# The paper's blocks: (filters, convolutions, stride of the last one, dilation)
BLOCKS = (
    (64, 2, 2, 1),  # conv1: (b, h/2, w/2, 64)
    (128, 2, 2, 1),  # conv2: (b, h/4, w/4, 128)
    (256, 3, 2, 1),  # conv3: (b, h/8, w/8, 256)
    (512, 3, 1, 1),  # conv4
    (512, 3, 1, 2),  # conv5: dilated
    (512, 3, 1, 2),  # conv6: dilated
    (512, 3, 1, 1),  # conv7: (b, h/8, w/8, 512)
)


def bin_logits(x, name: str, n_bins: int = N_BINS):
    """A 1x1 convolution to the logits of the ab bins, float32 under mixed precision."""
    return layers.Conv2D(n_bins, 1, name=f"{name}_bins", dtype="float32")(x)


def build_zhang(input_size: int | None = None, width: float = 1.0, name: str = "zhang") -> keras.Model:
    """The paper's network, conv1 to conv8 and the bin logits.

    Args:
        input_size: side of the square input, a multiple of 8, or None for any size
            (height and width each a multiple of 8).
        width: multiplies every layer's filter count (1.0 is the paper's network, 32 million
            weights; 0.25 trains on a CPU).
        name: model name, also the prefix of every layer name.

    Returns:
        A `keras.Model` mapping L `(b, h, w, 1)` in [-1, 1] to logits over the Q ab bins
        `(b, h/4, w/4, Q)`.

    Example:
        >>> model = build_zhang(width=0.25)
        >>> model.output_shape
        (None, None, None, 261)
    """
    check_input_size(input_size, 8)
    f = scaled(width)
    inputs = keras.Input((input_size, input_size, 1), name=f"{name}_l")  # (b, h, w, 1)
    x = inputs
    for block, (filters, convs, stride, dilation) in enumerate(BLOCKS, start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(
                f(filters),
                3,
                strides=stride if i == convs else 1,
                dilation_rate=dilation,
                padding="same",
                activation="relu",
                name=f"{name}_conv{block}_{i}",
            )(x)
        x = layers.BatchNormalization(name=f"{name}_conv{block}_bn")(x)
    x = layers.Conv2DTranspose(
        f(256), 4, strides=2, padding="same", activation="relu", name=f"{name}_conv8_1"
    )(x)  # (b, h/4, w/4, 256)
    x = layers.Conv2D(f(256), 3, padding="same", activation="relu", name=f"{name}_conv8_2")(x)
    x = layers.Conv2D(f(256), 3, padding="same", activation="relu", name=f"{name}_conv8_3")(x)
    logits = bin_logits(x, name)  # (b, h/4, w/4, Q)
    return keras.Model(inputs, logits, name=name)


ZHANG = register(
    Design(
        name="zhang",
        build=build_zhang,
        setup=Setup(codec=BinsCodec(), loss=BIN_LOSS, size_multiple=8),
        options=(WIDTH_OPTION,),
        tiny_options={"width": 0.03125},
        summary="colors as classes over ab bins, rebalanced, annealed mean (Zhang et al. 2016)",
    )
)
