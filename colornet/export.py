"""Export a colorizer as one model that runs without colornet: gray uint8 in, RGB uint8 out.

    python -m colornet export --model beta --format saved_model --out exported/beta_saved_model
    python -m colornet export --model beta --format tflite --size 512x384 --out exported/beta_tflite

The exported graph is colorize's path written in TensorFlow ops (`colornet.predict` and
`colornet.fullres`), with the model's own decoding baked in:

    L = L_OF_GRAY[gray]                   the photo's L at full resolution, a table of 256 values  (H, W)
    canvas = pad(resize(L, (h, w)))       longer side <= work size, reflect-padded to the multiple
    ab = decode(model(encode(canvas)))    the design's codec (tanh ab/128, sigmoid, bins at T)     (h, w, 2)
    ab_full = bilinear(ab, (H, W))        upsampled under the full-resolution L
    rgb = merge(L, ab_full)               chroma reduced where a color leaves the sRGB gamut         (H, W, 3)

A SavedModel takes any size (`(H, W, 1)` or a batch `(b, H, W, 1)`); TFLite and ONNX take one
fixed size, `--size`, where resizing and padding are matrices computed at export time. `--quantize`
makes TFLite and ONNX files smaller (`colornet.quantize`): float16 weights, or an int8 network in TFLite.
"""

import contextlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from colornet.color import AB_SCALE, merge_l_ab
from colornet.defaults import DEFAULT_MODEL
from colornet.errors import ColornetError
from colornet.files import check_replaceable_folder, replace_folder, temporary_name
from colornet.finite import check_finite_colors
from colornet.fullres import GAMUT_STEPS, bilinear_taps, lightness
from colornet.inference_options import InferenceOptions, merge_options
from colornet.models.layers import ResizeTo
from colornet.predict import Colorizer, working_shape
from colornet.quantize import (
    NETWORK_SCOPE,
    check_quantization,
    convert_tflite,
    onnx_float16,
    representative_grays,
)
from colornet.weights import WEIGHTS_DIR

FORMATS = ("saved_model", "tflite", "onnx")
FIXED_SIZE = (512, 512)  # (height, width) a TFLite or ONNX model takes unless --size says otherwise
FILES = {
    "tflite": "model.tflite",
    "onnx": "model.onnx",
}  # the model file in --out (a SavedModel is the folder)
MARKER = "colornet_export.json"  # what an export says about itself; a folder with it may be replaced
PARTS = ("saved_model.pb", "fingerprint.pb", "variables", "assets", *FILES.values())  # and nothing else
ONNX_OPSET = 17


def gray_lightness_table() -> np.ndarray:
    """CIE L `(256,)` of the 256 gray levels, computed as colorize computes a gray photo's L."""
    levels = np.arange(256, dtype=np.float32) / 255.0
    return lightness(np.repeat(levels[None, :, None], 3, axis=-1))[0]


def _merge(L, ab):
    """L `(..., 1)` + ab `(..., 2)` in Lab units -> RGB uint8, chroma reduced (hue kept) where a
    color would leave the sRGB gamut, as `colornet.fullres.merge_full` does."""
    rgb = merge_l_ab(L, ab)
    clipped = tf.reduce_any((rgb <= 0.0) | (rgb >= 1.0), axis=-1, keepdims=True)
    low, high = tf.constant(0.0), tf.constant(1.0)  # scalars: no (H, W) constant in a fixed-size file
    for _ in range(GAMUT_STEPS):  # bisection on a chroma factor in [0, 1]
        mid = (low + high) / 2
        fitted = merge_l_ab(L, ab * mid)
        inside = tf.reduce_all((fitted > 0.0) & (fitted < 1.0), axis=-1, keepdims=True)
        low, high = tf.where(inside, mid, low), tf.where(inside, high, mid)
    rgb = tf.where(clipped, merge_l_ab(L, ab * low), rgb)
    return tf.cast(tf.clip_by_value(tf.round(rgb * 255.0), 0.0, 255.0), tf.uint8)


def _network_ab(colorizer: Colorizer, canvas):
    """L canvases `(b, hc, wc, 1)` in [0, 100] -> ab `(b, hc, wc, 2)` in Lab units, clipped as `finish` does."""
    codec = colorizer.codec
    inputs = codec.encode_inputs(canvas, {})
    with tf.name_scope(NETWORK_SCOPE):  # what --quantize int8 quantizes
        outputs = colorizer.model(inputs, training=False)
    return tf.clip_by_value(codec.decode(outputs, inputs), -AB_SCALE, AB_SCALE)


