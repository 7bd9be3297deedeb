"""Global and local features with scene classification (Iizuka, Simo-Serra and Ishikawa 2016).

Satoshi Iizuka, Edgar Simo-Serra, Hiroshi Ishikawa, "Let there be Color!: Joint End-to-end
Learning of Global and Local Image Priors for Automatic Image Colorization with Simultaneous
Classification", SIGGRAPH 2016, https://iizuka.cs.tsukuba.ac.jp/projects/colorization/en/

Four networks: a low-level network shared by two paths; a mid-level network on the photo
at its own size (local features); a global network on the same photo resized to a fixed
square (one vector for the whole picture, also used to classify the scene); a fusion layer
that puts the global vector at every position of the local features; and the colorization
network that upsamples to the input size. The global input may come from another photo:
its global features then color this one ("style transfer").
"""

from dataclasses import dataclass
from typing import ClassVar

import keras
import tensorflow as tf
from keras import layers

from colornet.codecs import Codec
from colornet.color import AB_SCALE, normalize_l
from colornet.models.layers import (
    WIDTH_OPTION,
    RepeatOverGrid,
    ResizeTo,
    check_input_size,
    conv_block,
    scaled,
)
from colornet.models.spec import Design, Option, Setup, register

GLOBAL_SIZE = 128  # side of the global network's input (224 in the paper; smaller is faster on a CPU)
CLASS_LOSS_WEIGHT = 1 / 300  # alpha in the paper: loss = MSE(ab) + alpha * cross-entropy


def build_low_level(width: float = 1.0, batch_norm: bool = True, name: str = "iizuka") -> keras.Model:
    """The low-level network, shared by the local and the global paths: L -> features at 1/8."""
    f = scaled(width)
    inputs = keras.Input((None, None, 1), name=f"{name}_low_in")
    x = conv_block(inputs, f(64), f"{name}_low1", strides=2, batch_norm=batch_norm)  # (b, h/2, w/2, 64)
    x = conv_block(x, f(128), f"{name}_low2", batch_norm=batch_norm)
    x = conv_block(x, f(128), f"{name}_low3", strides=2, batch_norm=batch_norm)  # (b, h/4, w/4, 128)
    x = conv_block(x, f(256), f"{name}_low4", batch_norm=batch_norm)
    x = conv_block(x, f(256), f"{name}_low5", strides=2, batch_norm=batch_norm)  # (b, h/8, w/8, 256)
    x = conv_block(x, f(512), f"{name}_low6", batch_norm=batch_norm)  # (b, h/8, w/8, 512)
    return keras.Model(inputs, x, name=f"{name}_low")


