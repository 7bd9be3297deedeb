"""A loaded colorizer, and the one path every photo takes through it.

    colorizer = load_colorizer("beta")                    # network + design + training size
    prepared = prepare(photo, colorizer.work_size(), ...)  # full-resolution L and the working canvas
    ab = colorizer.predict_ab(prepared.canvas[None])[0]    # Lab ab at the working resolution
    rgb = finish(prepared, ab)                             # full size, L kept, colors in gamut

`colornet.colorize`, the folder command, `evaluate` and the training sample strips all
go through `prepare`, `Colorizer.predict` (ab, plus scene probabilities where the design
has them) and `finish`, so a score describes exactly the image a user gets.

This module loads colorizers (`load_colorizer`), in the precision asked: a twin rebuilt under
another dtype policy (`precision_twin`), or the one `--precision auto` measures fastest
(`with_auto_precision`). The rest is in two modules, and importable from here as well: the working
canvas of one photo (`colornet.canvas`: `prepare`, `finish`, `working_shape`, `WORK_SIZE`), and the
`Colorizer` with its batches (`colornet.colorizer`: `Colorizer.predict`, `compiled_call`,
`prepare_for`, `colorize_photos`).
"""

import json
import sys
from dataclasses import replace

import keras
import numpy as np

from colornet import inference_precision as auto
from colornet.canvas import (  # noqa: F401  (importable from here)
    MIN_SIDE,
    WORK_SIZE,
    Prepared,
    check_finite,
    check_work_size,
    finish,
    prepare,
    working_shape,
)
from colornet.colorizer import (  # noqa: F401  (importable from here)
    Colorizer,
    Prediction,
    article_contract,
    colorize_photos,
    compiled_call,
    content_for,
    prepare_for,
)
from colornet.defaults import DEFAULT_MODEL, HINTS_MODEL
from colornet.errors import ColornetError
from colornet.images import ImageError, as_photo
from colornet.models import DESIGNS, get_design
from colornet.precision import choose_precision, cpu_flags, gpu_count, precision_scope
from colornet.weights import WEIGHTS_DIR, load_model


def load_colorizer(
    model=DEFAULT_MODEL,
    weights_dir=WEIGHTS_DIR,
    *,
    features=None,
    precision: str = "float32",
    work_size: int | None = None,
    design: str | None = None,
    training_size: int | None = None,
    options: dict | None = None,
    prior=None,
) -> Colorizer:
    """A `Colorizer` from provided weights by name, a weights path, a built `keras.Model`, or a
    `Colorizer` (returned as it is).

    Args:
        model: `alpha`, `beta`, `full`, ... (provided weights in `weights_dir`), a
            `.weights.h5` path with its `.json` beside it, a `keras.Model`, or a `Colorizer`.
        weights_dir: where provided weights are looked up by name.
        features: the design's feature extractor (the Full model's `Embedder`); by default
            one is built on first use.
        precision: the Keras dtype policy to run the network in: `float32`, `mixed_bfloat16`,
            `mixed_float16`, or `auto` (`with_auto_precision`: mixed_float16 on a GPU; on a CPU
            with bfloat16 units mixed_bfloat16 where it measures faster for this network and its
            colors stay within 1 level of 255 of float32's on average; else float32; a line on
            stderr says which and why). A `keras.Model` runs in the policy it was built under with
            `float32`, and is rebuilt with the same weights under any other.
        work_size: the working size the network will be used at, for `auto` (which measures
            there); default: its own (`Colorizer.work_size`).
        design: for a `keras.Model`: which design it is (default: the model's name; a network
            named after no design is taken to follow the article's contract, `article_contract`).
        training_size: for a `keras.Model`: the crop size it was trained at.
        options: for a `keras.Model`: the builder options it was built with, where the
            codec or the size multiple depend on them (a U-Net's `depth`, `color_space`).
        prior: for a `keras.Model` with a bin head: the prior `(Q,)` it was trained with, so
            that decoding can take back part of the rebalancing (weights files name theirs).

    Raises:
        WeightsError: missing, truncated or mismatched weights, in one sentence.
        PrecisionError: an unknown precision, in one line.
    """
    if isinstance(model, Colorizer):
        return model if features is None else replace(model, features=features)
    if precision != "auto":
        precision, _ = choose_precision(precision)  # checks the name; warns where it will be slow
    if isinstance(model, keras.Model):
        if design is None and model.name not in DESIGNS:
            design = article_contract(model.name)  # a network of the user's own
        colorizer = Colorizer(
            model=model,
            design=get_design(design or model.name),
            training_size=training_size,
            features=features,
            source=model.name,
            options=dict(options or {}),
            prior=None if prior is None else tuple(float(p) for p in prior),
        )
        if precision == "auto":
            return with_auto_precision(colorizer, work_size)
        return colorizer if precision == "float32" else precision_twin(colorizer, precision)
    policy = "float32" if precision == "auto" else precision
    net, config = load_model(model, weights_dir, precision=policy)
    prior = None
    if config.get("prior"):
        from colornet.prior import load_prior

        prior = tuple(float(p) for p in load_prior(config["prior"]))
    colorizer = Colorizer(
        model=net,
        design=get_design(config["model"]),
        training_size=config.get("size"),
        default_work_size=config.get("work_size"),
        features=features,
        source=str(model),
        options=config.get("options", {}),
        classes=config.get("classes"),
        prior=prior,
        temperature=config.get("decoding", {}).get("temperature"),
        undo=config.get("decoding", {}).get("undo_rebalancing"),
        precision=policy,
    )
    return with_auto_precision(colorizer, work_size) if precision == "auto" else colorizer


