"""Full: the article's encoder/decoder with a global image embedding fused in the middle.

Emil Wallner, "Coloring B&W portraits with neural networks" (2017), Full version,
https://blog.floydhub.com/colorizing-b-w-photos-with-neural-networks/
which follows Baldassarre et al., "Deep Koalarization: Image Colorization using
CNNs and Inception-ResNet-v2" (2017), https://arxiv.org/abs/1712.03400
and the fusion layer of Iizuka et al., "Let there be Color!" (SIGGRAPH 2016),
https://iizuka.cs.tsukuba.ac.jp/projects/colorization/en/
"""

import keras
from keras import layers

from colornet.codecs import LabTanhCodec
from colornet.models.layers import (
    BATCH_NORM_OPTION,
    WIDTH_OPTION,
    RepeatOverGrid,
    check_input_size,
    conv_block,
    scaled,
)
from colornet.models.spec import Design, Option, Setup, register

EMBED_DIM = 1000  # ImageNet classes, Inception-ResNet-v2's or EfficientNet-Lite0's
EMBEDDER = "inception_resnet_v2"  # the article's; "efficientnet-lite0" (colornet.embed.EMBEDDERS)
EMBEDDERS = (
    EMBEDDER,
    "efficientnet-lite0",
)  # the names of colornet.embed.EMBEDDERS (not imported here: slow)


def build_fusion(
    input_size: int | None = None,
    embed_dim: int = EMBED_DIM,
    name: str = "full",
    width: float = 1.0,
    batch_norm: bool = False,
    embedder: str = EMBEDDER,
) -> keras.Model:
    """Encoder, fusion with a global embedding, decoder: the article's Full network.

    The encoder brings L down to 1/8 of its size; the embedding (Inception-ResNet-v2's
    1000 ImageNet class probabilities, see `colornet.embed`) is repeated over that
    grid, concatenated with the encoder's 256 feature maps and mixed by a 1x1
    convolution, so that every position knows what the whole picture shows.

    Args:
        input_size: side of the square input, a multiple of 8, or None for any
            size (height and width each a multiple of 8).
        embed_dim: length of the global embedding (1000 for ImageNet classes).
        name: model name, also the prefix of every layer name.
        width: multiplies every layer's filter count (1.0 is the article's network).
        batch_norm: batch normalization after each hidden convolution.
        embedder: the ImageNet classifier whose class probabilities the network learns
            from: "inception_resnet_v2" (the article's) or "efficientnet-lite0". It does
            not change the network; it is an option so that the weights' JSON records it,
            colorizing builds the same embedder, and a resumed run with another is refused.

    Returns:
        A `keras.Model` mapping `[L (b, h, w, 1) in [-1, 1], embedding (b, embed_dim)]`
        to ab `(b, h, w, 2)` / 128.

    Example:
        >>> model = build_fusion(input_size=64)
        >>> [tuple(t.shape) for t in model.inputs]
        [(None, 64, 64, 1), (None, 1000)]
        >>> model.output_shape
        (None, 64, 64, 2)
    """
    check_input_size(input_size, 8)
    from colornet.embed import check_embedder

    check_embedder(embedder)
    f = scaled(width)
    if embed_dim < 1:
        raise ValueError(f"embed_dim must be positive, got {embed_dim}.")

    l_input = keras.Input((input_size, input_size, 1), name=f"{name}_l")  # (b, h, w, 1)
    embed_input = keras.Input((embed_dim,), name=f"{name}_embedding")  # (b, 1000)

    # Encoder
    x = conv_block(l_input, f(64), f"{name}_enc1", strides=2, batch_norm=batch_norm)  # (b, h/2, w/2, 64)
    x = conv_block(x, f(128), f"{name}_enc2", batch_norm=batch_norm)
    x = conv_block(x, f(128), f"{name}_enc3", strides=2, batch_norm=batch_norm)  # (b, h/4, w/4, 128)
    x = conv_block(x, f(256), f"{name}_enc4", batch_norm=batch_norm)
    x = conv_block(x, f(256), f"{name}_enc5", strides=2, batch_norm=batch_norm)  # (b, h/8, w/8, 256)
    x = conv_block(x, f(512), f"{name}_enc6", batch_norm=batch_norm)
    x = conv_block(x, f(512), f"{name}_enc7", batch_norm=batch_norm)  # (b, h/8, w/8, 512)
    encoded = conv_block(x, f(256), f"{name}_enc8", batch_norm=batch_norm)  # (b, h/8, w/8, 256)

    # Fusion: the embedding at every grid position, then a 1x1 convolution mixes it in
    repeated = RepeatOverGrid(name=f"{name}_repeat")([encoded, embed_input])  # (b, h/8, w/8, 1000)
    x = layers.Concatenate(axis=-1, name=f"{name}_concat")([encoded, repeated])  # (b, h/8, w/8, 1256)
    x = conv_block(x, f(256), f"{name}_fusion", kernel_size=1, batch_norm=batch_norm)  # (b, h/8, w/8, 256)

    # Decoder
    x = conv_block(x, f(128), f"{name}_dec1", batch_norm=batch_norm)  # (b, h/8, w/8, 128)
    x = layers.UpSampling2D(2, name=f"{name}_up1")(x)  # (b, h/4, w/4, 128)
    x = conv_block(x, f(64), f"{name}_dec2", batch_norm=batch_norm)
    x = layers.UpSampling2D(2, name=f"{name}_up2")(x)  # (b, h/2, w/2, 64)
    x = conv_block(x, f(32), f"{name}_dec3", batch_norm=batch_norm)
    x = conv_block(x, f(16), f"{name}_dec4", batch_norm=batch_norm)  # (b, h/2, w/2, 16)
    # Output layers stay float32 under mixed precision
    x = layers.Conv2D(2, 3, padding="same", activation="tanh", name=f"{name}_ab", dtype="float32")(
        x
    )  # (b, h/2, w/2, 2)
    ab = layers.UpSampling2D(2, name=f"{name}_up3", dtype="float32")(x)  # (b, h, w, 2)
    return keras.Model([l_input, embed_input], ab, name=name)


