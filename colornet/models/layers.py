"""Building blocks shared by several designs, and the options they share (`WIDTH_OPTION`, ...)."""

import keras
import tensorflow as tf
from keras import layers, ops

from colornet.color import denormalize_l, lab_to_rgb
from colornet.lite0 import build_efficientnet_lite0, copy_lite0_weights
from colornet.models.spec import Option
from colornet.pretrained import copy_backbone_weights, get_backbone

# the options several designs take (`colornet.models.spec.Option`)
WIDTH_OPTION = Option(
    "width", "multiply every layer's filters (default: 1.0, the published network)", "positive"
)
BATCH_NORM_OPTION = Option("batch_norm", "batch normalization after each convolution", "switch")
TRAIN_ENCODER_OPTION = Option(
    "train_encoder",
    "train the ImageNet encoder's layers too (default: frozen; always trained with --encoder-weights none)",
    "switch",
)


# --- ImageNet encoders, as the designs build and load them ------------------------------


def build_imagenet_backbone(name: str, input_shape=None) -> keras.Model:
    """An ImageNet classifier without its head, with random weights (`copy_imagenet_weights` fills
    them): `efficientnet-lite0` (`colornet.lite0`, RGB in [0, 255]) or one of `BACKBONES` through
    keras.applications (its own input scaling, `BackboneInput`)."""
    if name == "efficientnet-lite0":
        return build_efficientnet_lite0(include_top=False, input_shape=input_shape)
    app = get_backbone(name)
    return getattr(keras.applications, app.app)(
        include_top=False, weights=None, input_shape=input_shape, **dict(app.kwargs)
    )


def copy_imagenet_weights(target: keras.Model, name: str, weights) -> str:
    """`copy_lite0_weights` for `efficientnet-lite0`, else `copy_backbone_weights`: the note
    `"<network> from ImageNet"` (or from the path given)."""
    if name == "efficientnet-lite0":
        return f"EfficientNet-Lite0 from {copy_lite0_weights(target, weights)}"
    return copy_backbone_weights(target, name, weights)


def freeze_backbone(backbone: keras.Model, train: bool) -> None:
    """Train `backbone`'s weights with the network or not; its batch normalization keeps ImageNet's
    statistics either way (also inside nested models)."""
    backbone.trainable = bool(train)
    pending = list(backbone.layers)
    while pending:
        layer = pending.pop()
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
        elif isinstance(layer, keras.Model):
            pending.extend(layer.layers)


class TrainerModel(keras.Model):
    """A model with a training step of its own around the network it trains (a GAN, a perceptual
    term): its metrics are `self.trackers`, and a run's checkpoint compiles it again with Adam at the
    learning rate it was compiled with (`self.learning_rate`, set by the subclass' `compile`)."""

    trackers: dict
    learning_rate: float

    def get_compile_config(self):
        return {"learning_rate": self.learning_rate, "jit_compile": self.jit_compile}

    def compile_from_config(self, config):
        self.compile(
            keras.optimizers.Adam(config["learning_rate"]), jit_compile=config.get("jit_compile", False)
        )

    @property
    def metrics(self):
        return list(self.trackers.values())


def conv_block(x, filters, name, strides=1, batch_norm=False, kernel_size=3):
    """Convolution + ReLU, or convolution + batch norm + ReLU; layers named from `name`."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        activation=None if batch_norm else "relu",
        name=name,
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.Activation("relu", name=f"{name}_relu")(x)
    return x


def pix2pix_init():
    """pix2pix's weight initialization, N(0, 0.02) (the U-Net and the PatchGAN)."""
    return keras.initializers.RandomNormal(0.0, 0.02)


def check_input_size(input_size, multiple: int = 8) -> None:
    if input_size is not None and (input_size < multiple or input_size % multiple):
        raise ValueError(f"input_size must be a multiple of {multiple}, got {input_size}.")


def scaled(width: float):
    """`f(n)`: a filter count `n` scaled by `width`, at least 1."""
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}.")
    return lambda n: max(1, int(round(n * width)))


@keras.saving.register_keras_serializable(package="colornet")
class RepeatOverGrid(layers.Layer):
    """Copy a vector to every position of a feature map's spatial grid.

    Called on `[grid (b, h, w, c), vector (b, d)]`, returns `(b, h, w, d)`. The
    grid size is read from the feature map at run time, so one model works for
    any input size (the article hard-codes `RepeatVector(32 * 32)` for 256 px).
    """

    def call(self, inputs):
        grid, vector = inputs
        shape = ops.shape(grid)
        vector = ops.cast(vector, grid.dtype)[:, None, None, :]  # (b, 1, 1, d)
        return ops.broadcast_to(vector, (shape[0], shape[1], shape[2], ops.shape(vector)[-1]))

    def compute_output_shape(self, input_shapes):
        grid_shape, vector_shape = input_shapes
        return (grid_shape[0], grid_shape[1], grid_shape[2], vector_shape[-1])