def precision_twin(colorizer: Colorizer, policy: str) -> Colorizer:
    """The same network rebuilt under the dtype policy `policy`, with the same (float32) weights.

    Raises:
        ValueError: a network its design cannot build again (one of the user's own, or one whose
            builder options are not known), in one line.
    """
    if policy == colorizer.precision:
        return colorizer
    try:
        with precision_scope(policy):
            net = colorizer.design.build(**colorizer.options)
        if [tuple(i.shape) for i in net.inputs] != [tuple(i.shape) for i in colorizer.model.inputs]:
            raise ValueError("its inputs differ from the design's with the options known")
        net.set_weights(colorizer.model.get_weights())
    except (ValueError, TypeError) as err:
        reason = " ".join(str(err).split()).rstrip(".")
        raise ValueError(
            f"{colorizer.source or colorizer.name} cannot be rebuilt in {policy} ({reason})."
        ) from None
    return replace(colorizer, model=net, precision=policy)


def with_auto_precision(
    colorizer: Colorizer, work_size: int | None = None, *, gpus=None, flags=None, measure=None
) -> Colorizer:
    """`colorizer` (float32) or its twin in the precision `--precision auto` picks for it at
    `work_size` (`colornet.inference_precision`): decided once per network and size in a
    process (a few seconds), said on stderr in one line when decided.

    Args:
        colorizer: a `Colorizer`, in float32 or another precision (rebuilt where needed).
        work_size: the working size it will run at; default: its own (`Colorizer.work_size`).
        gpus, flags: the GPU count and CPU flags (default: this machine's).
        measure: policies -> seconds per call (default: `Colorizer.predict` timed on the fixed
            photos' canvases at the working size, one batch, `inference_precision.time_interleaved`).
    """
    size = colorizer.work_size(work_size)
    twins = {colorizer.precision: colorizer}

    def twin(policy):
        if policy not in twins:
            twins[policy] = precision_twin(colorizer, policy)
        return twins[policy]

    try:
        twin("float32")  # the reference; a network built under another policy is rebuilt for it
    except ValueError as err:
        print(f"colornet: {err} It runs in {colorizer.precision}, as it was built.", file=sys.stderr)
        return colorizer
    photos = list(auto.fixed_photos())

    def colors_of(policy):  # (4, side, side, 3): the fixed photos colorized as `colorize` does
        return np.stack(colorize_photos(twin(policy), photos, size, np.float32))

    def timed(policies):  # the same photos' canvases at the working size, one batch
        multiple = colorizer.design.multiple(colorizer.options)
        side = -(-size // multiple) * multiple
        canvas = colorizer.canvas_shape() or (side, side)
        batch = np.stack([prepare(p, size, canvas, multiple).canvas for p in photos])
        warm = batch.shape[1:] == prepare_for(colorizer, photos[0], size).canvas.shape  # colors_of's batch
        calls = {p: lambda p=p: twin(p).predict(batch) for p in policies}
        return auto.time_interleaved(calls, warmup=0 if warm else 1)

    options = json.dumps(colorizer.options, sort_keys=True, default=str)
    key = (
        colorizer.source,
        colorizer.name,
        options,
        size,
        colorizer.canvas_shape(),
        gpus,
        frozenset(flags or ()),
    )
    verdict, fresh = auto.cached_verdict(
        key,
        lambda: auto.choose_inference_precision(
            gpus=gpu_count() if gpus is None else gpus,
            flags=cpu_flags() if flags is None else flags,
            colors_of=colors_of,
            measure=measure or timed,
        ),
    )
    if fresh:
        print(f"colornet: {colorizer.source or colorizer.name} at {size} px: {verdict.note}", file=sys.stderr)
    return twin(verdict.policy)


# --- shared by `colorize` and `colorize_files` ------------------------------------


def choose_model(model, hints=None):
    """The model a command uses: `model` where named, else the default model, or with hints
    the default model's network with hint channels."""
    if model is not None:
        return model
    return HINTS_MODEL if hints is not None else DEFAULT_MODEL


def style_lightness(colorizer: Colorizer, style, work_size: int | None = None):
    """L `(1, h, w, 1)` of a style photo at the working resolution, or None without one.

    Raises:
        ImageError: an unreadable style photo.
        ColornetError: a design without a global path.
    """
    if style is None:
        return None
    if not colorizer.codec.takes_style:
        raise ColornetError(
            f"--style needs a model with global features (iizuka); {colorizer.name} has none."
        )
    try:
        photo = as_photo(style)
    except ImageError as err:
        raise ImageError(f"style photo: {err}") from None
    prepared = prepare_for(colorizer, photo, work_size)
    h, w = prepared.content
    return prepared.canvas[None, :h, :w]


def scene_class(colorizer: Colorizer, probabilities) -> dict:
    """`{"class": name, "probability": p}` of the most probable scene class, or `{}`."""
    if probabilities is None:
        return {}
    best = int(np.argmax(probabilities))
    names = colorizer.classes or [f"class {i}" for i in range(len(probabilities))]
    return {"class": names[best], "probability": float(probabilities[best])}