def _reflect_index(n_out, n_in):
    """Source rows of a canvas of `n_out` rows reflect-padded from `n_in` (numpy's `reflect`)."""
    i = tf.range(n_out)
    period = tf.maximum(2 * (n_in - 1), 1)
    m = i % period
    return tf.where(m < n_in, m, period - m)


def _check_exportable(colorizer: Colorizer, image_format: str) -> None:
    if colorizer.design.features is not None:
        raise ColornetError(
            f"{colorizer.name} cannot be exported: it computes an ImageNet embedding of each photo "
            "outside its network; export beta or iizuka."
        )
    if colorizer.takes_hints:
        raise ColornetError(
            f"{colorizer.source or colorizer.name} takes color hints, which an export has no input for; "
            f"export {DEFAULT_MODEL} (the network without hints) instead."
        )


# --- the two graphs -------------------------------------------------------------


def dynamic_function(colorizer: Colorizer, work_size: int | None = None):
    """A `tf.function`: gray uint8 `(H, W, 1)` or `(b, H, W, 1)` of any size -> RGB uint8 of the same size."""
    if colorizer.canvas_shape() is not None:
        raise ColornetError(
            f"{colorizer.name} was built for one input size {colorizer.canvas_shape()}, so it has no "
            "any-size SavedModel; use --format tflite or onnx."
        )
    work = colorizer.work_size(work_size)
    multiple = colorizer.design.multiple(colorizer.options)
    table = gray_lightness_table()  # made a constant inside the graph, not a captured input

    @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8, name="gray")])
    def colorize(gray):
        shape = tf.shape(gray)
        H, W = shape[-3], shape[-2]
        L = tf.gather(tf.constant(table), tf.cast(tf.reshape(gray, [-1, H, W, 1]), tf.int32))  # (b, H, W, 1)
        # working_shape: longer side at most `work`, aspect kept, then the next multiples
        scale = tf.minimum(tf.constant(1.0, tf.float64), work / tf.cast(tf.maximum(H, W), tf.float64))
        h = tf.maximum(1, tf.cast(tf.round(tf.cast(H, tf.float64) * scale), tf.int32))
        w = tf.maximum(1, tf.cast(tf.round(tf.cast(W, tf.float64) * scale), tf.int32))
        hc, wc = -(-h // multiple) * multiple, -(-w // multiple) * multiple
        small = tf.cond(  # (b, h, w, 1); a photo within the working size is used as it is
            tf.equal(h, H) & tf.equal(w, W),
            lambda: L,
            lambda: tf.image.resize(L, tf.stack([h, w]), "bilinear", antialias=True),
        )
        canvas = tf.gather(tf.gather(small, _reflect_index(hc, h), axis=1), _reflect_index(wc, w), axis=2)
        canvas = tf.clip_by_value(canvas, 0.0, 100.0)  # (b, hc, wc, 1)
        ab = _network_ab(colorizer, canvas)[:, :h, :w]  # (b, h, w, 2)
        ab = tf.image.resize(ab, tf.stack([H, W]), "bilinear")  # (b, H, W, 2), half-pixel centers
        rgb = _merge(L, ab)  # (b, H, W, 3)
        return {"rgb": tf.reshape(rgb, tf.concat([shape[:-1], [3]], axis=0))}

    return colorize


def _resize_matrix(n_out: int, n_in: int) -> np.ndarray:
    """`(n_out, n_in)`: bilinear resizing with antialiasing along one axis, as `tf.image.resize`."""
    if n_out == n_in:
        return np.eye(n_in, dtype=np.float32)
    eye = np.eye(n_in, dtype=np.float32)[None, :, None, :]  # n_in images of one column
    with tf.init_scope():  # computed now, also while a graph is traced
        return np.asarray(tf.image.resize(eye, (n_out, 1), "bilinear", antialias=True))[0, :, 0, :]


def _pad_matrix(n_out: int, n_in: int) -> np.ndarray:
    """`(n_out, n_in)` of 0 and 1: reflect padding as a matrix."""
    index = np.asarray(_reflect_index(n_out, n_in))
    return np.eye(n_in, dtype=np.float32)[index]


def _upsample_matrix(n_out: int, n_in: int, n_canvas: int) -> np.ndarray:
    """`(n_out, n_canvas)`: crop the first `n_in` of the canvas, then bilinear to `n_out` (no antialiasing)."""
    i0, i1, f = bilinear_taps(n_out, n_in)
    m = np.zeros((n_out, n_canvas), np.float32)
    np.add.at(m, (np.arange(n_out), i0), 1 - f)
    np.add.at(m, (np.arange(n_out), i1), f)
    return m


def _apply(rows, cols, x):
    """`rows @ x @ cols.T` on each image and channel of `x` `(b, h, w, c)`."""
    x = tf.transpose(x, [0, 3, 1, 2])  # (b, c, h, w)
    x = tf.matmul(tf.matmul(tf.constant(rows), x), tf.constant(cols.T))
    return tf.transpose(x, [0, 2, 3, 1])


def fixed_function(colorizer: Colorizer, size=FIXED_SIZE, work_size: int | None = None):
    """A `tf.function`: gray uint8 `(1, H, W, 1)` of the fixed `size` `(H, W)` -> RGB uint8 `(1, H, W, 3)`.

    Resizing and padding are matrix products computed here, so the graph needs only operators
    that TFLite and ONNX have."""
    H, W = size
    (h, w), (hc, wc) = working_shape(
        H,
        W,
        colorizer.work_size(work_size),
        colorizer.canvas_shape(),
        colorizer.design.multiple(colorizer.options),
    )
    to_canvas = (_pad_matrix(hc, h) @ _resize_matrix(h, H), _pad_matrix(wc, w) @ _resize_matrix(w, W))
    to_full = (_upsample_matrix(H, h, hc), _upsample_matrix(W, w, wc))
    table = gray_lightness_table()  # made a constant inside the graph, not a captured input

    @tf.function(input_signature=[tf.TensorSpec((1, H, W, 1), tf.uint8, name="gray")])
    def colorize(gray):
        L = tf.gather(tf.constant(table), tf.cast(gray, tf.int32))  # (1, H, W, 1)
        canvas = tf.clip_by_value(_apply(*to_canvas, L), 0.0, 100.0)  # (1, hc, wc, 1)
        with _static_resizes(colorizer.model):
            ab = _apply(*to_full, _network_ab(colorizer, canvas))  # (1, H, W, 2)
        return {"rgb": _merge(L, ab)}

    return colorize


@contextlib.contextmanager
def _static_resizes(model):
    """While a fixed-size graph is traced, each `ResizeTo` layer in `model` (iizuka's global path)
    resizes by two matrix products, its input size being known then: the graph has no
    ScaleAndTranslate, an operator TFLite and ONNX lack. The same numbers, other operators."""

    def by_matrices(layer):
        def call(images):
            h, w = images.shape[1:3]
            return _apply(_resize_matrix(layer.height, h), _resize_matrix(layer.width, w), images)

        return call

    resizes = [layer for layer in model._flatten_layers() if isinstance(layer, ResizeTo)]
    for layer in resizes:
        layer.call = by_matrices(layer)
    try:
        yield
    finally:
        for layer in resizes:
            del layer.call  # the class's own call again


# --- writing ----------------------------------------------------------------------


def _write_saved_model(colorizer, folder, size, work_size):
    module = tf.Module()
    module.network = colorizer.model  # tracked: its variables are saved with the graph
    module.colorize = dynamic_function(colorizer, work_size)
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.colorize})


