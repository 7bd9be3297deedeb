"""Automatic colorization from VGG16's features: hypercolumns and the residual encoder (Dahl 2016).

Ryan Dahl, "Automatic Colorization" (January 2016), https://tinyclouds.org/colorize

The gray photo goes through VGG16, a classifier trained on ImageNet, up to `block4_conv3`. The
feature maps just before each of its first four max-pools (the taps: `block1_conv2` at full
size, `block2_conv2` at 1/2, `block3_conv3` at 1/4, `block4_conv3` at 1/8) say what each pixel
belongs to at four scales. Two ways to turn them into color:

- `hypercolumn`: every tap resized to the photo's size and stacked (the "hypercolumn" of each
  pixel, 960 features), then two 3x3 convolutions and the output;
- `residual` (the article's "residual encoder"): walk back up the classifier, from the
  coarsest tap, each step a convolution, a bilinear x2 enlargement and the sum with the next
  finer (batch-normalized) tap, down to full size, where the gray photo itself is added.

The network predicts U and V (YUV, `colornet.codecs.YUVCodec`) through a sigmoid, and learns
with the mean of the UV distance and the distances after Gaussian blurs of 3 and 5 px
(`colornet.losses.blurred_distance`). The encoder is VGG16's first four blocks, with layer names
as in `keras.applications.VGG16`, so that ImageNet weights load into them by name
(`load_vgg16_weights`); frozen by default, trainable with `train_encoder`. The article admits
the result: plausible colors on grass and sky, sepia where an object could be any color.

VGG16's ImageNet weights are a download; two ImageNet classifiers whose weights are committed in
`weights/` can take its place (`encoder`): EfficientNet-Lite0 (`colornet.lite0`) and MobileNetV2 at
alpha 0.35. Both halve the photo in their first layer, so their four taps are at 1/2, 1/4, 1/8 and
1/16 (`ENCODER_TAPS`; sizes a multiple of 16). The residual encoder walks back up them the same
way, each tap batch-normalized and brought to the decoder's filters by a 1x1 convolution (VGG16's
taps already have them), then one more bilinear x2 step to full size, where the gray photo is
added as with VGG16. Their batch normalization keeps ImageNet's statistics, also when fine-tuned.
"""

import keras
from keras import layers

from colornet.codecs import YUVCodec
from colornet.lite0 import TAPS as LITE0_TAPS
from colornet.losses import BLURRED
from colornet.models.layers import (
    TRAIN_ENCODER_OPTION,
    WIDTH_OPTION,
    Enlarge,
    build_imagenet_backbone,
    check_input_size,
    copy_imagenet_weights,
    freeze_backbone,
    scaled,
)
from colornet.models.spec import Design, Option, Setup, register
from colornet.pretrained import (
    BackboneInput,
    copy_backbone_weights,
    get_backbone,
)

VARIANTS = ("residual", "hypercolumn")
ENCODERS = ("vgg16", "efficientnet-lite0", "mobilenetv2-0.35")
BN_MOMENTUM = 0.9
SIZE_MULTIPLE = 8  # the deepest tap, block4_conv3, is at 1/8 (three max-pools before it)

# VGG16's first four blocks: (convolutions, filters); the tap is the last convolution of each
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512))
TAPS = tuple(f"block{b}_conv{n}" for b, (n, _) in enumerate(VGG16_BLOCKS, start=1))

# The other encoders' taps, the last layer at 1/2, 1/4, 1/8 and 1/16 of the input (the U-Net's
# first four, `colornet.models.unet`): Lite0's 16, 24, 40 and 112 channels; MobileNetV2 0.35's
# expansions, 48, 48, 96 and 192 channels
ENCODER_TAPS = {
    "efficientnet-lite0": LITE0_TAPS[:4],
    "mobilenetv2-0.35": tuple(f"block_{i}_expand_relu" for i in (1, 3, 6, 13)),
}
# the residual encoder's filters after each step up from their 1/16 tap, to 1/8, 1/4 and 1/2, at width 1
BACKBONE_DECODER = (256, 128, 64, 32)


