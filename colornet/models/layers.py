"""Building blocks shared by several designs."""

import keras
from keras import layers, ops


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
