"""The pix2pix U-Net generator, trained with L1 alone (`unet`) or against a PatchGAN (`unet-gan`).

Phillip Isola, Jun-Yan Zhu, Tinghui Zhou, Alexei A. Efros, "Image-to-Image Translation with
Conditional Adversarial Networks", CVPR 2017, https://phillipi.github.io/pix2pix/ (the
generator as in TensorFlow's pix2pix tutorial).

An encoder of 4x4 stride-2 convolutions halves the photo `depth` times, down to a 1x1
bottleneck at the training size (7 times at 128 px, 8 at 256 px); a decoder of transposed
convolutions doubles it back, and each decoder step also gets the encoder's features at its
size (the skip connections), so the fine detail need not pass through the bottleneck. Colors
are predicted in Lab (ab) or, with `color_space="ycrcb"`, as JPEG's Cr and Cb.

Two designs share this network: `unet` trains it with an L1 loss (stage 1); `unet-gan`
(stage 2) trains it against the PatchGAN discriminator of `colornet.models.patchgan` in a
conditional GAN (`colornet.models.gan`), usually starting from the `unet` weights.
"""

import keras
from keras import layers

from colornet import lite0
from colornet.codecs import LabTanhCodec, YCrCbCodec
from colornet.models.gan import L1_WEIGHT, ConditionalGAN
from colornet.models.layers import (
    TRAIN_ENCODER_OPTION,
    WIDTH_OPTION,
    GrayToRGB,
    build_imagenet_backbone,
    check_input_size,
    copy_imagenet_weights,
    freeze_backbone,
    pix2pix_init,
    scaled,
)
from colornet.models.patchgan import build_patchgan
from colornet.models.spec import Design, Option, Setup, register

DEPTH = 7  # 1x1 bottleneck at 128 px
MAX_DEPTH = 8  # pix2pix's generator: 1x1 at 256 px
COLOR_SPACES = ("lab", "ycrcb")

# ImageNet backbones as the encoder, by the name `colornet.pretrained` (or `colornet.lite0`) gives
# them: the layers whose outputs the decoder takes, at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input
# (the last is the bottleneck). EfficientNet-Lite0 and MobileNetV2 at alpha 0.35 have their
# ImageNet weights committed in weights/, so they need no download.
MOBILENET_TAPS = [
    "block_1_expand_relu",
    "block_3_expand_relu",
    "block_6_expand_relu",
    "block_13_expand_relu",
    "block_16_project",
]
ENCODERS = {
    "mobilenetv2": ("MobileNetV2", MOBILENET_TAPS),
    "resnet50v2": (
        "ResNet50V2",
        ["conv1_conv", "conv2_block3_1_relu", "conv3_block4_1_relu", "conv4_block6_1_relu", "post_relu"],
    ),
    "mobilenetv2-0.35": ("MobileNetV2", MOBILENET_TAPS),
    "efficientnet-lite0": ("EfficientNet-Lite0", list(lite0.TAPS)),
}  # fmt: skip
ENCODER_DEPTH = 5  # the backbones halve the size five times


def encoder_filters(depth: int, width: float = 1.0) -> list[int]:
    """Filters of the `depth` encoder steps: 64, 128, 256, then 512."""
    f = scaled(width)
    return [f(min(512, 64 * 2**i)) for i in range(depth)]


def check_unet_options(depth: int, color_space: str, encoder: str = "none") -> None:
    if not isinstance(depth, int) or not 3 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be an integer from 3 to {MAX_DEPTH}, got {depth!r}.")
    if color_space not in COLOR_SPACES:
        raise ValueError(f"color_space must be one of {', '.join(COLOR_SPACES)}, got {color_space!r}.")
    if encoder != "none" and encoder not in ENCODERS:
        raise ValueError(f"encoder must be none or one of {', '.join(ENCODERS)}, got {encoder!r}.")
    if encoder != "none" and depth != ENCODER_DEPTH:
        raise ValueError(
            f"the {encoder} encoder halves the size {ENCODER_DEPTH} times; depth must be 5, got {depth}."
        )


def backbone_name(encoder: str) -> str:
    """The name of the encoder's backbone model inside the network (`mobilenetv2_035`)."""
    return encoder.replace("-", "_").replace(".", "")


def build_encoder(encoder: str, input_size, color_space: str, name: str) -> keras.Model:
    """An ImageNet backbone (random weights: `load_encoder_weights` fills them) as a model from
    the gray input `(b, h, w, 1)` to its five feature maps, finest first."""
    _, taps = ENCODERS[encoder]
    gray = keras.Input((input_size, input_size, 1), name=f"{name}_encoder_in")
    rgb = GrayToRGB(color_space, name=f"{name}_encoder_rgb")(gray)  # (b, h, w, 3) in [-1, 1]
    if encoder == "efficientnet-lite0":
        rgb = layers.Rescaling(127.5, offset=127.5, name=f"{name}_encoder_rgb255")(rgb)  # its 0-255
    backbone = build_imagenet_backbone(encoder, (input_size, input_size, 3))
    features = keras.Model(
        backbone.input, [backbone.get_layer(t).output for t in taps], name=backbone_name(encoder)
    )
    return keras.Model(gray, features(rgb), name=f"{name}_encoder")