def build_vgg16_taps(input_size=None, width: float = 1.0, name: str = "dahl_vgg16") -> keras.Model:
    """VGG16's first four blocks, from its RGB input `(b, h, w, 3)` (already preprocessed) to the
    four taps `[(b, h, w, 64), (b, h/2, w/2, 128), (b, h/4, w/4, 256), (b, h/8, w/8, 512)]`.

    At `width` 1 the layers are `keras.applications.VGG16`'s (names, shapes, ReLUs, max-pools),
    so its ImageNet weights load by name; other widths scale every layer's filters (trained from
    scratch only).
    """
    f = scaled(width)
    inputs = keras.Input((input_size, input_size, 3), name=f"{name}_in")
    x, taps = inputs, []
    for block, (convs, filters) in enumerate(VGG16_BLOCKS, start=1):
        if block > 1:
            x = layers.MaxPooling2D(2, strides=2, name=f"block{block - 1}_pool")(x)
        for i in range(1, convs + 1):
            conv = layers.Conv2D(
                f(filters), 3, padding="same", activation="relu", name=f"block{block}_conv{i}"
            )
            x = conv(x)
        taps.append(x)  # (b, h / 2^(block-1), w / 2^(block-1), filters)
    return keras.Model(inputs, taps, name=name)


def encoder_name(encoder: str, name: str = "dahl") -> str:
    """The name of the encoder's model inside the network (`dahl_vgg16`, `dahl_mobilenetv2_035`)."""
    return f"{name}_{encoder.replace('-', '_').replace('.', '')}"


def build_backbone_taps(encoder: str, input_size=None, name: str = "dahl") -> keras.Model:
    """EfficientNet-Lite0 or MobileNetV2 0.35 (random weights: `load_encoder_weights` fills them)
    from its RGB input to its four taps `(b, h / 2^k, w / 2^k, c_k)`, k = 1..4, finest first."""
    backbone = build_imagenet_backbone(encoder, (input_size, input_size, 3))
    taps = [backbone.get_layer(t).output for t in ENCODER_TAPS[encoder]]
    return keras.Model(backbone.input, taps, name=encoder_name(encoder, name))


