"""Smaller exports: weights in float16, or the network in int8 (`python -m colornet export --quantize`).

    python -m colornet export --format tflite --quantize int8 --out exported/features_int8
    python -m colornet export --format tflite --quantize int8 --representative my_photos --out exported/mine
    python -m colornet export --format onnx --quantize float16 --out exported/features_onnx16

- `float16` (TFLite and ONNX): the weights and the resize matrices stored in float16 and widened to
  float32 when the model loads; the arithmetic stays float32. Half the file, colors within a small
  fraction of a level.
- `int8` (TFLite): full-integer quantization of the network, weights and activations in int8 (per-channel
  weights), the activations' ranges calibrated on a representative set of gray photos at the export's size
  (`representative_grays`). What surrounds the network stays float32, because 8 bits cannot hold it: L of
  each gray level, resizing and padding, the decoding (an annealed mean over the ab bins), the merge with
  L at full resolution; inside the network, so does the conversion of L to the gray RGB of an ImageNet
  encoder (`GrayToRGB`, a gamma curve). The model takes and returns uint8, as every export does.

The network is the part of the exported graph traced under the name scope `NETWORK_SCOPE`
(`colornet.export._network_ab`); int8 leaves every other tensor in float32 through TFLite's selective
quantization (`tf.lite.experimental.QuantizationDebugger` with denylisted nodes).
"""

import re
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from colornet.console import quiet_native_stderr
from colornet.errors import ColornetError, ImageError, ImageWarning
from colornet.images import find_images, load_rgb8
from colornet.models.layers import GrayToRGB

QUANTIZATIONS = ("float32", "float16", "int8")
ALLOWED = {"saved_model": ("float32",), "tflite": QUANTIZATIONS, "onnx": ("float32", "float16")}
NETWORK_SCOPE = "colornet_network"  # the name scope the network is traced under in an export
FLOAT_LAYERS = (GrayToRGB,)  # layers inside a network that int8 would spoil: color conversions
# scikit-image's sample photos that int8 calibrates on by default (astronaut and coffee are left out:
# the tests and bench/export_quantize.py measure on them)
SAMPLE_PHOTOS = (
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "moon",
    "hubble_deep_field",
    "immunohistochemistry",
    "brick",
    "grass",
    "gravel",
    "clock",
    "page",
)
MAX_REPRESENTATIVE = 64  # photos read from --representative at most, evenly spread over the folder
MIN_FLOAT16_ELEMENTS = 1024  # ONNX: smaller constants (color matrices, biases) stay float32
ONNX_FLOAT16_SUFFIX = "_float16"


def check_quantization(quantize: str, image_format: str, representative=None) -> None:
    """Raise a one-line `ColornetError` for a quantization `image_format` cannot take, an unknown one,
    or a `representative` folder that is not a folder of photos or is given without int8."""
    if quantize not in QUANTIZATIONS:
        raise ColornetError(f"unknown --quantize {quantize!r}; use one of {', '.join(QUANTIZATIONS)}.")
    allowed = ALLOWED.get(image_format, ("float32",))
    if quantize not in allowed:
        if image_format == "onnx":
            raise ColornetError(
                f"--quantize {quantize} is for --format tflite; an onnx export takes float32 or float16."
            )
        raise ColornetError(
            f"--quantize {quantize} is for --format tflite (float16, int8) and onnx (float16); "
            f"a {image_format} export is float32."
        )
    if representative is not None:
        if quantize != "int8":
            raise ColornetError(
                "--representative is the int8 calibration's photos; use it with --quantize int8."
            )
        representative_paths(representative)


def representative_paths(folder) -> list[str]:
    """Up to `MAX_REPRESENTATIVE` photo paths in `folder` (and its subfolders), evenly spread.

    Raises:
        ColornetError: `folder` is not a folder, or holds no photos, in one line.
    """
    if not Path(folder).is_dir():
        raise ColornetError(
            f"--representative {folder}: not a folder; give a folder of photos like those the export will colorize."
        )
    paths = find_images(str(folder))
    if not paths:
        raise ColornetError(
            f"--representative {folder}: no photos in this folder (jpg, png, ...); add some or leave "
            "--representative out to calibrate on scikit-image's sample photos."
        )
    if len(paths) > MAX_REPRESENTATIVE:
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, MAX_REPRESENTATIVE).round().astype(int)]
    return paths


