"""Colors from an ImageNet classifier's features: the project's default model (`features`).

A network that has learned to tell 1,000 kinds of things apart from photos already knows that
this is grass, that a tiger and this a fire truck; what it knows is in its feature maps. This
design puts a small decoder on the feature maps of EfficientNet-Lite0 (`colornet.lite0`),
trained on ImageNet, and predicts colors as classes over the ab bins (Zhang et al. 2016,
`colornet.bins`): where the features are sure, the predicted distribution is peaked and the
annealed mean gives a vivid color; where they are not, it is spread out and the mean stays
near gray. Two dials at colorize time move between the two: the temperature (`--temperature`)
and the share of the class rebalancing taken back (`--undo-rebalancing`); this design's defaults,
0.7 and 0.9, were chosen on held-out photos for PSNR over gray and colorfulness together, and a
weights file may record its own (`decoding` in its JSON: the provided `features.weights.h5`, trained
with a perceptual term, takes back 0.8).

The encoder sees the gray photo as RGB (R = G = B). Its taps at 1/4, 1/8, 1/16 and 1/32 of
the input feed a U-Net-like decoder (bilinear x2, concatenate the finer tap, 3x3 convolution,
batch norm, ReLU) that ends at 1/4 of the input in the logits of the 261 ab bins, as Zhang's
network does. The encoder starts from ImageNet's weights and is frozen by default; with
`train_encoder` it is fine-tuned too (its batch norm statistics stay ImageNet's).
"""

import keras
import tensorflow as tf
from keras import layers

from colornet.bins import BIN_LOSS, soft_encode
from colornet.codecs import BinsCodec
from colornet.color import AB_SCALE
from colornet.errors import ColornetError
from colornet.hints import CHANNELS, HintBinsCodec
from colornet.lite0 import build_efficientnet_lite0, copy_lite0_weights
from colornet.models.layers import (
    TRAIN_ENCODER_OPTION,
    WIDTH_OPTION,
    GrayToRGB,
    HintPool,
    ResizeLike,
    check_input_size,
    freeze_backbone,
    scaled,
)
from colornet.models.spec import Design, Option, Setup, register
from colornet.models.zhang import bin_logits

SIZE_MULTIPLE = 32  # the deepest tap is at 1/32
ENCODERS = ("efficientnet-lite0",)
# Lite0's taps at 1/4, 1/8, 1/16 and 1/32 (`colornet.lite0.TAPS` without the 1/2 one)
TAPS = ("block2_add", "block4_add", "block10_add", "top_activation")
# Decoder filters after each step, from 1/32 to 1/4, at width 1
DECODER = (256, 192, 128, 96)
HINT_FILTERS = 64  # each decoder step's hint branch, at width 1


def build_encoder(input_size, encoder: str, name: str) -> keras.Model:
    """The backbone from its RGB input in [0, 255] to its four taps, finest first (random weights:
    `load_encoder_weights` fills them)."""
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}.")
    size = (input_size, input_size, 3) if input_size else None
    backbone = build_efficientnet_lite0(include_top=False, input_shape=size)
    return keras.Model(backbone.input, [backbone.get_layer(t).output for t in TAPS], name=f"{name}_encoder")


