"""A loaded colorizer, and the one path every photo takes through it.

    colorizer = load_colorizer("beta")                    # network + design + training size
    prepared = prepare(photo, colorizer.work_size(), ...)  # full-resolution L and the working canvas
    ab = colorizer.predict_ab(prepared.canvas[None])[0]    # Lab ab at the working resolution
    rgb = finish(prepared, ab)                             # full size, L kept, colors in gamut

`colornet.colorize`, the folder command, `evaluate` and the training sample strips all
go through `prepare`, `Colorizer.predict` (ab, plus scene probabilities where the design
has them) and `finish`, so a score describes exactly the image a user gets.
"""

import json
import sys
import weakref
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from colornet import inference_precision as auto
from colornet.arguments import WORK_SIZE_RANGE
from colornet.color import AB_SCALE
from colornet.defaults import DEFAULT_MODEL
from colornet.errors import ColornetError, ImageError, WeightsError
from colornet.fullres import lightness, merge_full
from colornet.images import Photo
from colornet.models import DESIGNS, Design, get_design
from colornet.precision import choose_precision, cpu_flags, gpu_count, precision_scope
from colornet.weights import WEIGHTS_DIR, load_model

# Each network's call compiled into one graph (`Colorizer.predict(..., compiled=True)`), kept while the
# network lives; the function holds the network only weakly, so this never keeps one alive.
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled_call(model):
    """`inputs -> model(inputs, training=False)` as one `tf.function` (traced once per input shape and
    structure; shapes that vary are relaxed to any size after the second), made once per network."""
    run = _COMPILED.get(model)
    if run is None:
        network = weakref.ref(model)
        run = tf.function(lambda inputs: network()(inputs, training=False), reduce_retracing=True)
        _COMPILED[model] = run
    return run


WORK_SIZE = 256  # default longer side of the working resolution, in pixels (the article colorized 256x256)


def check_work_size(work_size) -> None:
    """Refuse a `work_size` that is not a whole number of pixels from 8 to 8192 (None: the default)."""
    low, high = WORK_SIZE_RANGE
    if work_size is None:
        return
    if (
        isinstance(work_size, bool)
        or not isinstance(work_size, (int, np.integer))
        or not low <= work_size <= high
    ):
        raise ColornetError(f"work_size {work_size!r}: use a whole number of pixels from {low} to {high}.")


MIN_SIDE = 4  # smaller photos are refused: there is nothing to colorize in a 1x1 image


class Prediction(NamedTuple):
    """What the network says about a batch of L canvases."""

    ab: np.ndarray  # (b, h, w, 2) float32, Lab units, on the canvases
    classes: np.ndarray | None  # (b, n_classes) scene class probabilities, for designs that classify


