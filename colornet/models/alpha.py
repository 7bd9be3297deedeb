"""Alpha: the article's first network, which overfits one photo.

Emil Wallner, "Coloring B&W portraits with neural networks" (2017),
https://blog.floydhub.com/colorizing-b-w-photos-with-neural-networks/
"""

import keras
from keras import layers

from colornet.codecs import LabTanhCodec
from colornet.models.layers import check_input_size
from colornet.models.spec import Design, Setup, register


def build_alpha(input_size: int | None = None, name: str = "alpha") -> keras.Model:
    """Three stride-2 convolutions down, three upsamplings back, tanh ab out.

    Args:
        input_size: side of the square input, a multiple of 8, or None for any
            size (height and width each a multiple of 8).
        name: model name, also the prefix of every layer name.

    Returns:
        A `keras.Model` mapping L `(b, h, w, 1)` in [-1, 1] to ab `(b, h, w, 2)` / 128.

    Example:
        >>> model = build_alpha()
        >>> model.compile(optimizer="rmsprop", loss="mse")
    """
    check_input_size(input_size, 8)
    inputs = keras.Input((input_size, input_size, 1), name=f"{name}_l")  # (b, h, w, 1)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name=f"{name}_conv1")(inputs)  # h/2
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name=f"{name}_conv2")(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name=f"{name}_conv3")(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name=f"{name}_conv4")(x)  # h/4
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name=f"{name}_conv5")(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name=f"{name}_conv6")(
        x
    )  # (b, h/8, w/8, 32)
    x = layers.UpSampling2D(2, name=f"{name}_up1")(x)  # h/4
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name=f"{name}_conv7")(x)
    x = layers.UpSampling2D(2, name=f"{name}_up2")(x)  # h/2
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name=f"{name}_conv8")(x)
    x = layers.UpSampling2D(2, name=f"{name}_up3")(x)  # (b, h, w, 16)
    ab = layers.Conv2D(2, 3, padding="same", activation="tanh", name=f"{name}_ab", dtype="float32")(
        x
    )  # (b, h, w, 2), float32 under mixed precision
    return keras.Model(inputs, ab, name=name)


ALPHA = register(
    Design(
        name="alpha",
        build=build_alpha,
        setup=Setup(codec=LabTanhCodec(), loss="mse", size_multiple=8),
        summary="the article's first network: overfits one photo",
    )
)