def build_dahl(
    input_size: int | None = None,
    variant: str = "residual",
    width: float = 1.0,
    train_encoder: bool = False,
    encoder: str = "vgg16",
    name: str = "dahl",
) -> keras.Model:
    """Dahl's colorizer on an ImageNet classifier's taps: the residual encoder, or hypercolumns.

    Args:
        input_size: side of the square input, a multiple of 8 (16 with `efficientnet-lite0` or
            `mobilenetv2-0.35`), or None for any size (height and width each such a multiple).
        variant: `residual` (the article's residual encoder) or `hypercolumn`.
        width: multiplies every layer's filters, encoder and decoder (the residual path adds
            each tap to the decoder, so they go together). 1.0 is VGG16, the only width its
            ImageNet weights fit; less trains from scratch on a CPU and makes tiny test networks.
            With the other encoders it multiplies the decoder's filters only.
        train_encoder: train the encoder's layers too; False freezes them (with ImageNet weights,
            the article's setting). Without ImageNet weights `colornet train` makes them
            trainable whatever this says.
        encoder: `vgg16` (the article's), or `efficientnet-lite0` / `mobilenetv2-0.35`, whose
            ImageNet weights are committed in `weights/` (`load_encoder_weights`).
        name: model name, also the prefix of every layer name.

    Returns:
        A `keras.Model` from Y `(b, h, w, 1)` in [0, 1] to U and V mapped to [0, 1]
        `(b, h, w, 2)` (sigmoid).

    Example:
        >>> model = build_dahl(width=0.25)
        >>> model.get_layer("dahl_vgg16").output_shape[-1]
        (None, None, None, 128)
        >>> model.output_shape
        (None, None, None, 2)
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}.")
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}.")
    check_input_size(input_size, size_multiple(encoder))
    if encoder != "vgg16":
        return build_backbone_dahl(input_size, variant, width, train_encoder, encoder, name)
    f = scaled(width)
    gray = keras.Input((input_size, input_size, 1), name=f"{name}_y")  # (b, h, w, 1), Y in [0, 1]
    rgb = BackboneInput("vgg16", "y", name=f"{name}_vgg16_input")(gray)  # (b, h, w, 3), VGG16's own scaling
    encoder = build_vgg16_taps(input_size, width, name=f"{name}_vgg16")
    encoder.trainable = bool(train_encoder)
    taps = encoder(rgb)
    # The taps' scales differ by orders of magnitude (VGG16 sees 0-255 less ImageNet's mean); batch
    # normalization brings them together. Momentum 0.9: the moving statistics that colorize uses
    # follow training within tens of steps, so that even a short run colors sensibly.
    taps = [
        layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_{tap}_bn")(t)
        for tap, t in zip(TAPS, taps)
    ]  # [(b, h, w, 64), (b, h/2, w/2, 128), (b, h/4, w/4, 256), (b, h/8, w/8, 512)] at width 1
    if variant == "residual":
        x = layers.Conv2D(f(256), 1, activation="relu", name=f"{name}_res4")(taps[3])  # (b, h/8, w/8, 256)
        for level, filters in ((3, 128), (2, 64), (1, 3)):  # (b, h / 2^(level-1), w / 2^(level-1), filters)
            x = Enlarge(2, name=f"{name}_up{level}")(x)
            x = layers.Add(name=f"{name}_add{level}")([x, taps[level - 1]])
            x = layers.Conv2D(  # the last one, to 3 channels, is linear: a residual added to the gray photo
                3 if level == 1 else f(filters),
                3,
                padding="same",
                activation=None if level == 1 else "relu",
                name=f"{name}_res{level}",
            )(x)
        gray3 = layers.Concatenate(name=f"{name}_gray3")([gray, gray, gray])  # (b, h, w, 3)
        x = layers.Add(name=f"{name}_add_gray")([x, gray3])  # (b, h, w, 3)
        x = layers.Conv2D(3, 3, padding="same", activation="relu", name=f"{name}_res0")(x)
    else:
        ups = [taps[0]] + [
            Enlarge(2 ** (i - 1), name=f"{name}_hyper_up{i}")(taps[i - 1]) for i in range(2, 5)
        ]
        x = layers.Concatenate(name=f"{name}_hypercolumn")(ups)  # (b, h, w, 960)
        x = layers.Conv2D(f(128), 3, padding="same", activation="relu", name=f"{name}_hyper1")(x)
        x = layers.Conv2D(f(64), 3, padding="same", activation="relu", name=f"{name}_hyper2")(x)
    # The output stays float32 under mixed precision
    uv = layers.Conv2D(2, 3, padding="same", activation="sigmoid", name=f"{name}_uv", dtype="float32")(x)
    return keras.Model(gray, uv, name=name)  # (b, h, w, 2) in [0, 1]


def size_multiple(encoder: str = "vgg16") -> int:
    """What the input's height and width are a multiple of: the deepest tap's scale."""
    return SIZE_MULTIPLE if encoder == "vgg16" else 16


def build_backbone_dahl(input_size, variant, width, train_encoder, encoder, name) -> keras.Model:
    """`build_dahl` on EfficientNet-Lite0's or MobileNetV2 0.35's taps at 1/2, 1/4, 1/8, 1/16."""
    f = scaled(width)
    gray = keras.Input((input_size, input_size, 1), name=f"{name}_y")  # (b, h, w, 1), Y in [0, 1]
    if encoder == "efficientnet-lite0":  # RGB in [0, 255]; Lite0 scales it itself
        rgb = layers.Concatenate(name=f"{name}_gray_rgb")([gray, gray, gray])
        rgb = layers.Rescaling(255.0, name=f"{name}_rgb255")(rgb)
    else:  # MobileNetV2's own scaling, [-1, 1]
        rgb = BackboneInput(encoder, "y", name=f"{name}_backbone_input")(gray)
    backbone = build_backbone_taps(encoder, input_size, name)
    freeze_backbone(backbone, train_encoder)
    tap_names = ENCODER_TAPS[encoder]
    taps = [
        layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_{tap}_bn")(t)
        for tap, t in zip(tap_names, backbone(rgb))
    ]  # (b, h / 2^k, w / 2^k, c_k), k = 1..4
    if variant == "residual":
        x = layers.Conv2D(f(BACKBONE_DECODER[0]), 1, activation="relu", name=f"{name}_res4")(taps[3])
        # each step to (b, h / 2^level, w / 2^level, filters)
        for level, filters in zip((3, 2, 1), BACKBONE_DECODER[1:]):
            x = Enlarge(2, name=f"{name}_up{level}")(x)
            tap = layers.Conv2D(x.shape[-1], 1, name=f"{name}_{tap_names[level - 1]}_proj")(taps[level - 1])
            x = layers.Add(name=f"{name}_add{level}")([x, tap])
            x = layers.Conv2D(f(filters), 3, padding="same", activation="relu", name=f"{name}_res{level}")(x)
        x = Enlarge(2, name=f"{name}_up0")(x)  # (b, h, w, f(32)): full size, where the gray photo is added
        x = layers.Conv2D(3, 3, padding="same", name=f"{name}_res_full")(x)  # linear: a residual
        gray3 = layers.Concatenate(name=f"{name}_gray3")([gray, gray, gray])  # (b, h, w, 3)
        x = layers.Add(name=f"{name}_add_gray")([x, gray3])
        x = layers.Conv2D(3, 3, padding="same", activation="relu", name=f"{name}_res0")(x)
    else:
        ups = [Enlarge(2**k, name=f"{name}_hyper_up{k}")(t) for k, t in enumerate(taps, start=1)]
        x = layers.Concatenate(name=f"{name}_hypercolumn")(ups)  # (b, h, w, sum of c_k)
        x = layers.Conv2D(f(128), 3, padding="same", activation="relu", name=f"{name}_hyper1")(x)
        x = layers.Conv2D(f(64), 3, padding="same", activation="relu", name=f"{name}_hyper2")(x)
    uv = layers.Conv2D(2, 3, padding="same", activation="sigmoid", name=f"{name}_uv", dtype="float32")(x)
    return keras.Model(gray, uv, name=name)  # (b, h, w, 2) in [0, 1]


def load_encoder_weights(model: keras.Model, weights) -> str:
    """Put the encoder's ImageNet weights into the network: VGG16's as `load_vgg16_weights`;
    EfficientNet-Lite0's and MobileNetV2 0.35's from the files committed in `weights/`
    (`"imagenet"`) or a path to such a file; None or `"none"` leaves them random. Returns the
    note for the run's first line.

    Raises:
        WeightsError: a missing, corrupt or foreign weights file, in one line.
    """
    encoder = next(
        e for e in ENCODERS if any(layer.name == encoder_name(e, model.name) for layer in model.layers)
    )
    if encoder == "vgg16":
        return load_vgg16_weights(model, weights)
    backbone = model.get_layer(encoder_name(encoder, model.name))
    title = "EfficientNet-Lite0" if encoder == "efficientnet-lite0" else get_backbone(encoder).title
    if weights in (None, "none"):
        return f"{title} encoder trained from scratch (no ImageNet weights), so it is trainable"
    note = copy_imagenet_weights(backbone, encoder, weights)
    return f"{note}, {'trainable' if backbone.trainable else 'frozen'}"


def setup_for(options: dict) -> Setup:
    """YUV, the blurred distance, sizes a multiple of the encoder's deepest tap (8 or 16)."""
    return Setup(codec=YUVCodec(), loss=BLURRED, size_multiple=size_multiple(options.get("encoder", "vgg16")))