@dataclass(frozen=True, eq=False)
class Colorizer:
    """A network ready to colorize, and everything needed to use it. Frozen: a colorizer that
    decodes otherwise, or runs in another precision, is a new one (`with_temperature`,
    `precision_twin`, `dataclasses.replace`), sharing the network.

    Attributes:
        model: the Keras network.
        design: its `Design` (codec, size multiple, ...).
        training_size: the crop size it was trained at (colors are predicted at that scale
            by default), or None when unknown.
        features: computes the design's extra inputs from L (the Full model's `Embedder`),
            or None.
        source: the weights name or path it was loaded from, for messages.
        options: the builder options the network was built with.
        classes: the scene class names, for designs with a classification head.
        temperature: the annealed-mean temperature of a bin head (zhang, beta --head bins);
            None: the codec's default (0.38).
        prior: a bin head's prior over the bins `(Q,)`, the one it was trained with; its
            rebalancing weights are what decoding takes back (`undo`). None: unknown.
        undo: the share of the rebalancing decoding takes back (0 to 1; `colornet.bins.
            undo_rebalancing`); None: the codec's default, 0 (the paper's decoding).
        precision: the Keras dtype policy the network computes in (`float32`, `mixed_bfloat16`,
            `mixed_float16`); its weights are float32 under every policy. None: the network's own.
    """

    model: keras.Model
    design: Design
    training_size: int | None = None
    features: object | None = None
    source: str | None = None
    options: dict = field(default_factory=dict)
    classes: list | None = None
    temperature: float | None = None
    prior: tuple | None = None
    undo: float | None = None
    precision: str | None = None
    # what is derived from the fields above, made on first use (the codec; `features` is built on first
    # use too, for designs that have them)
    _made: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        if self.precision is None:  # the policy the network was built under
            policy = getattr(getattr(self.model, "dtype_policy", None), "name", "float32")
            object.__setattr__(self, "precision", policy)

    @property
    def codec(self):
        """The design's codec with this colorizer's prior, temperature and undo (made once)."""
        if "codec" not in self._made:
            self._made["codec"] = self._make_codec()
        return self._made["codec"]

    def _make_codec(self):
        codec = self.design.make_codec(self.options)
        if not hasattr(codec, "temperature"):
            return codec
        if self.prior is not None:
            codec = codec.with_prior(self.prior)
        if self.temperature is not None:
            codec = replace(codec, temperature=self.temperature)
        if self.undo is not None:
            codec = replace(codec, undo=self.undo)
        return codec

    @property
    def has_bins(self) -> bool:
        """Whether the network predicts a distribution over ab bins (a temperature applies)."""
        return hasattr(self.codec, "temperature")

    def with_temperature(self, temperature, undo=None) -> tuple["Colorizer", str | None]:
        """`(colorizer, note)`: this colorizer decoding at `temperature` and taking back `undo` of
        the rebalancing (the same network), and None; or, for a network without bins, this
        colorizer and a one-line note that they are ignored. None: as it is.

        Raises:
            ColornetError: a temperature <= 0 or above 10, an undo outside [0, 1], or an undo
                above 0 for a network whose prior is unknown, in one line.
        """
        if temperature is None and undo is None:
            return self, None
        from colornet.bins import check_temperature, check_undo

        try:
            t = None if temperature is None else check_temperature(temperature)
            s = None if undo is None else check_undo(undo)
        except ValueError as err:
            raise ColornetError(str(err)) from None
        flags = " and ".join(f for f, v in (("--temperature", t), ("--undo-rebalancing", s)) if v is not None)
        if not self.has_bins:
            return self, (
                f"note: {flags} {'are' if ' and ' in flags else 'is'} ignored: {self.name} predicts colors directly, not over ab bins "
                "(zhang and beta --head bins do)."
            )
        if s and self.prior is None:
            raise ColornetError(
                f"{self.source or self.name}: the prior over the bins it was trained with is unknown, so its "
                "rebalancing cannot be undone; load it from a weights file whose JSON names its prior, or "
                "use --undo-rebalancing 0."
            )
        changes = {k: v for k, v in (("temperature", t), ("undo", s)) if v is not None}
        return replace(self, **changes), None

    def decoding(self) -> dict:
        """How colors are decoded, for logs and reports: `{"temperature": T}` for bins, with
        `"undo_rebalancing"` where the prior is known; `{}` for networks without bins."""
        if not self.has_bins:
            return {}
        codec = self.codec
        undo = {"undo_rebalancing": codec.undo} if codec.prior is not None else {}
        return {"temperature": codec.temperature, **undo}

    @property
    def name(self) -> str:
        return self.design.name

    def work_size(self, work_size: int | None = None) -> int:
        """The working resolution: `work_size` if given, else the training size, else `WORK_SIZE`."""
        return int(work_size or self.training_size or WORK_SIZE)

    def canvas_shape(self) -> tuple[int, int] | None:
        """The fixed `(height, width)` the network was built for, or None when it takes any size."""
        h, w = self.model.inputs[0].shape[1:3]
        return (int(h), int(w)) if h is not None and w is not None else None

    def _features(self):
        if self.features is not None or self.design.features is None:
            return self.features
        # the features the network was trained with (the Full model's embedder), built on first
        # use, then kept with this colorizer
        object.__setattr__(self, "features", self.design.make_features(self.options))  # once: a cache
        return self.features

    def predict_ab(self, L, style=None, hints=None, compiled=False) -> np.ndarray:
        """L canvases `(b, h, w, 1)` in [0, 100] -> ab `(b, h, w, 2)` in Lab units, float32.

        `style`: L `(1, h', w', 1)` of another photo whose global features color these
        (designs with a global path, e.g. iizuka); ignored by the others. `hints`, `compiled`: see
        `predict`."""
        return self.predict(L, style, hints, compiled)[0]

    @property
    def takes_hints(self) -> bool:
        """Whether the network takes a person's color hints (`colornet.hints`)."""
        return "hints" in getattr(self.codec, "extra_inputs", ())

    def check_hints(self, hints) -> None:
        """Raise a one-line `HintError` where hints are given to a network trained without them."""
        if hints is not None and not self.takes_hints:
            from colornet.errors import HintError

            raise HintError(
                f"{self.source or self.name} was trained without hint channels, so it cannot take color hints; "
                "use --model features-hints (the default model with hints) or leave the hints out."
            )

    def predict(self, L, style=None, hints=None, compiled=False) -> "Prediction":
        """A `Prediction` (`ab`, `classes`: class probabilities `(b, n_classes)` or None; it unpacks as
        `ab, classes = ...`) for L canvases; see `predict_ab`.

        `hints`: hint maps `(b, h, w, 3)` on the same canvases (`colornet.hints.hint_map`), for
        networks that take hints; None: none (the automatic colors). `compiled`: call the network
        as one compiled graph (`compiled_call`): several times faster per batch on a CPU than calling
        it layer by layer, after a first call that traces it (seconds); the paths that stream many
        batches of one shape (video, folders, `evaluate`) take it, a single photo does not."""
        self.check_hints(hints)
        L = tf.convert_to_tensor(np.asarray(L, np.float32))
        extras = dict(self._features().extras(L)) if self.design.features is not None else {}
        if style is not None:
            extras["style"] = tf.convert_to_tensor(np.asarray(style, np.float32))
        if hints is not None:
            extras["hints"] = tf.convert_to_tensor(np.asarray(hints, np.float32))
        codec = self.codec
        inputs = codec.encode_inputs(L, extras)
        if compiled:
            outputs = compiled_call(self.model)(inputs)
        else:
            outputs = self.model(inputs, training=False)
        ab = np.asarray(codec.decode(outputs, inputs), np.float32)
        probabilities = getattr(codec, "class_probabilities", lambda _: None)(outputs)
        return Prediction(ab, None if probabilities is None else np.asarray(probabilities))


