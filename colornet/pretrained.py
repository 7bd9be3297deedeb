"""ImageNet backbones from `keras.applications`, in one place: their weights files, where they are
looked for, and the one-line errors when they cannot be had.

    path = imagenet_weights_file("vgg16")            # weights/ or ~/.keras/models, else a Keras download
    vgg = load_backbone("vgg16", "imagenet")         # keras.applications.VGG16 with those weights
    note = copy_backbone_weights(encoder, "vgg16", "imagenet")   # into layers of the same names
    rgb = BackboneInput("vgg16")(y)                  # gray (b, h, w, 1) -> the backbone's own input

`weights` is `"imagenet"` (the file in the project's `weights/` or in `~/.keras/models/` if it is
there, otherwise Keras downloads it; on Colab that just works), a path to the `.h5` file Keras
publishes, or None (random weights). Offline, a missing file, a truncated one or one for another
network each end in one `WeightsError` line that says how to get the right file.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import keras
import tensorflow as tf
from keras import layers, ops

from colornet.color import denormalize_l, lab_to_rgb
from colornet.errors import WeightsError

_KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Backbone:
    """One keras.applications network and its ImageNet weights files.

    Attributes:
        app: the `keras.applications` function (`VGG16`).
        title: its name in messages (`Inception-ResNet-v2`).
        module: its module in `keras.applications`, whose `preprocess_input` it needs.
        no_top: the weights file without the classifier (what an encoder loads), its URL and md5.
        top: the file with the classifier (a network that classifies), its URL and md5.
    """

    app: str
    title: str
    module: str
    no_top: tuple[str, str, str | None]
    top: tuple[str, str, str | None] | None = None
    kwargs: tuple = ()  # more arguments of the keras.applications function, as (name, value) pairs
    offline: str | None = None  # a copy of the no-top weights committed in weights/ (another format)

    def file(self, include_top: bool = False) -> tuple[str, str, str | None]:
        """`(file name, URL, md5 or None)` of the weights with or without the classifier."""
        return self.top if include_top and self.top else self.no_top


def _keras_file(folder: str, name: str, md5: str | None = None):
    return name, _KERAS_URL + folder + "/" + name, md5


BACKBONES = {
    "vgg16": Backbone(
        "VGG16",
        "VGG16",
        "vgg16",
        _keras_file("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
        _keras_file("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
    ),
    "inception_resnet_v2": Backbone(
        "InceptionResNetV2",
        "Inception-ResNet-v2",
        "inception_resnet_v2",
        _keras_file("inception_resnet_v2", "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        _keras_file(
            "inception_resnet_v2",
            "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
            "e693bd0210a403b3192acc6073ad2e96",
        ),
    ),
    "mobilenetv2": Backbone(
        "MobileNetV2",
        "MobileNetV2",
        "mobilenet_v2",
        _keras_file("mobilenet_v2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    ),
    "resnet50v2": Backbone(
        "ResNet50V2",
        "ResNet50V2",
        "resnet_v2",
        _keras_file("resnet", "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ),
}  # fmt: skip


MOBILENET_V2_ALPHAS = (
    "0.35",
    "0.5",
    "0.75",
    "1.0",
    "1.3",
    "1.4",
)  # those Keras publishes ImageNet weights for
# MobileNetV2 at alpha 0.35 without its top, from Teachable Machine exports (../shared/pretrained/README.md)
MOBILENET_V2_035_FILE = "mobilenet_v2_0.35_imagenet_notop.weights.h5"


def mobilenet_v2(alpha: str) -> Backbone:
    """MobileNetV2 at width `alpha` (a string of `MOBILENET_V2_ALPHAS`), 224 px ImageNet weights."""
    if alpha not in MOBILENET_V2_ALPHAS:
        raise ValueError(
            f"MobileNetV2 has ImageNet weights at alpha {', '.join(MOBILENET_V2_ALPHAS)}, not {alpha}."
        )
    return Backbone(
        "MobileNetV2",
        f"MobileNetV2 (alpha {alpha})",
        "mobilenet_v2",
        _keras_file("mobilenet_v2", f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_224_no_top.h5"),
        _keras_file("mobilenet_v2", f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_224.h5"),
        kwargs=(("alpha", float(alpha)),),
        offline=MOBILENET_V2_035_FILE if alpha == "0.35" else None,
    )


def get_backbone(name: str) -> Backbone:
    """A backbone by name: those in `BACKBONES`, and `mobilenetv2-ALPHA` at any alpha Keras publishes
    weights for (`mobilenetv2-0.35`; `mobilenetv2` is alpha 1.0)."""
    if name.startswith("mobilenetv2-"):
        try:
            return mobilenet_v2(name.split("-", 1)[1])
        except ValueError as err:
            raise ValueError(f"unknown backbone {name!r}: {err}") from None
    if name not in BACKBONES:
        raise ValueError(
            f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)} or mobilenetv2-ALPHA "
            f"(ALPHA: {', '.join(MOBILENET_V2_ALPHAS)})."
        )
    return BACKBONES[name]


def default_weights_dir() -> Path:
    """The project's `weights/` folder."""
    return Path(__file__).resolve().parent.parent / "weights"


