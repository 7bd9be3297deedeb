"""The design contract: what each colorization design declares, in one place next to its builder.

    design = get_design("beta")
    model = design.build(width=0.5)                    # a keras.Model
    setup = design.configure({"width": 0.5})           # its codec, loss and size multiple
    inputs, targets = setup.codec.encode(lab, extras)  # training batches
    ab = setup.codec.decode(model(inputs), inputs)     # Lab ab at the working resolution

`train`, `colorize`, `evaluate`, the sample strips and the plots use only this:
a new design is a builder, its `Setup` (or a function of the builder options giving it) and a
`Design` at the bottom of its module, registered with `register`; the contract test
(`tests/test_designs.py`) then checks it with its `tiny_options`. The options the command line
sets are `Option`s, each declared once in the module of the design it belongs to (those several
designs share, `width`, in `layers.py`) and named in the `options` of every design that takes it;
`python -m colornet train` makes one flag of each (`colornet.cli.train`).
"""

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from colornet.codecs import Codec, LabTanhCodec

# an option's default's type -> (the types its value may have, in words); None: any value
OPTION_KINDS = {
    bool: (bool, "true or false"),
    int: (int, "a whole number"),
    float: ((int, float), "a number"),
    str: (str, "a name"),
}

# what a flag's value must be (the `takes` of an `Option` or of a `TrainConfig` setting); the command
# line makes each its argument type (`colornet.cli.train`); none: any text, or one of `choices`
TAKES = {
    "switch": "a flag without a value: True when given",
    "whole": "a whole number from `low` (to `high`, if given)",
    "positive": "a number above 0",
    "share": "a number between 0 and 1",
    "path": "a path, not empty",
    "int": "a whole number",
    "number": "a number",
}


@dataclass(frozen=True)
class Option:
    """A builder option that the command line sets: `--global-size 64` is `global_size=64`.

    Declared once, in the module of the design it belongs to (`GLOBAL_SIZE_OPTION` in `iizuka.py`;
    those several designs share in `layers.py`), and named in the `options` of every design that
    takes it. `python -m colornet train` makes one flag of each name, whose help is this help after
    the designs that take it (`iizuka: side of the global path's input ...`).

    Attributes:
        name: the builder's keyword (`global_size`; the flag is `--global-size`).
        help: what it does, and its default (`(default: 128)`): the flag's help.
        takes: what the value must be (`TAKES`: `switch`, `whole`, `positive`); None: one of `choices`.
        low: the least whole number it takes (`takes="whole"`).
        choices: the names it takes.
        metavar: what the help calls its value (default: the name in capitals).
    """

    name: str
    help: str
    takes: str | None = None
    low: int = 1
    choices: tuple = ()
    metavar: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.takes is not None and self.takes not in TAKES:
            raise ValueError(f"option {self.name!r} takes one of {', '.join(TAKES)}, not {self.takes!r}.")
        if self.takes is None and not self.choices:
            raise ValueError(f"option {self.name!r} needs `takes` or `choices`.")


@dataclass(frozen=True)
class Setup:
    """What training and inference need of a network, beside the network itself."""

    codec: Codec = field(default_factory=LabTanhCodec)  # Lab batches -> inputs, targets; outputs -> ab
    loss: str | dict = "mse"  # a loss name (`colornet.losses`), or a dict output name -> loss
    loss_weights: dict | None = None  # with a loss dict: output name -> weight
    size_multiple: int = 8  # the height and width of the network's input are multiples of this

    def __post_init__(self):
        if not isinstance(self.codec, Codec):
            raise TypeError(f"a design's codec derives from colornet.codecs.Codec, not {type(self.codec)}.")


