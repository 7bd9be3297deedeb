"""A loaded colorizer: a network with its design and codec, and the call every batch takes.

    colorizer = Colorizer(model=net, design=get_design("beta"))  # `load_colorizer` makes one from weights
    prepared = prepare_for(colorizer, photo)                      # full-resolution L and the working canvas
    ab = colorizer.predict_ab(prepared.canvas[None])[0]           # Lab ab at the working resolution
    rgb = finish(prepared, ab)                                    # full size, L kept, colors in gamut

`colorize_photos` runs several photos of any sizes, one network call per canvas shape; the paths
that stream many batches of one shape call the network as one compiled graph (`compiled_call`).
"""

import weakref
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from colornet.canvas import WORK_SIZE, Prepared, finish, prepare, working_shape
from colornet.codecs import Codec
from colornet.errors import ColornetError
from colornet.images import Photo
from colornet.models import Design

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
        training_size: the crop size it was trained at, or None when unknown.
        default_work_size: the working resolution colors are predicted at unless told otherwise,
            chosen for these weights (their JSON's `work_size`); None: the training size.
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
    default_work_size: int | None = None
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
    def codec(self) -> Codec:
        """The design's codec with this colorizer's prior, temperature and undo (made once)."""
        if "codec" not in self._made:
            self._made["codec"] = self._make_codec()
        return self._made["codec"]

    def _make_codec(self):
        codec = self.design.make_codec(self.options)
        if not codec.decodes_bins:
            return codec
        if self.prior is not None and codec.uses_prior:
            codec = codec.with_prior(self.prior)
        if self.temperature is not None:
            codec = replace(codec, temperature=self.temperature)
        if self.undo is not None:
            codec = replace(codec, undo=self.undo)
        return codec

    @property
    def has_bins(self) -> bool:
        """Whether the network predicts a distribution over ab bins (a temperature applies)."""
        return self.codec.decodes_bins

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
        """The working resolution: `work_size` if given, else the one chosen for these weights
        (`default_work_size`), else the training size, else `WORK_SIZE`."""
        return int(work_size or self.default_work_size or self.training_size or WORK_SIZE)

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
        return self.codec.takes_hints

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
        call = compiled_call(self.model) if compiled else (lambda x: self.model(x, training=False))
        automatic = codec.automatic_inputs(inputs) if codec.takes_hints else None
        if automatic is None:
            outputs = call(inputs)
            ab = codec.decode(outputs, inputs)
        else:  # with and without the hints in one batch: their change is kept near them only
            both = call(tf.nest.map_structure(lambda a, b: tf.concat([a, b], 0), inputs, automatic))
            n = int(L.shape[0])
            outputs = tf.nest.map_structure(lambda x: x[:n], both)
            ab = codec.decode(outputs, inputs, automatic=tf.nest.map_structure(lambda x: x[n:], both))
        ab = np.asarray(ab, np.float32)
        probabilities = codec.class_probabilities(outputs) if codec.gives_classes else None
        return Prediction(ab, None if probabilities is None else np.asarray(probabilities))


def article_contract(name: str) -> Design:
    """The design of a network that is none of the registered ones: the article's contract,
    normalized L in (`L / 50 - 1`, any size a multiple of 8), tanh ab / 128 out."""

    def build(**options):
        raise ValueError(f"{name!r} is a given network, not a registered design; it cannot be built again.")

    return Design(name=name, build=build, summary="a network with the article's inputs and outputs")


# --- several photos --------------------------------------------------------------


def prepare_for(colorizer: Colorizer, photo: Photo, work_size: int | None = None, L=None) -> Prepared:
    """`prepare` with the colorizer's working size, fixed canvas and size multiple."""
    return prepare(photo, *_shape_settings(colorizer, work_size), L)


def content_for(colorizer: Colorizer, h: int, w: int, work_size: int | None = None) -> tuple[int, int]:
    """The size `(h, w)` a photo of `h` x `w` pixels takes on the colorizer's canvas."""
    return working_shape(h, w, *_shape_settings(colorizer, work_size))[0]


def _shape_settings(colorizer: Colorizer, work_size: int | None):
    return (
        colorizer.work_size(work_size),
        colorizer.canvas_shape(),
        colorizer.design.multiple(colorizer.options),
    )


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