def build_features(
    input_size: int | None = None,
    width: float = 1.0,
    train_encoder: bool = False,
    encoder: str = "efficientnet-lite0",
    hints: bool = False,
    perceptual: float = 0.0,
    name: str = "features",
) -> keras.Model:
    """The default model: an ImageNet encoder, a decoder over its taps, logits over the ab bins.

    Args:
        input_size: side of the square input, a multiple of 32, or None for any size (height
            and width each a multiple of 32).
        width: multiplies the decoder's filters (256, 192, 128, 96 at 1.0); the encoder is
            Lite0 whatever the width.
        train_encoder: fine-tune the encoder's weights too; False freezes them. Its batch
            normalization keeps ImageNet's statistics either way.
        encoder: the ImageNet backbone (`efficientnet-lite0`).
        hints: take a person's color hints too (Zhang et al. 2017, `colornet.hints`): a second
            input, the hint map `(b, h, w, 3)`, read by a branch at each decoder step
            (`hint_branch`) whose output is added to the step's features, and added to the logits
            of the output cells that hold a hint (`HintLogits`). The branch's last convolution and
            the logits' gain start at zero, so a network built with hints and given the weights of
            one without colors exactly as it did.
        perceptual: the weight of the perceptual term training adds to the cross-entropy
            (`colornet.models.perceptual`; 0: none). It does not change the network; it is an
            option so that the weights' JSON records how they were trained.
        name: model name, also the prefix of every layer name.

    Returns:
        A `keras.Model` from L `(b, h, w, 1)` in [-1, 1] (and, with `hints`, the hint map) to
        logits over the Q ab bins `(b, h/4, w/4, Q)`, float32.

    Example:
        >>> model = build_features(width=0.25)
        >>> model.output_shape
        (None, None, None, 261)
    """
    check_input_size(input_size, SIZE_MULTIPLE)
    if not 0 <= perceptual < float("inf"):
        raise ValueError(f"perceptual must be a number >= 0, got {perceptual}.")
    f = scaled(width)
    inputs = keras.Input((input_size, input_size, 1), name=f"{name}_l")  # (b, h, w, 1)
    gray = GrayToRGB("lab", name=f"{name}_gray_rgb")(inputs)  # (b, h, w, 3) in [-1, 1], R = G = B
    rgb = layers.Rescaling(127.5, offset=127.5, name=f"{name}_rgb255")(gray)  # the backbone's 0-255
    backbone = build_encoder(input_size, encoder, name)
    freeze_backbone(backbone, train_encoder)
    taps = backbone(rgb)  # 1/4 (24), 1/8 (40), 1/16 (112), 1/32 (1280) at the input's scale
    hint_map = keras.Input((input_size, input_size, CHANNELS), name=f"{name}_hints") if hints else None
    x = layers.Conv2D(f(DECODER[0]), 1, use_bias=False, name=f"{name}_dec0")(taps[-1])
    x = layers.ReLU(name=f"{name}_dec0_relu")(layers.BatchNormalization(name=f"{name}_dec0_bn")(x))
    if hints:
        x = hint_branch(x, hint_map, 32, f(HINT_FILTERS), f"{name}_hint0")
    for step, (tap, filters) in enumerate(zip(reversed(taps[:-1]), DECODER[1:]), start=1):
        x = ResizeLike(name=f"{name}_up{step}")([x, tap])  # x2, to the tap's size
        x = layers.Concatenate(name=f"{name}_skip{step}")([x, tap])
        x = layers.Conv2D(f(filters), 3, padding="same", use_bias=False, name=f"{name}_dec{step}")(x)
        x = layers.ReLU(name=f"{name}_dec{step}_relu")(
            layers.BatchNormalization(name=f"{name}_dec{step}_bn")(x)
        )
        if hints:
            x = hint_branch(x, hint_map, 32 >> step, f(HINT_FILTERS), f"{name}_hint{step}")
    x = layers.Conv2D(f(DECODER[-1]), 3, padding="same", activation="relu", name=f"{name}_dec_out")(x)
    logits = bin_logits(x, name)  # (b, h/4, w/4, Q), float32
    if hints:
        logits = HintLogits(name=f"{name}_hint_logits")([logits, hint_map])
    return keras.Model([inputs, hint_map] if hints else inputs, logits, name=name)