@dataclass(frozen=True)
class Design:
    """One colorization design.

    Attributes:
        name: the name users type (`beta`); also the prefix of every layer name.
        build: `build(input_size=None, **options) -> keras.Model`.
        setup: the `Setup` (codec, loss, loss weights, size multiple) of every network of this
            design, or `setup(options) -> Setup` where it depends on the builder options (a bin
            head, a U-Net's depth); read through `configure`.
        options: the builder options the command line may set: an `Option` each (`WIDTH_OPTION`), or a
            name alone for one that training sets itself (iizuka's `n_classes`). Read back as
            their names; the `Option`s are in `declared_options`, by name.
        tiny_options: builder options that make a network small enough to test in seconds.
        extra_shapes: shape of each extra input per photo, e.g. `{"embedding": (1000,)}`.
        features: `features(weights=..., **feature options)` -> an object that computes the
            extra inputs from L (the Full model's `Embedder`); None when L alone is enough.
            `make_features` calls it with the network's options.
        feature_options: the builder options that choose the features too (the Full model's
            `embedder`), passed to `features` by `make_features`.
        training_model: `training_model(model, options, codec) -> keras.Model` with its own
            `train_step` (e.g. a GAN), or `model` itself; None trains `model` itself with `fit`.
            `codec` is the run's (with its prior, for a bin head). The run's
            `last.keras` holds it, so it must be serializable (registered, with
            `get_config`/`from_config`).
        labels: the design learns a class per photo (from folder names, `colornet.data.folder_labels`);
            its builder takes their number as `n_classes`.
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
        declared_options: the `Option`s of `options`, by name (filled in from `options`).
    """

    name: str
    build: Callable
    setup: Setup | Callable = field(default_factory=Setup)
    options: tuple[Option | str, ...] = ()
    tiny_options: dict = field(default_factory=dict)
    extra_shapes: dict = field(default_factory=dict)
    features: Callable | None = None
    feature_options: tuple[str, ...] = ()
    training_model: Callable | None = None
    labels: bool = False
    options_for_size: Callable | None = None
    loads: tuple[str, ...] = ()
    lr: float | None = None
    load_pretrained: Callable | None = None
    summary: str = ""
    declared_options: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        declared = {**self.declared_options, **{o.name: o for o in self.options if isinstance(o, Option)}}
        object.__setattr__(self, "options", tuple(getattr(o, "name", o) for o in self.options))
        object.__setattr__(self, "declared_options", declared)

    def configure(self, options: dict | None = None, size: int | None = None, classes=None) -> Setup:
        """The `Setup` of a network built with `options`.

        Args:
            options: the builder options.
            size: the training crop size: the options that follow it and are not given are filled
                in first (`options_for_size`, a U-Net's depth).
            classes: for a design with `labels`, the scene classes (their number, or their names),
                which set `n_classes`.
        """
        options = dict(options or {})
        if size is not None and self.options_for_size is not None:
            options = self.options_for_size(options, size)
        if classes is not None and self.labels:
            options["n_classes"] = classes if isinstance(classes, int) else len(classes)
        return self.setup if isinstance(self.setup, Setup) else self.setup(options)

    def multiple(self, options: dict | None = None) -> int:
        """The size multiple of a network built with `options`."""
        return self.configure(options).size_multiple

    def make_codec(self, options: dict | None = None) -> Codec:
        """The codec for a network built with `options`."""
        return self.configure(options).codec

    def make_loss(self, options: dict | None = None, loss=None):
        """`(loss, loss_weights)` for a network built with `options`; `loss` (a name) replaces
        the design's loss where it has a single output."""
        setup = self.configure(options)
        design_loss, weights = setup.loss, setup.loss_weights
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


def options_by_name() -> dict[str, list[tuple[Option, list[str]]]]:
    """Every `Option` the registered designs declare, by name, in the order they first appear: each
    declaration with the designs that take it (`encoder` has two: features' and the U-Nets')."""
    found: dict[str, dict[Option, list[str]]] = {}
    for design in DESIGNS.values():
        for option in design.declared_options.values():
            found.setdefault(option.name, {}).setdefault(option, []).append(design.name)
    return {name: list(takers.items()) for name, takers in found.items()}


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