def _write_tflite(colorizer, folder, size, work_size, quantize="float32", grays=None):
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    # The network's variables become constants first: left as variables, TFLite reads them uninitialized
    frozen = convert_variables_to_constants_v2(
        fixed_function(colorizer, size, work_size).get_concrete_function()
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
    # Builtin operators, and TensorFlow's own where TFLite has none (iizuka's antialiased resize)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    model = convert_tflite(converter, quantize, network=colorizer.model, grays=grays)
    (folder / FILES["tflite"]).write_bytes(model)


def _write_onnx(colorizer, folder, size, work_size, quantize="float32", grays=None):
    try:
        import tf2onnx
    except ImportError:
        raise ColornetError(
            "--format onnx needs tf2onnx (and onnxruntime to run it): pip install tf2onnx onnxruntime."
        ) from None
    function = fixed_function(colorizer, size, work_size)
    tf2onnx.convert.from_function(
        function,
        input_signature=function.input_signature,
        opset=ONNX_OPSET,
        output_path=str(folder / FILES["onnx"]),
    )
    if quantize == "float16":
        onnx_float16(folder / FILES["onnx"])


WRITERS = {"saved_model": _write_saved_model, "tflite": _write_tflite, "onnx": _write_onnx}


def folder_size(path) -> int:
    """Bytes of the files under `path`."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def export_model(
    model=DEFAULT_MODEL,
    image_format: str = "saved_model",
    out="exported",
    *,
    size=FIXED_SIZE,
    work_size: int | None = None,
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    quantize: str = "float32",
    representative=None,
    overwrite: bool = False,
    weights_dir=WEIGHTS_DIR,
    options: InferenceOptions | None = None,
) -> dict:
    """Write a model that colorizes gray photos without colornet into the folder `out`.

    Args:
        model: provided weights by name (`beta`, `iizuka`), a weights path, a `keras.Model` or a `Colorizer`.
        image_format: `saved_model` (any image size), `tflite` or `onnx` (the fixed `size`).
        out: the folder to write; it must not exist unless `overwrite`, and never be the current folder.
        size: `(height, width)` of the gray image a TFLite or ONNX model takes.
        work_size: longer side of the resolution colors are predicted at (default: the model's own, `Colorizer.work_size`).
        temperature: the annealed-mean temperature baked into a model that predicts ab bins
            (zhang, beta --head bins; default 0.38); ignored, with a warning, by the others.
        undo_rebalancing: the share of the rebalancing taken back before the annealed mean,
            baked in likewise (default 0, the paper's; see `colornet.bins.undo_rebalancing`).
        quantize: `float32`; `float16` (tflite, onnx: weights in float16) or `int8` (tflite: the
            network's weights and activations in int8), see `colornet.quantize`.
        representative: int8: a folder of photos to calibrate on (default: scikit-image's samples).
        overwrite: replace an existing `out` that holds an earlier export (its `colornet_export.json`)
            and nothing else.
        weights_dir: where provided weights are looked up by name.
        options: an `InferenceOptions` holding `work_size`, `temperature` and `undo_rebalancing` at
            once; each of those keywords given (not None) wins over its field. Its precision is
            ignored with a warning: an export computes in float32.

    Returns:
        What was written, also saved as `out/colornet_export.json`: `format`, `file`, `bytes`,
        `input` and `output` (shape and dtype), `work_size`, `quantize` (and for int8 the
        `representative` photos), and `temperature` and `undo_rebalancing` for a model over ab bins.

    Raises:
        ColornetError: an unknown format or quantization, one the format cannot take, a
            `representative` without photos, an existing `out`, a design that cannot be exported
            (one that takes color hints too), an `out` that cannot be written.
        WeightsError: missing or corrupt weights, or weights whose colors are NaN.

    Example:
        >>> info = export_model("beta", "tflite", "exported/beta_tflite", size=(384, 512))
        >>> info["input"]
        'gray uint8 (1, 384, 512, 1)'
    """
    if image_format not in FORMATS:
        raise ColornetError(f"unknown format {image_format!r}; use one of {', '.join(FORMATS)}.")
    check_quantization(quantize, image_format, representative)
    options = merge_options(
        options, work_size=work_size, temperature=temperature, undo_rebalancing=undo_rebalancing
    )
    if options.precision != "float32":
        warnings.warn(
            f"precision {options.precision} is ignored: an export computes in float32 "
            "(--quantize float16 or int8 makes smaller files).",
            stacklevel=2,
        )
        options = options.replace(precision="float32")
    work_size = options.work_size
    check_replaceable_folder(out, overwrite, MARKER, PARTS, what="earlier export")
    out = Path(os.path.normpath(out))
    colorizer, note = options.load(model, weights_dir)
    if note:
        warnings.warn(note.removeprefix("note: "), stacklevel=2)
    _check_exportable(colorizer, image_format)
    check_finite_colors(colorizer)
    fixed = image_format != "saved_model"
    H, W = size
    info = {
        "format": image_format,
        "model": colorizer.source,
        "file": FILES.get(image_format, "."),
        "input": f"gray uint8 (1, {H}, {W}, 1)"
        if fixed
        else "gray uint8 (H, W, 1) or (b, H, W, 1), any size",
        "output": f"rgb uint8 (1, {H}, {W}, 3)" if fixed else "rgb uint8 of the same size, 3 channels",
        "work_size": colorizer.work_size(work_size),
        "quantize": quantize,
        **colorizer.decoding(),
    }
    extra = {}  # what a quantizing writer takes besides the float32 writer's arguments
    if quantize != "float32":
        extra["quantize"] = quantize
    if quantize == "int8":
        extra["grays"], info["representative"] = representative_grays((H, W), representative)
    tmp = temporary_name(out)
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        try:
            WRITERS[image_format](colorizer, tmp, (H, W), work_size, **extra)
        except (ColornetError, OSError, tf.errors.PermissionDeniedError):
            raise
        except Exception as err:  # a converter's long report: its first line is enough here
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            what, other = (image_format, "--format") if quantize == "float32" else (quantize, "--quantize")
            raise ColornetError(
                f"{colorizer.name} could not be converted to {what} ({reason}); try another {other}."
            ) from None
        info["bytes"] = folder_size(tmp)
        (tmp / MARKER).write_text(json.dumps(info, indent=2))
        replace_folder(tmp, out)
    except (OSError, tf.errors.PermissionDeniedError) as err:
        reason = getattr(err, "strerror", None) or getattr(err, "message", None) or err
        raise ColornetError(f"--out {out}: cannot be written ({reason}); choose another place.") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return info