def _fit(gray: np.ndarray, size) -> np.ndarray:
    """A gray uint8 `(h, w)` cropped around its center to the aspect of `size` `(H, W)`, then resized to it."""
    H, W = size
    h, w = gray.shape
    if h * W > w * H:  # taller than the target: crop rows
        keep = max(1, round(w * H / W))
        gray = gray[(h - keep) // 2 : (h - keep) // 2 + keep]
    else:
        keep = max(1, round(h * W / H))
        gray = gray[:, (w - keep) // 2 : (w - keep) // 2 + keep]
    return np.asarray(Image.fromarray(gray).resize((W, H), Image.BICUBIC))


def _gray(photo: np.ndarray) -> np.ndarray:
    """uint8 gray `(h, w)` of a gray `(h, w)`, RGB or RGBA uint8 photo."""
    return np.asarray(Image.fromarray(photo[..., :3]).convert("L")) if photo.ndim == 3 else photo


def representative_grays(size, folder=None) -> tuple[list[np.ndarray], str]:
    """Gray uint8 photos `(H, W)` of `size` for the int8 calibration, and what they are, in words.

    Default: scikit-image's sample photos (`SAMPLE_PHOTOS`) and their mirror images, with four generated
    gradients. With `folder`: the photos in it (`representative_paths`); one that cannot be read is skipped
    with an `ImageWarning` naming it.

    Raises:
        ColornetError: a `folder` without a photo that can be read, in one line.
    """
    if folder is None:
        from skimage import data

        grays = [_fit(_gray(getattr(data, name)()), size) for name in SAMPLE_PHOTOS]
        grays += [g[:, ::-1] for g in grays]
        H, W = size
        y, x = np.mgrid[0:H, 0:W]
        ramps = (x / max(W - 1, 1), y / max(H - 1, 1), (x + y) / max(H + W - 2, 1))
        radial = np.hypot(y - H / 2, x - W / 2) / np.hypot(H / 2, W / 2)
        grays += [np.round(255 * np.clip(r, 0, 1)).astype(np.uint8) for r in (*ramps, radial)]
        return grays, f"{len(SAMPLE_PHOTOS)} scikit-image sample photos, mirrored too, and 4 gradients"
    grays = []
    paths = representative_paths(folder)
    for path in paths:
        try:
            grays.append(_fit(_gray(load_rgb8(path)), size))
        except ImageError as err:
            warnings.warn(f"{err} Skipped in the int8 calibration.", ImageWarning, stacklevel=2)
    if not grays:
        raise ColornetError(
            f"--representative {folder}: none of its {len(paths)} photos could be read; see the warnings above."
        )
    return grays, f"{len(grays)} of the photos in {folder}"


def _tensor_names(model_bytes: bytes) -> list[tuple[str, str]]:
    """`(name, dtype)` of every tensor of a TFLite model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter says it moves to LiteRT
        interpreter = tf.lite.Interpreter(model_content=model_bytes)
    return [(d["name"], np.dtype(d["dtype"]).name) for d in interpreter.get_tensor_details()]


def _kept_float(name: str, float_layers: re.Pattern | None) -> bool:
    """Whether the tensor `name` (fused ops join their names with ';') stays float32 in int8."""
    return any(
        f"{NETWORK_SCOPE}/" not in part or (float_layers is not None and float_layers.search(part))
        for part in name.split(";")
    )


def _float_layer_pattern(network) -> re.Pattern | None:
    names = sorted({layer.name for layer in network._flatten_layers() if isinstance(layer, FLOAT_LAYERS)})
    if not names:
        return None
    return re.compile(rf"/({'|'.join(map(re.escape, names))})(_\d+)?/")


def convert_tflite(converter, quantize: str = "float32", *, network=None, grays=None) -> bytes:
    """The TFLite model of `converter` (a `tf.lite.TFLiteConverter` set up for float32), quantized.

    Args:
        converter: its graph traces the network under `NETWORK_SCOPE`.
        quantize: `float32`, `float16` (weights) or `int8` (the network's weights and activations).
        network: int8: the `keras.Model`, whose `FLOAT_LAYERS` stay float32.
        grays: int8: gray uint8 photos `(H, W)` of the model's input size, to calibrate on.

    Raises:
        ColornetError: int8 that quantized nothing (a graph without the network's scope).
    """
    if quantize == "float32":
        return converter.convert()
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    float_layers = _float_layer_pattern(network)
    with quiet_native_stderr():  # the quantizer's own progress lines
        names = [name for name, _ in _tensor_names(converter.convert())]  # the float32 model's
        kept = sorted({name for name in names if _kept_float(name, float_layers)})

        def samples():
            return ([gray[None, ..., None]] for gray in grays)  # the model's input, (1, H, W, 1) uint8

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=kept)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the debugger's interpreters say they move to LiteRT
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter, debug_dataset=samples, debug_options=options
            )
            model = debugger.get_nondebug_quantized_model()
    if not any(dtype == "int8" for _, dtype in _tensor_names(model)):
        raise ColornetError("no part of the network could be quantized to int8; try --quantize float16.")
    return model


def onnx_float16(path) -> None:
    """Rewrite the ONNX model at `path` with its weights in float16: each float32 constant of at least
    `MIN_FLOAT16_ELEMENTS` becomes a float16 one and a Cast back to float32 (which onnxruntime folds
    when the model loads), so the file is about half and the arithmetic is unchanged."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for constant in graph.initializer:
        if constant.data_type != TensorProto.FLOAT or np.prod(constant.dims) < MIN_FLOAT16_ELEMENTS:
            continue
        name = constant.name
        half = numpy_helper.from_array(
            numpy_helper.to_array(constant).astype(np.float16), name + ONNX_FLOAT16_SUFFIX
        )
        constant.CopyFrom(half)
        casts.append(
            helper.make_node("Cast", [half.name], [name], name=f"{name}_to_float32", to=TensorProto.FLOAT)
        )
    nodes = casts + list(graph.node)  # the casts first: the graph's order is its run order
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