def build_iizuka(
    input_size: int | None = None,
    n_classes: int = 0,
    global_size: int = GLOBAL_SIZE,
    width: float = 1.0,
    batch_norm: bool = True,
    name: str = "iizuka",
    class_weight: float = CLASS_LOSS_WEIGHT,
) -> keras.Model:
    """The paper's network: low-level (shared), mid-level, global, fusion, colorization, classification.

    Args:
        input_size: side of the square local input, a multiple of 8, or None for any size
            (height and width each a multiple of 8).
        n_classes: scene classes of the classification head; 0 for none.
        global_size: the square the global path sees the photo at, a multiple of 32.
        width: multiplies every layer's filter and unit count (1.0 is the paper's network).
        batch_norm: batch normalization after each convolution (as in the paper).
        name: model name, also the prefix of every layer name.
        class_weight: the class loss's weight in training, alpha in the paper (1/300). It does
            not change the network; it is a builder option so that the JSON beside the weights
            records it and a run resumed or fine-tuned from them keeps it.

    Returns:
        A `keras.Model` taking `[L (b, h, w, 1), L for the global path (b, h', w', 1)]`, both
        normalized to [-1, 1] (the second is resized to `global_size` inside the model), and
        returning ab mapped to [0, 1] `(b, h, w, 2)` (sigmoid), or with `n_classes` a dict
        `{"ab": ..., "class": logits (b, n_classes)}`.

    Example:
        >>> model = build_iizuka(n_classes=6, width=0.25)
        >>> [tuple(t.shape) for t in model.inputs]
        [(None, None, None, 1), (None, None, None, 1)]
    """
    check_input_size(input_size, 8)
    if global_size < 32 or global_size % 32:
        raise ValueError(f"global_size must be a multiple of 32, got {global_size}.")
    if n_classes < 0 or n_classes == 1:
        raise ValueError(f"n_classes must be 0 (no head) or at least 2, got {n_classes}.")
    if not 0 <= class_weight < float("inf"):
        raise ValueError(f"class_weight must be a number >= 0, got {class_weight}.")
    f = scaled(width)
    local_in = keras.Input((input_size, input_size, 1), name=f"{name}_l")  # (b, h, w, 1)
    global_in = keras.Input((None, None, 1), name=f"{name}_global_l")  # (b, h', w', 1), any size
    low = build_low_level(width, batch_norm, name)  # one set of weights for both paths

    # Local path: mid-level features at 1/8 of the photo's own size
    x = low(local_in)  # (b, h/8, w/8, 512)
    x = conv_block(x, f(512), f"{name}_mid1", batch_norm=batch_norm)
    mid = conv_block(x, f(256), f"{name}_mid2", batch_norm=batch_norm)  # (b, h/8, w/8, 256)

    # Global path: the whole photo at a fixed square -> one vector
    g = ResizeTo(global_size, global_size, name=f"{name}_global_resize")(global_in)
    g = low(g)  # (b, G/8, G/8, 512)
    g = conv_block(g, f(512), f"{name}_glob1", strides=2, batch_norm=batch_norm)  # (b, G/16, G/16, 512)
    g = conv_block(g, f(512), f"{name}_glob2", batch_norm=batch_norm)
    g = conv_block(g, f(512), f"{name}_glob3", strides=2, batch_norm=batch_norm)  # (b, G/32, G/32, 512)
    g = conv_block(g, f(512), f"{name}_glob4", batch_norm=batch_norm)
    g = layers.Flatten(name=f"{name}_glob_flat")(g)
    g = layers.Dense(f(1024), activation="relu", name=f"{name}_glob_fc1")(g)
    g512 = layers.Dense(f(512), activation="relu", name=f"{name}_glob_fc2")(g)  # (b, 512)
    g256 = layers.Dense(f(256), activation="relu", name=f"{name}_glob_fc3")(g512)  # (b, 256)

    # Fusion: the global vector at every position of the local features
    repeated = RepeatOverGrid(name=f"{name}_repeat")([mid, g256])  # (b, h/8, w/8, 256)
    x = layers.Concatenate(name=f"{name}_concat")([mid, repeated])  # (b, h/8, w/8, 512)
    x = conv_block(x, f(256), f"{name}_fusion", kernel_size=1, batch_norm=batch_norm)

    # Colorization: back up to the input size
    x = conv_block(x, f(128), f"{name}_col1", batch_norm=batch_norm)
    x = layers.UpSampling2D(2, name=f"{name}_up1")(x)  # (b, h/4, w/4, 128)
    x = conv_block(x, f(64), f"{name}_col2", batch_norm=batch_norm)
    x = conv_block(x, f(64), f"{name}_col3", batch_norm=batch_norm)
    x = layers.UpSampling2D(2, name=f"{name}_up2")(x)  # (b, h/2, w/2, 64)
    x = conv_block(x, f(32), f"{name}_col4", batch_norm=batch_norm)
    # Output layers stay float32 under mixed precision
    x = layers.Conv2D(2, 3, padding="same", activation="sigmoid", name=f"{name}_ab", dtype="float32")(x)
    ab = layers.UpSampling2D(2, name=f"{name}_up3", dtype="float32")(x)  # (b, h, w, 2) in [0, 1]
    if not n_classes:
        return keras.Model([local_in, global_in], ab, name=name)

    # Classification from the global features
    c = layers.Dense(f(256), activation="relu", name=f"{name}_class_fc")(g512)
    logits = layers.Dense(n_classes, name=f"{name}_class", dtype="float32")(c)  # (b, n_classes)
    return keras.Model([local_in, global_in], {"ab": ab, "class": logits}, name=name)