@keras.saving.register_keras_serializable(package="colornet")
class HintLogits(layers.Layer):
    """Where a person gave a color, its bins: logits `(b, h/4, w/4, Q)` plus, in each cell of the
    output that holds a hint, `gain * log q`, with q the hint's mean color soft-encoded over the
    bins (`colornet.bins.soft_encode`). `gain` is learned (10 times a weight that starts at zero, so
    that it grows in hundreds of steps, not thousands); the decoder's hint branches spread the hints
    beyond their own cells."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(), initializer="zeros", name="gain")

    def call(self, inputs):
        logits, hints = inputs
        hints = tf.cast(hints, tf.float32)
        pooled = tf.nn.avg_pool2d(hints, 4, 4, "SAME")  # the cells of the output
        share = pooled[..., 2:]
        ab = pooled[..., :2] / tf.maximum(share, 1e-6) * AB_SCALE
        present = tf.cast(share > 0.0, tf.float32)
        q = soft_encode(ab)
        return tf.cast(logits, tf.float32) + 10.0 * self.gain * present * tf.math.log(q + 1e-3)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def hint_branch(x, hint_map, factor: int, filters: int, name: str):
    """`x` plus what the hints at 1/`factor` of the input say to it: the hints pooled to `x`'s
    scale (`HintPool`) through a 3x3 convolution of their own, next to `x`, a 3x3 convolution and
    ReLU, a 1x1 convolution back to `x`'s filters, starting at zero. No biases: where there is
    neither hint nor feature, nothing is added."""
    pooled = ResizeLike(name=f"{name}_fit")([HintPool(factor, name=f"{name}_pool")(hint_map), x])
    h = layers.Conv2D(filters, 3, padding="same", activation="relu", use_bias=False, name=f"{name}_see")(
        pooled
    )
    y = layers.Concatenate(name=f"{name}_join")([x, h])
    y = layers.Conv2D(filters, 3, padding="same", activation="relu", use_bias=False, name=f"{name}_conv")(y)
    y = layers.Conv2D(x.shape[-1], 1, use_bias=False, kernel_initializer="zeros", name=f"{name}_out")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def load_encoder_weights(model: keras.Model, weights) -> str:
    """Put EfficientNet-Lite0's ImageNet weights (`"imagenet"`: the committed
    `weights/efficientnet_lite0.weights.h5`; or a path to such a file) into the encoder; None or
    `"none"` leaves it random. Returns the note for the run's first line.

    Raises:
        WeightsError: a missing, corrupt or foreign weights file, in one line.
    """
    encoder = model.get_layer(f"{model.name}_encoder")
    state = "trainable" if encoder.trainable else "frozen"
    if weights in (None, "none"):
        return f"EfficientNet-Lite0 encoder with random weights ({state})"
    return f"EfficientNet-Lite0 encoder from {copy_lite0_weights(encoder, weights)} ({state})"


# The decoding colorize uses unless told otherwise or a weights file's JSON records its own (`decoding`):
# the annealed mean at 0.7 after taking back 0.9 of the rebalancing, chosen with bench/decoding_sweep.py
# over the first weights of this design trained on the corpus (weights/README.md: PSNR over gray +1.32 dB
# on the corpus' validation photos and +1.27 on BSDS500's test photos, at colorfulness 23.3 and 24.8); the
# paper's decoding (0.38, nothing taken back) is far more colorful and 1-2 dB below gray.
TEMPERATURE, UNDO_REBALANCING = 0.7, 0.9


def setup_for(options: dict) -> Setup:
    """The bins codec at this design's decoding (with a hint input where built with `hints`), its
    cross-entropy, sizes a multiple of 32."""
    kind = HintBinsCodec if options.get("hints") else BinsCodec
    codec = kind(temperature=TEMPERATURE, undo=UNDO_REBALANCING)
    return Setup(codec=codec, loss=BIN_LOSS, size_multiple=SIZE_MULTIPLE)


def training_model(net: keras.Model, options: dict, codec=None) -> keras.Model:
    """`net` itself, or with `perceptual` above 0 a `PerceptualTrainer` that adds the perceptual
    term at this design's decoding (the codec's rebalancing weights, taken back as `colorize` does)."""
    weight = float(options.get("perceptual", 0.0))
    if weight <= 0:
        return net
    from colornet.models.perceptual import PerceptualTrainer

    if options.get("hints"):
        raise ColornetError(
            "--perceptual trains the network without hints; leave out --hints or --perceptual."
        )
    codec = codec if codec is not None else setup_for(options).codec
    return PerceptualTrainer(
        net, weight=weight, temperature=codec.temperature, undo=codec.undo,
        rebalancing=codec.weights(), name="features_trainer",
    )  # fmt: skip


ENCODER_OPTION = Option(
    "encoder",
    "the ImageNet network whose features are decoded (default: efficientnet-lite0)",
    choices=ENCODERS,
)
HINTS_OPTION = Option(
    "hints",
    "take a person's color hints too (Zhang et al. 2017): a hint input, trained on hints simulated from each "
    "photo's true colors; --init with weights of the same model without hints starts from them, its hint "
    "branches at zero",
    "switch",
)
PERCEPTUAL_OPTION = Option(
    "perceptual",
    "add W times a perceptual term to the loss: how far MobileNetV2's features of the colors as colorize "
    "decodes them are from its features of the true colors (default: none)",
    "positive",
    metavar="W",
)

FEATURES = register(
    Design(
        name="features",
        build=build_features,
        setup=setup_for,
        options=(WIDTH_OPTION, TRAIN_ENCODER_OPTION, ENCODER_OPTION, HINTS_OPTION, PERCEPTUAL_OPTION),
        tiny_options={"width": 0.125},
        load_pretrained=load_encoder_weights,
        training_model=training_model,
        summary="ImageNet features (EfficientNet-Lite0) decoded to ab bins: the default model",
    )
)