def keras_models_dir() -> Path:
    """Where Keras keeps downloaded weights: `$KERAS_HOME/models`, by default `~/.keras/models`."""
    return Path(os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))).expanduser() / "models"


def reason(err: Exception) -> str:
    """The useful last part of an exception's first line (Keras wraps download errors)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.split(" -- ")[-1].strip().rstrip(".")[:160]


def local_weights_file(name: str, include_top: bool = False, weights_dir=None) -> str | None:
    """The ImageNet weights file of a backbone if it is already here (in `weights_dir`, default
    the project's `weights/`, or in `~/.keras/models/`), else None; never downloads."""
    backbone = get_backbone(name)
    file = backbone.file(include_top)[0]
    folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    candidates = [folder / file, keras_models_dir() / file]
    if backbone.offline and not include_top:
        candidates.append(default_weights_dir() / backbone.offline)  # committed, checked against SHA256SUMS
    for local in candidates:
        if local.is_file():
            if local.name == backbone.offline:
                check_committed(local)
            return str(local)
    return None


def check_committed(path: Path) -> None:
    """Refuse a weights file committed in `weights/` whose sha256 differs from `weights/SHA256SUMS`,
    in one line that says how to restore it."""
    from colornet.files import sha256

    sums = default_weights_dir() / "SHA256SUMS"
    lines = sums.read_text().splitlines() if sums.is_file() else []
    expected = dict(reversed(line.split()) for line in lines if len(line.split()) == 2)
    if path.name in expected and sha256(path) != expected[path.name]:
        raise WeightsError(
            f"{path}: checksum differs from weights/SHA256SUMS (truncated or corrupt file); "
            f"restore it with `git checkout -- weights/{path.name}`."
        )


def imagenet_weights_file(
    name: str,
    weights="imagenet",
    *,
    include_top: bool = False,
    weights_dir=None,
    flag: str = "--encoder-weights",
) -> str:
    """The local `.h5` file of a backbone's weights: a path as given, or for `"imagenet"` the file
    in `weights_dir` (default the project's `weights/`) or in `~/.keras/models/`, downloaded by
    Keras when it is in neither (on Colab, or wherever there is internet).

    Raises:
        WeightsError: a path that is not a file, or ImageNet weights offline: one line that says
            where the file comes from and where to put it.
    """
    backbone = get_backbone(name)
    file, url, md5 = backbone.file(include_top)
    folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    if weights != "imagenet":
        if not Path(weights).is_file():
            raise WeightsError(
                f"{weights}: {backbone.title} weights file not found; check the path, or put {file} "
                f"(from {url}) in {folder}/ and use {flag} imagenet (or none for random weights)."
            )
        return str(weights)
    local = local_weights_file(name, include_top, folder)
    if local is not None:
        return local
    try:
        return keras.utils.get_file(file, url, cache_subdir="models", file_hash=md5)
    except Exception as err:  # URLError, HTTPError, a failed hash check...
        raise WeightsError(
            f"ImageNet weights for {backbone.title} could not be downloaded ({reason(err)}); download {url} "
            f"on a machine with internet and put it in {folder}/ (or ~/.keras/models/), "
            f"or use {flag} none for random weights."
        ) from None


def load_backbone(
    name: str,
    weights="imagenet",
    *,
    include_top: bool = False,
    input_shape=None,
    weights_dir=None,
    flag: str = "--encoder-weights",
) -> keras.Model:
    """The `keras.applications` network `name` with `weights` (`"imagenet"`, a path, or None).

    Raises:
        WeightsError: weights that cannot be had (see `imagenet_weights_file`), or a file that is
            truncated or holds another network's weights: one line that says how to get the right one.
    """
    backbone = get_backbone(name)
    path = None
    if weights is not None:
        path = imagenet_weights_file(
            name, weights, include_top=include_top, weights_dir=weights_dir, flag=flag
        )
        try:
            with h5py.File(path, "r"):  # a file that is not HDF5 (or cut short) fails here, before the build
                pass
        except OSError as err:
            raise _unusable(name, path, err, include_top, weights_dir, flag) from None
    model = getattr(keras.applications, backbone.app)(
        include_top=include_top, weights=None, input_shape=input_shape, **dict(backbone.kwargs)
    )
    if path is not None:
        try:
            model.load_weights(path)
        except Exception as err:  # truncated data, another network's weights
            raise _unusable(name, path, err, include_top, weights_dir, flag) from None
    return model


def _unusable(name, path, err, include_top, weights_dir, flag) -> WeightsError:
    backbone = get_backbone(name)
    _, url, _ = backbone.file(include_top)
    folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    return WeightsError(
        f"{path}: not usable as {backbone.title} ImageNet weights ({reason(err)}); download {url} again "
        f"into {folder}/, or use {flag} none for random weights."
    )


def copy_backbone_weights(target: keras.Model, name: str, weights, flag: str = "--encoder-weights") -> str:
    """Put a backbone's weights into the layers of `target` that have the same names and shapes
    (a network built from part of it). Returns what was loaded, for the run's first line.

    Raises:
        WeightsError: as `load_backbone`; or `target`'s layers do not have the backbone's shapes.
    """
    app = get_backbone(name).title
    source = load_backbone(name, weights, flag=flag)
    for layer in target.layers:
        if not layer.weights:
            continue
        try:
            values = source.get_layer(layer.name).get_weights()
        except ValueError:
            continue  # a layer the backbone does not have
        if [v.shape for v in values] != [tuple(w.shape) for w in layer.weights]:
            raise WeightsError(
                f"{layer.name}: {app} ImageNet weights fit the network at its full width only; "
                f"build it with width 1, or use {flag} none to train it from scratch."
            )
        layer.set_weights(values)
    return f"{app} from {'ImageNet' if weights == 'imagenet' else weights}"


# --- the backbone's input from a gray photo ------------------------------------------

SOURCES = ("y", "lab", "ycrcb")  # Y in [0, 1]; normalized L, L / 50 - 1; 2 Y - 1


@keras.saving.register_keras_serializable(package="colornet")
class BackboneInput(layers.Layer):
    """A gray photo `(b, h, w, 1)` as a backbone's RGB input `(b, h, w, 3)`: the gray level
    repeated in three channels, then the backbone's own `preprocess_input` (VGG16: 0-255, BGR,
    ImageNet's mean subtracted; Inception and MobileNet: [-1, 1]).

    Args:
        backbone: a name in `BACKBONES`.
        source: what the gray input is: `y` (Y in [0, 1], the sRGB gray level), `ycrcb`
            (`2 Y - 1`) or `lab` (normalized L `L / 50 - 1`, turned into the gray level with that L).
    """

    def __init__(self, backbone: str = "vgg16", source: str = "y", **kwargs):
        super().__init__(**kwargs)
        get_backbone(backbone)
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}.")
        self.backbone, self.source = backbone, source

    def call(self, x):
        x = tf.cast(x, tf.float32)
        if self.source == "lab":
            L = denormalize_l(x)
            x = lab_to_rgb(tf.concat([L, tf.zeros_like(L), tf.zeros_like(L)], axis=-1))[..., :1]
        elif self.source == "ycrcb":
            x = (x + 1.0) / 2.0
        rgb = ops.repeat(x * 255.0, 3, axis=-1)  # (b, h, w, 3) in [0, 255], R = G = B
        module = getattr(keras.applications, get_backbone(self.backbone).module)
        return ops.cast(module.preprocess_input(rgb), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone, "source": self.source}