def inception_features(weights="imagenet", embedder: str = EMBEDDER, **options):
    """The Full model's extra input: an `Embedder` of the `embedder` classifier (Inception-ResNet-v2
    or EfficientNet-Lite0 class probabilities); `options` go to the `Embedder`."""
    from colornet.embed import Embedder

    return Embedder(weights, backbone=embedder, **options)


embedder_features = inception_features  # the name that says what it is now


def options_for_embedder(options: dict, embedder) -> dict:
    """The `embedder` option of a run given an `Embedder` to train with: the Embedder's backbone
    where the options name none; a one-line `ValueError` where they name another."""
    backbone = getattr(embedder, "backbone", None)
    if backbone is None:  # a feature source of another kind: the options say it
        return options
    if options.get("embedder", backbone) != backbone:
        raise ValueError(
            f"the embedder given is {backbone} but the model options ask for {options['embedder']}; "
            "pass one that agrees."
        )
    return {**options, "embedder": backbone}


EMBEDDER_OPTION = Option(
    "embedder",
    "the ImageNet classifier whose 1000 class probabilities are fused in: Inception-ResNet-v2 (the article's; "
    "Keras downloads its weights) or EfficientNet-Lite0 (weights in weights/, works offline, about 25x "
    "faster) (default: inception_resnet_v2)",
    choices=EMBEDDERS,
)

FULL = register(
    Design(
        name="full",
        build=build_fusion,
        setup=Setup(codec=LabTanhCodec(extra_inputs=("embedding",)), loss="mse", size_multiple=8),
        options=(WIDTH_OPTION, BATCH_NORM_OPTION, EMBEDDER_OPTION),
        tiny_options={"width": 0.125},
        extra_shapes={"embedding": (EMBED_DIM,)},
        features=embedder_features,
        feature_options=("embedder",),
        summary="encoder/decoder with an ImageNet classifier's embedding (Inception-ResNet-v2 or "
        "EfficientNet-Lite0) fused in the middle",
    )
)