def load_vgg16_weights(model: keras.Model, weights) -> str:
    """Put VGG16's ImageNet weights (`"imagenet"`: from `weights/` or `~/.keras/models/`, else a
    Keras download; or a path to `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`) into the
    network's encoder; None leaves it random. Returns the note for the run's first line.

    Raises:
        WeightsError: offline, a truncated file or another network's, or a network not at
            width 1: one line that says how to get the file or to train from scratch.
    """
    encoder = model.get_layer(f"{model.name}_vgg16")
    if weights in (None, "none"):
        return "VGG16 encoder trained from scratch (no ImageNet weights), so it is trainable"
    note = copy_backbone_weights(encoder, "vgg16", weights)
    return f"{note}, {'trainable' if encoder.trainable else 'frozen'}"


VARIANT_OPTION = Option(
    "variant",
    "the residual encoder, or hypercolumns of the encoder's four taps (default: residual)",
    choices=VARIANTS,
)
ENCODER_OPTION = Option(
    "encoder",
    "the ImageNet network whose taps the residual encoder walks up (default: vgg16, the article's; "
    "efficientnet-lite0 and mobilenetv2-0.35 have their weights in weights/, at 1/2 to 1/16)",
    choices=ENCODERS,
)

DAHL = register(
    Design(
        name="dahl",
        build=build_dahl,
        setup=setup_for,
        options=(VARIANT_OPTION, WIDTH_OPTION, TRAIN_ENCODER_OPTION, ENCODER_OPTION),
        tiny_options={"width": 0.125},
        load_pretrained=load_encoder_weights,
        summary="VGG16 (or Lite0, MobileNetV2) taps, residual encoder or hypercolumns, YUV (Dahl 2016)",
    )
)