@keras.saving.register_keras_serializable(package="colornet")
class ResizeTo(layers.Layer):
    """Resize images `(b, h, w, c)` of any size to a fixed `(height, width)`, bilinear with antialiasing.

    Unlike `keras.layers.Resizing`, whose `call` defaults to `training=True`, this layer takes
    no `training` argument, so a model that holds it and is called as `model(x)` keeps its
    batch normalization in inference mode.
    """

    def __init__(self, height: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, images):
        return ops.image.resize(images, (self.height, self.width), interpolation="bilinear", antialias=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


@keras.saving.register_keras_serializable(package="colornet")
class GrayToRGB(layers.Layer):
    """A gray photo as the 3-channel RGB input of an ImageNet backbone, in [-1, 1] (the scaling
    of MobileNetV2's and ResNet50V2's `preprocess_input`).

    `source="lab"`: the input is normalized L, `L / 50 - 1`, and becomes the sRGB gray level
    with that L; `source="ycrcb"`: the input is `2 Y - 1`, already that gray level.
    """

    def __init__(self, source: str = "lab", **kwargs):
        super().__init__(**kwargs)
        self.source = source

    def call(self, x):
        if self.source == "lab":
            L = denormalize_l(tf.cast(x, tf.float32))
            x = lab_to_rgb(tf.concat([L, tf.zeros_like(L), tf.zeros_like(L)], axis=-1))[..., :1] * 2.0 - 1.0
        return ops.cast(ops.repeat(x, 3, axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)

    def get_config(self):
        return {**super().get_config(), "source": self.source}


@keras.saving.register_keras_serializable(package="colornet")
class Enlarge(layers.Layer):
    """Enlarge feature maps `(b, h, w, c)` by a whole `factor`, bilinear, at any input size (also
    when height and width are unknown until run time, inside XLA; `UpSampling2D`'s bilinear mode
    is not, in Keras 3.15)."""

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        size = tf.shape(x)[1:3] * self.factor
        return ops.cast(tf.image.resize(tf.cast(x, tf.float32), size, method="bilinear"), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h * self.factor, None if w is None else w * self.factor, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="colornet")
class ResizeLike(layers.Layer):
    """Resize feature maps `(b, h, w, c)` to the height and width of a second tensor, bilinear.

    Called on `[x, like]`: a decoder step that enlarges coarse features to the size of the
    finer skip they join, whatever the input size (an odd size rounds up in each stride-2
    layer of an encoder, so twice the coarse size is not always the fine one)."""

    def call(self, inputs):
        x, like = inputs
        size = tf.shape(like)[1:3]
        return ops.cast(tf.image.resize(tf.cast(x, tf.float32), size, method="bilinear"), self.compute_dtype)

    def compute_output_shape(self, input_shapes):
        x_shape, like_shape = input_shapes
        return (x_shape[0], like_shape[1], like_shape[2], x_shape[-1])


HINT_GAIN = 3.0  # hint colors (a and b / 128) are multiplied by this in `HintPool`: about 1 for vivid colors


@keras.saving.register_keras_serializable(package="colornet")
class HintPool(layers.Layer):
    """Color hints `(b, h, w, 3)` (a and b / 128 where a hint is, the hint mask) -> the same at
    1/`factor` of the size: the mean hint color of each block, whether the block holds a hint, and
    the share of it that does, `(b, h/f, w/f, 4)`. A decoder step at that scale reads them
    (`colornet.models.features` with `hints`)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, hints):
        hints = tf.cast(hints, tf.float32)
        if self.factor > 1:
            pooled = tf.nn.avg_pool2d(hints, self.factor, self.factor, "SAME")
        else:
            pooled = hints
        share = pooled[..., 2:]
        # the mean color of the hinted pixels, a and b / 128 made about 1 for vivid colors (x 3)
        ab = pooled[..., :2] / tf.maximum(share, 1e-6) * HINT_GAIN
        present = tf.cast(share > 0.0, tf.float32)
        return ops.cast(tf.concat([ab * present, present, share], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        h, w = (None if s is None else -(-s // self.factor) for s in (h, w))
        return (b, h, w, 4)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