def load_encoder_weights(model: keras.Model, weights) -> str:
    """Put ImageNet weights (`"imagenet"`: from `weights/` or ~/.keras/models, else a Keras
    download; or a path to the backbone's weights file) into the network's ImageNet encoder
    (`colornet.pretrained`; EfficientNet-Lite0's and MobileNetV2 0.35's are committed in
    `weights/`). Returns what was loaded, for the run's first line.

    Raises:
        WeightsError: offline, or a file that is not that backbone's weights: one line that
            says how to get the file, or to train the encoder from scratch.
    """
    try:
        encoder = model.get_layer(f"{model.name}_encoder")
    except ValueError:
        return None  # pix2pix's own encoder: nothing pretrained
    backbone = encoder.layers[-1]  # the backbone model inside
    if weights in (None, "none"):
        return f"{backbone.name} encoder trained from scratch (no ImageNet weights)"
    state = "trainable" if backbone.trainable else "frozen"
    name = next(key for key in ENCODERS if backbone_name(key) == backbone.name)
    note = copy_imagenet_weights(backbone, name, weights)
    return f"{note.replace(' from ', ' encoder from ', 1)} ({state})"


def build_unet(
    input_size: int | None = None,
    depth: int = DEPTH,
    width: float = 1.0,
    color_space: str = "lab",
    encoder: str = "none",
    train_encoder: bool = False,
    name: str = "unet",
) -> keras.Model:
    """The pix2pix U-Net generator.

    Args:
        input_size: side of the square input, a multiple of `2 ** depth`, or None for any
            size (height and width each a multiple of `2 ** depth`).
        depth: encoder steps (each halves the size): 7 reaches 1x1 at 128 px, 8 at 256 px.
        width: multiplies every layer's filters (1.0 is pix2pix's 64 ... 512).
        color_space: `lab` (L in, ab out) or `ycrcb` (Y in, Cr and Cb out); the codec
            (`colornet.codecs`) converts, so this only names what the network learns.
        encoder: `none` (pix2pix's encoder), or an ImageNet network as the encoder (the gray
            photo repeated in three channels), its feature maps at 1/2 ... 1/32 as the skips,
            `depth` 5: `mobilenetv2` / `resnet50v2` (keras.applications; their weights are
            downloaded), `mobilenetv2-0.35` / `efficientnet-lite0` (weights committed in
            `weights/`). Built with random weights; training loads ImageNet's
            (`load_encoder_weights`).
        train_encoder: with an ImageNet encoder, train its weights too; False freezes them. Its
            batch normalization keeps ImageNet's statistics either way.
        name: model name, also the prefix of every layer name.

    Returns:
        A `keras.Model` from L (or Y) `(b, h, w, 1)` in [-1, 1] to two channels
        `(b, h, w, 2)` in [-1, 1] (tanh).

    Example:
        >>> model = build_unet(depth=4, width=0.25)
        >>> model.output_shape
        (None, None, None, 2)
    """
    check_unet_options(depth, color_space, encoder)
    check_input_size(input_size, 2**depth)
    filters = encoder_filters(depth, width)
    inputs = keras.Input((input_size, input_size, 1), name=f"{name}_in")
    x, skips = inputs, []
    if encoder != "none":
        backbone = build_encoder(encoder, input_size, color_space, name)
        freeze_backbone(backbone, train_encoder)
        skips = list(backbone(inputs))  # 1/2 ... 1/32
        x = skips[-1]
    for i, n in enumerate(filters if encoder == "none" else [], start=1):  # (b, h / 2^i, w / 2^i, n)
        x = layers.Conv2D(
            n,
            4,
            strides=2,
            padding="same",
            kernel_initializer=pix2pix_init(),
            use_bias=False,
            name=f"{name}_down{i}",
        )(x)
        if i > 1:  # pix2pix: no normalization on the first layer
            x = layers.BatchNormalization(name=f"{name}_down{i}_bn")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"{name}_down{i}_lrelu")(x)  # Keras' default is 0.3
        skips.append(x)
    for j, (n, skip) in enumerate(zip(reversed(filters[:-1]), reversed(skips[:-1])), start=1):
        x = layers.Conv2DTranspose(
            n,
            4,
            strides=2,
            padding="same",
            kernel_initializer=pix2pix_init(),
            use_bias=False,
            name=f"{name}_up{j}",
        )(x)
        x = layers.BatchNormalization(name=f"{name}_up{j}_bn")(x)
        if j <= 3:  # the three innermost decoder steps
            x = layers.Dropout(0.5, name=f"{name}_up{j}_dropout")(x)
        x = layers.ReLU(name=f"{name}_up{j}_relu")(x)
        x = layers.Concatenate(name=f"{name}_skip{j}")([x, skip])  # (b, h / 2^(depth-j), ..., 2n)
    outputs = layers.Conv2DTranspose(  # float32 under mixed precision
        2, 4, strides=2, padding="same", kernel_initializer=pix2pix_init(), activation="tanh",
        name=f"{name}_out", dtype="float32",
    )(x)  # fmt: skip
    return keras.Model(inputs, outputs, name=name)


