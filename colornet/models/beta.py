"""Beta: the article's encoder/decoder that colors photos it has never seen.

Emil Wallner, "Coloring B&W portraits with neural networks" (2017), Beta version,
https://blog.floydhub.com/colorizing-b-w-photos-with-neural-networks/

With `head="bins"` the same encoder and decoder end, at 1/4 of the input size, in the logits
of the ab bins of Zhang et al. 2016 (`colornet.bins`) instead of a tanh ab map: the same
network learns with either loss, for comparison.
"""

import keras
from keras import layers

from colornet.bins import BIN_LOSS
from colornet.codecs import BinsCodec, LabTanhCodec
from colornet.models.layers import BATCH_NORM_OPTION, WIDTH_OPTION, check_input_size, conv_block, scaled
from colornet.models.spec import Design, Option, Setup, register
from colornet.models.zhang import bin_logits

HEADS = ("ab", "bins")
HEAD_OPTION = Option(
    "head",
    "predict ab (the article's regression) or a distribution over ab bins, trained with the rebalanced "
    "cross-entropy of zhang (default: ab)",
    choices=HEADS,
)


def build_beta(
    input_size: int | None = None,
    width: float = 1.0,
    batch_norm: bool = False,
    name: str = "beta",
    head: str = "ab",
) -> keras.Model:
    """3x3 convolutions with stride 2 instead of pooling, upsampling back, tanh ab out.

    Args:
        input_size: side of the square input, a multiple of 8, or None for any
            size (height and width each a multiple of 8).
        width: multiplies every layer's filter count (1.0 is the article's network).
        batch_norm: batch normalization after each hidden convolution.
        name: model name, also the prefix of every layer name.
        head: `ab` (the article's tanh ab) or `bins` (logits over the ab bins at 1/4 size).

    Returns:
        A `keras.Model` mapping L `(b, h, w, 1)` in [-1, 1] to ab `(b, h, w, 2)` / 128, or with
        `head="bins"` to bin logits `(b, h/4, w/4, Q)`.

    Example:
        >>> model = build_beta(width=0.5)
        >>> model.output_shape
        (None, None, None, 2)
    """
    check_input_size(input_size, 8)
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, not {head!r}.")
    f = scaled(width)

    inputs = keras.Input((input_size, input_size, 1), name=f"{name}_l")  # (b, h, w, 1)
    x = conv_block(inputs, f(64), f"{name}_conv1", batch_norm=batch_norm)
    x = conv_block(x, f(64), f"{name}_conv2", strides=2, batch_norm=batch_norm)  # (b, h/2, w/2, 64)
    x = conv_block(x, f(128), f"{name}_conv3", batch_norm=batch_norm)
    x = conv_block(x, f(128), f"{name}_conv4", strides=2, batch_norm=batch_norm)  # (b, h/4, w/4, 128)
    x = conv_block(x, f(256), f"{name}_conv5", batch_norm=batch_norm)
    x = conv_block(x, f(256), f"{name}_conv6", strides=2, batch_norm=batch_norm)  # (b, h/8, w/8, 256)
    x = conv_block(x, f(512), f"{name}_conv7", batch_norm=batch_norm)  # (b, h/8, w/8, 512)
    x = conv_block(x, f(256), f"{name}_conv8", batch_norm=batch_norm)
    x = conv_block(x, f(128), f"{name}_conv9", batch_norm=batch_norm)
    x = layers.UpSampling2D(2, name=f"{name}_up1")(x)  # (b, h/4, w/4, 128)
    x = conv_block(x, f(64), f"{name}_conv10", batch_norm=batch_norm)
    if head == "bins":
        return keras.Model(inputs, bin_logits(x, name), name=name)  # (b, h/4, w/4, Q)
    x = layers.UpSampling2D(2, name=f"{name}_up2")(x)  # (b, h/2, w/2, 64)
    x = conv_block(x, f(32), f"{name}_conv11", batch_norm=batch_norm)
    # Output layers stay float32 under mixed precision
    x = layers.Conv2D(2, 3, padding="same", activation="tanh", name=f"{name}_ab", dtype="float32")(
        x
    )  # (b, h/2, w/2, 2)
    ab = layers.UpSampling2D(2, name=f"{name}_up3", dtype="float32")(x)  # (b, h, w, 2)
    return keras.Model(inputs, ab, name=name)


def setup_for(options: dict) -> Setup:
    """With `head="bins"`: the bins codec and its cross-entropy; else tanh ab / 128 and MSE."""
    if options.get("head") == "bins":
        return Setup(codec=BinsCodec(), loss=BIN_LOSS, size_multiple=8)
    return Setup(codec=LabTanhCodec(), loss="mse", size_multiple=8)


BETA = register(
    Design(
        name="beta",
        build=build_beta,
        setup=setup_for,
        options=(WIDTH_OPTION, BATCH_NORM_OPTION, HEAD_OPTION),
        tiny_options={"width": 0.125},
        summary="the article's encoder/decoder that colors photos it has never seen",
    )
)