def article_contract(name: str) -> Design:
    """The design of a network that is none of the registered ones: the article's contract,
    normalized L in (`L / 50 - 1`, any size a multiple of 8), tanh ab / 128 out."""

    def build(**options):
        raise ValueError(f"{name!r} is a given network, not a registered design; it cannot be built again.")

    return Design(name=name, build=build, summary="a network with the article's inputs and outputs")


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
            there); default: the training size.
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
        features=features,
        source=str(model),
        options=config.get("options", {}),
        classes=config.get("classes"),
        prior=prior,
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
        work_size: the working size it will run at; default: its training size.
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


# --- one photo ------------------------------------------------------------------


def working_shape(h: int, w: int, work_size: int = WORK_SIZE, canvas=None, multiple: int = 8):
    """Where a photo of `h` x `w` pixels goes on the network's canvas.

    Args:
        h, w: the photo's size.
        work_size: longer side of the working resolution; smaller photos are not enlarged.
        canvas: a model's fixed `(height, width)`, or None for any multiple of `multiple`.
        multiple: the design's size multiple.

    Returns:
        `((h, w), (hc, wc))`: the photo's size at the working resolution (aspect
        ratio kept) and the canvas it is padded to (multiples of `multiple`).
    """
    if canvas is None:
        scale = min(1.0, work_size / max(h, w))
    else:
        scale = min(canvas[0] / h, canvas[1] / w)
    content = (max(1, round(h * scale)), max(1, round(w * scale)))
    if canvas is None:
        canvas = (-(-content[0] // multiple) * multiple, -(-content[1] // multiple) * multiple)
    return (min(content[0], canvas[0]), min(content[1], canvas[1])), tuple(canvas)


@dataclass
class Prepared:
    """A photo ready for the network."""

    L: np.ndarray  # (H, W) float32, L in [0, 100] at full resolution
    canvas: np.ndarray  # (hc, wc, 1) float32, L in [0, 100] at the working resolution, padded
    content: tuple  # (h, w): the part of the canvas that holds the photo
    source: str | None = None  # the photo's path, for messages
    hints: np.ndarray | None = None  # (hc, wc, 3): a person's color hints on the canvas (`colornet.hints`)


def prepare(photo: Photo, work_size: int = WORK_SIZE, canvas=None, multiple: int = 8, L=None) -> Prepared:
    """Full-resolution L and the working canvas of one photo (color photos are desaturated here).

    `L`: the photo's CIE L `(H, W)` where it is already known (a video frame's, from
    `fullres.frame_lightness`); `photo.rgb` is not read then."""
    h, w = photo.rgb.shape[:2] if L is None else L.shape
    if min(h, w) < MIN_SIDE:
        raise ImageError(
            f"{photo.path or 'image'}: {w}x{h} pixels is too small to colorize; "
            f"use a photo of at least {MIN_SIDE}x{MIN_SIDE} pixels."
        )
    L = lightness(photo.rgb) if L is None else np.asarray(L, np.float32)
    content, canvas = working_shape(h, w, work_size, canvas, multiple)
    if content == (h, w):
        l_work = L[..., None]
    else:
        l_work = np.asarray(tf.image.resize(L[None, ..., None], content, "bilinear", antialias=True))[0]
    pad = [(0, canvas[0] - content[0]), (0, canvas[1] - content[1]), (0, 0)]
    padded = np.pad(l_work, pad, mode="reflect" if min(content) > 1 else "edge")  # (hc, wc, 1)
    canvas = np.clip(padded, 0.0, 100.0).astype(np.float32)
    return Prepared(L=L, canvas=canvas, content=content, source=photo.path)


def prepare_for(colorizer: Colorizer, photo: Photo, work_size: int | None = None, L=None) -> Prepared:
    """`prepare` with the colorizer's working size, fixed canvas and size multiple."""
    return prepare(
        photo,
        colorizer.work_size(work_size),
        colorizer.canvas_shape(),
        colorizer.design.multiple(colorizer.options),
        L,
    )


def check_finite(ab, source=None) -> None:
    """Raise a one-line `WeightsError` naming `source` (a photo) where the network's colors `ab`
    hold NaN or infinite values (diverged or damaged weights): they would give a black image."""
    if not np.all(np.isfinite(ab)):
        raise WeightsError(
            f"{source or 'image'}: the network's colors came out NaN or infinite (its weights diverged in "
            "training or are damaged), so no result is written; use other weights or retrain."
        )


def finish(prepared: Prepared, ab_canvas, dtype=np.float32) -> np.ndarray:
    """ab predicted on the canvas `(hc, wc, 2)`, in Lab units -> full-resolution RGB `(H, W, 3)`.

    Raises:
        WeightsError: NaN or infinite colors (`check_finite`), naming the photo.
    """
    h, w = prepared.content
    ab = np.asarray(ab_canvas, np.float32)[:h, :w]  # crop the padding
    check_finite(ab, prepared.source)
    return merge_full(prepared.L, np.clip(ab, -AB_SCALE, AB_SCALE), dtype)


def colorize_photos(
    colorizer: Colorizer,
    photos,
    work_size: int | None = None,
    dtype=np.uint8,
    probabilities: list | None = None,
    hints=None,
) -> list:
    """Several photos of any sizes -> their colorized RGB at full size (one network call per
    canvas shape). The path `colorize` and `evaluate` share.

    `probabilities`: a list that receives each photo's scene class probabilities (or None),
    for designs that classify the scene. `hints`: `hints(i, prepared) -> hint map (hc, wc, 3)`
    of the i-th photo on its canvas (`colornet.hints`), for networks that take hints."""
    colorizer.check_hints(hints)
    prepared = [prepare_for(colorizer, p, work_size) for p in photos]
    if hints is not None:
        for i, p in enumerate(prepared):
            p.hints = np.asarray(hints(i, p), np.float32)
    results = [None] * len(prepared)
    scenes = [None] * len(prepared)
    shapes = {}
    for i, p in enumerate(prepared):
        shapes.setdefault(p.canvas.shape, []).append(i)
    for group in shapes.values():
        hint = None if hints is None else np.stack([prepared[i].hints for i in group])
        ab, classes = colorizer.predict(np.stack([prepared[i].canvas for i in group]), hints=hint)
        for k, (i, ab_canvas) in enumerate(zip(group, ab)):
            results[i] = finish(prepared[i], ab_canvas, dtype)
            scenes[i] = None if classes is None else classes[k]
    if probabilities is not None:
        probabilities.extend(scenes)
    return results