@dataclass(frozen=True)
class IizukaCodec(Codec):
    """L twice in (the local path, and the global path's photo: the same one, or a style photo
    given as `extras["style"]`), ab mapped to [0, 1] out; the scene label as a second target.

    Attributes:
        classes: whether the network has the classification head (targets include `class`).
    """

    classes: bool = True
    extra_inputs: tuple = ()
    name: str = "iizuka"
    takes_style: ClassVar[bool] = True  # the global path may see another photo
    gives_classes: ClassVar[bool] = True  # where built with `n_classes`

    def encode_inputs(self, L, extras=None):
        """L `(b, h, w, 1)` in [0, 100] -> (local L, global L), both normalized to [-1, 1]."""
        l_norm = tf.clip_by_value(normalize_l(tf.cast(L, tf.float32)), -1.0, 1.0)
        style = (extras or {}).get("style")
        if style is None:
            return l_norm, l_norm
        style = tf.clip_by_value(normalize_l(tf.cast(style, tf.float32)), -1.0, 1.0)
        if style.shape[0] == 1 and l_norm.shape[0] != 1:
            style = tf.repeat(style, tf.shape(l_norm)[0], axis=0)  # one style photo for the whole batch
        return l_norm, style

    def encode_targets(self, lab, extras=None):
        ab = (tf.cast(lab[..., 1:], tf.float32) / AB_SCALE + 1.0) / 2.0  # (b, h, w, 2) in [0, 1]
        ab = tf.clip_by_value(ab, 0.0, 1.0)
        if not self.classes:
            return ab
        return {"ab": ab, "class": tf.cast(extras["label"], tf.int32)}

    def decode(self, outputs, inputs=None):
        """Network outputs -> ab in Lab units, float32."""
        ab = outputs["ab"] if isinstance(outputs, dict) else outputs
        return (tf.cast(ab, tf.float32) * 2.0 - 1.0) * AB_SCALE

    def class_probabilities(self, outputs):
        """Scene class probabilities `(b, n_classes)`, or None without the head."""
        if not isinstance(outputs, dict):
            return None
        return tf.nn.softmax(tf.cast(outputs["class"], tf.float32), axis=-1)


def setup_for(options: dict) -> Setup:
    """MSE on ab; with a classification head (`n_classes`), plus the cross-entropy of the scene
    class weighted by `class_weight` (1/300)."""
    n_classes = options.get("n_classes", 0)
    codec = IizukaCodec(classes=n_classes > 0)
    if not n_classes:
        return Setup(codec=codec, loss="mse", size_multiple=8)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    weight = float(options.get("class_weight", CLASS_LOSS_WEIGHT))
    loss, weights = {"ab": "mse", "class": cross_entropy}, {"ab": 1.0, "class": weight}
    return Setup(codec=codec, loss=loss, loss_weights=weights, size_multiple=8)


GLOBAL_SIZE_OPTION = Option(
    "global_size", "side of the global path's input, a multiple of 32 (default: 128)", "whole", low=32
)
CLASS_WEIGHT_OPTION = Option(
    "class_weight",
    "weight of the scene class loss next to the color loss (default: 1/300, the paper's)",
    "positive",
)

IIZUKA = register(
    Design(
        name="iizuka",
        build=build_iizuka,
        setup=setup_for,
        options=(
            WIDTH_OPTION,
            GLOBAL_SIZE_OPTION,
            "n_classes",
            CLASS_WEIGHT_OPTION,
        ),  # n_classes: training sets it
        tiny_options={"width": 0.0625, "global_size": 32},
        labels=True,
        summary="global and local features with scene classification (Iizuka et al. 2016)",
    )
)