def build_unet_gan(
    input_size: int | None = None,
    depth: int = DEPTH,
    width: float = 1.0,
    color_space: str = "lab",
    encoder: str = "none",
    train_encoder: bool = False,
    l1_weight: float = L1_WEIGHT,
    name: str = "unet-gan",
) -> keras.Model:
    """The `unet-gan` design's network: the same U-Net as `build_unet` (its weights load both
    ways). `l1_weight` (lambda) is the GAN's: generator loss = GAN loss + lambda * L1. It does
    not change the network; it is an option so that the weights' JSON records it, and a
    resumed run with another lambda is refused."""
    if not 0 <= l1_weight < float("inf"):
        raise ValueError(f"l1_weight must be a number >= 0, got {l1_weight}.")
    return build_unet(
        input_size, depth=depth, width=width, color_space=color_space, encoder=encoder,
        train_encoder=train_encoder, name=name,
    )  # fmt: skip


def setup_for(options: dict) -> Setup:
    """Lab (tanh ab / 128) or, with `color_space="ycrcb"`, Cr and Cb; L1; sizes a multiple of
    2^depth, the bottleneck's scale."""
    codec = YCrCbCodec() if options.get("color_space", "lab") == "ycrcb" else LabTanhCodec()
    return Setup(codec=codec, loss="mae", size_multiple=2 ** options.get("depth", DEPTH))


def depth_for_size(options: dict, size: int) -> dict:
    """The deepest U-Net (at most 8) whose bottleneck a `size` crop reaches exactly (7 at 128
    px, 8 at 256, 6 at 192), unless `depth` is given; 5 with a keras.applications encoder."""
    if options.get("encoder", "none") != "none":
        return {"depth": ENCODER_DEPTH, **options}
    if "depth" in options or size < 1:
        return options
    twos = 0
    while size % 2 == 0 and twos < MAX_DEPTH:
        size, twos = size // 2, twos + 1
    return {**options, "depth": max(3, twos)}


def gan_options_for_size(options: dict, size: int) -> dict:
    """`depth_for_size`, and a size the discriminator can judge (its grid is size / 8 - 2)."""
    if size < 32:
        raise ValueError(
            f"--size must be at least 32 for unet-gan (its discriminator judges 70 px patches), got {size}."
        )
    return depth_for_size(options, size)


def gan_trainer(generator: keras.Model, options: dict, codec=None) -> keras.Model:
    return ConditionalGAN(
        generator,
        build_patchgan(width=options.get("width", 1.0)),
        l1_weight=options.get("l1_weight", L1_WEIGHT),
        name="unet-gan_trainer",
    )


DEPTH_OPTION = Option(
    "depth",
    "encoder steps, each halving the size (default: as many as --size allows, at most 8: 7 at 128 px)",
    "whole",
)
COLOR_SPACE_OPTION = Option(
    "color_space", "predict Lab ab, or Cr and Cb from Y (default: lab)", choices=COLOR_SPACES
)
ENCODER_OPTION = Option(
    "encoder",
    "an ImageNet network as the encoder (default: none, pix2pix's own; mobilenetv2-0.35 and "
    "efficientnet-lite0 have their weights in weights/)",
    choices=("none", *ENCODERS),
)
L1_WEIGHT_OPTION = Option(
    "l1_weight", "lambda, the L1 term's weight next to the GAN loss (default: 100)", "positive"
)

_COMMON = dict(setup=setup_for, load_pretrained=load_encoder_weights)

UNET = register(
    Design(
        name="unet",
        build=build_unet,
        options=(DEPTH_OPTION, WIDTH_OPTION, COLOR_SPACE_OPTION, ENCODER_OPTION, TRAIN_ENCODER_OPTION),
        tiny_options={"depth": 3, "width": 0.0625},
        loads=("unet-gan",),
        options_for_size=depth_for_size,
        summary="pix2pix U-Net trained with L1, in Lab or YCrCb (stage 1)",
        **_COMMON,
    )
)

UNET_GAN = register(
    Design(
        name="unet-gan",
        build=build_unet_gan,
        options=(
            DEPTH_OPTION,
            WIDTH_OPTION,
            COLOR_SPACE_OPTION,
            ENCODER_OPTION,
            TRAIN_ENCODER_OPTION,
            L1_WEIGHT_OPTION,
        ),  # fmt: skip
        tiny_options={"depth": 3, "width": 0.0625},
        training_model=gan_trainer,
        options_for_size=gan_options_for_size,
        loads=("unet",),
        lr=2e-4,
        summary="the U-Net against a PatchGAN discriminator, L1 + GAN loss (pix2pix, stage 2)",
        **_COMMON,
    )
)
