"""The design contract: what each colorization design declares, in one place next to its builder.

    design = get_design("beta")
    model = design.build(width=0.5)                     # a keras.Model
    inputs, targets = design.codec.encode(lab, extras)  # training batches
    ab = design.codec.decode(model(inputs), inputs)     # Lab ab at the working resolution

`train`, `colorize`, `evaluate`, the sample strips and the plots use only this:
a new design is a builder, a codec and a `Design` at the bottom of its module,
registered with `register`; the contract test (`tests/test_designs.py`) then
checks it with its `tiny_options`.
"""

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from colornet.codecs import LabTanhCodec

# an option's default's type -> (the types its value may have, in words); None: any value
OPTION_KINDS = {
    bool: (bool, "true or false"),
    int: (int, "a whole number"),
    float: ((int, float), "a number"),
    str: (str, "a name"),
}


@dataclass(frozen=True)
class Design:
    """One colorization design.

    Attributes:
        name: the name users type (`beta`); also the prefix of every layer name.
        build: `build(input_size=None, **options) -> keras.Model`.
        codec: turns Lab batches into inputs and targets, and outputs into Lab ab.
        loss: the default loss name (see `colornet.losses`), or a dict output name -> loss.
        loss_weights: with a loss dict, output name -> weight.
        size_multiple: height and width of the network's input must be multiples of this.
        options: builder options the command line may set (e.g. `width`, `batch_norm`).
        tiny_options: builder options that make a network small enough to test in seconds.
        extra_shapes: shape of each extra input per photo, e.g. `{"embedding": (1000,)}`.
        features: `features(weights=..., **feature options)` -> an object that computes the
            extra inputs from L (the Full model's `Embedder`); None when L alone is enough.
            `make_features` calls it with the network's options.
        feature_options: the builder options that choose the features too (the Full model's
            `embedder`), passed to `features` by `make_features`.
        codec_for: `codec_for(options) -> codec` where the codec depends on the builder options
            (e.g. whether there is a classification head); None: `codec` for every option.
        loss_for: `loss_for(options) -> (loss, loss_weights)` where the loss depends on them.
        labels: the design learns a class per photo (from folder names, `colornet.data.folder_labels`).
        training_model: `training_model(model, options, codec) -> keras.Model` with its own
            `train_step` (e.g. a GAN), or `model` itself; None trains `model` itself with `fit`.
            `codec` is the run's (with its prior, for a bin head). The run's
            `last.keras` holds it, so it must be serializable (registered, with
            `get_config`/`from_config`).
        multiple_for: `multiple_for(options) -> int` where the size multiple depends on the
            builder options (a U-Net's depth); None: `size_multiple` for every option.
        options_for_size: `options_for_size(options, size) -> options`: options that follow
            the training size when not given (a U-Net's depth), filled in before training.
        loads: other designs whose weights this one's network takes (`unet-gan` starts
            from `unet`).
        lr: this design's default learning rate (None: the trainer's).
        load_pretrained: `load_pretrained(model, weights) -> str | None`: put pretrained
            weights (`"imagenet"`, a path, or None) into part of a new run's network (a
            keras.applications encoder); returns a note for the run's first line, or None
            where the network has no such part.
        summary: one line for `--help` and the docs.
    """

    name: str
    build: Callable
    codec: object = field(default_factory=LabTanhCodec)
    loss: str | dict = "mse"
    loss_weights: dict | None = None
    size_multiple: int = 8
    options: tuple[str, ...] = ()
    tiny_options: dict = field(default_factory=dict)
    extra_shapes: dict = field(default_factory=dict)
    features: Callable | None = None
    feature_options: tuple[str, ...] = ()
    training_model: Callable | None = None
    codec_for: Callable | None = None
    loss_for: Callable | None = None
    labels: bool = False
    multiple_for: Callable | None = None
    options_for_size: Callable | None = None
    loads: tuple[str, ...] = ()
    lr: float | None = None
    load_pretrained: Callable | None = None
    summary: str = ""

    def multiple(self, options: dict | None = None) -> int:
        """The size multiple of a network built with `options`."""
        return self.multiple_for(options or {}) if self.multiple_for else self.size_multiple

    def make_codec(self, options: dict | None = None):
        """The codec for a network built with `options`."""
        return self.codec_for(options or {}) if self.codec_for else self.codec

    def make_loss(self, options: dict | None = None, loss=None):
        """`(loss, loss_weights)` for a network built with `options`; `loss` (a name) replaces
        the design's loss where it has a single output."""
        if self.loss_for is not None:
            design_loss, weights = self.loss_for(options or {})
        else:
            design_loss, weights = self.loss, self.loss_weights
        if loss is not None:  # the color output's loss: the only one, or "ab"
            design_loss = {**design_loss, "ab": loss} if isinstance(design_loss, dict) else loss
        return design_loss, weights

    def make_features(self, options: dict | None = None, weights="imagenet"):
        """The extra-input source of a network built with `options` (the Full model's `Embedder`
        of the classifier it was trained with), with `weights`; None for designs without one."""
        if self.features is None:
            return None
        chosen = {k: v for k, v in (options or {}).items() if k in self.feature_options}
        return self.features(weights=weights, **chosen)

    def complete_options(self, options: dict | None = None) -> dict:
        """`options` with the builder's default for every declared option not given, so that
        the JSON beside a weights file says how the network was built whatever the defaults
        become later."""
        params = inspect.signature(self.build).parameters
        defaults = {
            name: params[name].default
            for name in self.options
            if name in params and params[name].default is not inspect.Parameter.empty
        }
        return {**defaults, **(options or {})}

    def check_options(self, options: dict) -> None:
        """Raise a one-line `ValueError` naming the first of `options` (a weights file's JSON) that
        the builder does not take, or whose value is not of its default's kind (true or false, a
        whole number, a number, a name). Ranges and choices are the builder's to check."""
        params = inspect.signature(self.build).parameters
        known = [n for n in dict.fromkeys([*self.options, *params]) if n not in ("input_size", "name")]
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for name, value in options.items():
            if name not in known and not takes_any:
                raise ValueError(
                    f"unknown option {name!r} for {self.name}; it takes {', '.join(known) or 'none'}"
                )
            default = params[name].default if name in params else None
            allowed, said = OPTION_KINDS.get(type(default), (None, ""))
            wrong_bool = isinstance(value, bool) and not isinstance(default, bool)
            if allowed is not None and (not isinstance(value, allowed) or wrong_bool):
                raise ValueError(f"option {name!r} must be {said}, not {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"option {name!r} must be a finite number, not {value!r}")

    def check_size(self, size: int, what: str = "--size", options: dict | None = None) -> None:
        """Raise a one-line `ValueError` unless `size` is a positive multiple of the size
        multiple of a network built with `options`."""
        m = self.multiple(options)
        if size < m or size % m:
            low = max(m, size // m * m)
            raise ValueError(
                f"{what} must be a positive multiple of {m} for {self.name}, got {size}; "
                f"use {low} or {low + m}."
            )


DESIGNS: dict[str, Design] = {}


def register(design: Design) -> Design:
    """Add a design to the registry (by its name) and return it."""
    DESIGNS[design.name] = design
    return design


def get_design(name) -> Design:
    """A registered design by name (a `Design` is returned as it is).

    Raises:
        ValueError: an unknown name, with the list of known ones.
    """
    if isinstance(name, Design):
        return name
    if name not in DESIGNS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(DESIGNS)}.")
    return DESIGNS[name]
