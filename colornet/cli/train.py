"""`python -m colornet train MODEL --data DIR ...`: the flags, made from what they set (one per
`TrainConfig` setting, with its help, default, check and choices; one per option the designs declare,
`colornet.models.spec.Option`); the arguments of `colornet.train.train()` they make; and the command."""

import dataclasses

import colornet.train
from colornet.cli.arguments import fraction, int_in, path_name, positive_float
from colornet.cli.options import add_precision_option
from colornet.errors import ColornetError
from colornet.models import DESIGNS, get_design
from colornet.models.spec import options_by_name
from colornet.signals import sigterm_as_interrupt
from colornet.train_config import TrainConfig, flag_of
from colornet.weights import read_config

# settings whose flag the commands share (`colornet.cli.options`): its wording is there
SHARED_FLAGS = {"precision": lambda parser, default: add_precision_option(parser, default, training=True)}


def argument_type(takes: str | None, low: int = 1, high: int | None = None):
    """The argument type of a value that `takes` (`colornet.models.spec.TAKES`); None for any text."""
    if takes == "whole":
        return int_in(low, high)
    types = {"positive": positive_float, "share": fraction, "path": path_name, "int": int, "number": float}
    return types.get(takes)


def flag_kinds(takes, choices=(), low=1, high=None, metavar=None, nargs=None, required=False) -> dict:
    """`add_argument`'s keywords for a value that `takes` (a switch, a checked value, any text), among
    `choices` where given."""
    if takes == "switch":
        return {"action": "store_true"}
    kinds = dict(type=argument_type(takes, low, high), choices=list(choices) or None, metavar=metavar)
    kinds.update(nargs=nargs, required=required or None)
    return {key: value for key, value in kinds.items() if value is not None}


def add_setting(parser, f: dataclasses.Field) -> None:
    """The flag of one `TrainConfig` setting, from its `setting(...)`: its default is the setting's
    (through `values`, `--xla auto`), said in its help where the help does not say it."""
    meta, flag = f.metadata, flag_of(f)
    values = meta.get("values")
    given = {key: meta[key] for key in ("low", "high", "metavar", "nargs", "required") if key in meta}
    kinds = flag_kinds(meta.get("takes"), values or meta.get("choices", ()), **given)
    help = meta.get("flag_help", meta["help"])
    if flag.startswith("-"):
        kinds["dest"] = f.name
        if "action" not in kinds and "required" not in kinds:
            kinds["default"] = next(k for k, v in values.items() if v == f.default) if values else f.default
            help += "" if "default" in help else " (default: %(default)s)"
    parser.add_argument(flag, help=help, **kinds)


def models_taking(names: list[str]) -> str:
    """`beta, full`, or `every model but alpha` where that is shorter."""
    others = [name for name in DESIGNS if name not in names]
    if len(others) < len(names):
        return "every model" + (f" but {', '.join(others)}" if others else "")
    return ", ".join(names)


def add_model_options(parser) -> None:
    """One flag per option the designs declare (`--width`, `--depth`, ...): its help is each
    declaration's after the designs that take it; its choices, all those the designs take."""
    for name, declared in options_by_name().items():
        first = declared[0][0]
        choices = dict.fromkeys(c for option, _ in declared for c in option.choices)
        kinds = flag_kinds(first.takes, choices, low=first.low, metavar=first.metavar)
        help = "; ".join(f"{models_taking(designs)}: {option.help}" for option, designs in declared)
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=help, **kinds)


def add_arguments(parser):
    """The `train` command's flags, in `TrainConfig`'s order; the models' options where
    `model_options` stands."""
    for f in dataclasses.fields(TrainConfig):
        if f.name in SHARED_FLAGS:
            SHARED_FLAGS[f.name](parser, f.default)
        elif f.name == "model_options":
            add_model_options(parser)
        elif flag_of(f) is not None:
            add_setting(parser, f)


def model_options(args) -> dict:
    """The model options the command line's `args` give (`--width 0.5` -> `{"width": 0.5}`).

    Raises:
        ColornetError: an option the model does not take, or a value its own option does not
            (`--encoder` names features' or the U-Nets' encoders).
    """
    design = get_design(args.model)
    options = {}
    for name in options_by_name():
        value = getattr(args, name)
        if value is None or value is False:  # not given
            continue
        flag = "--" + name.replace("_", "-")
        if name not in design.options:
            allowed = ", ".join(design.options) or "none"
            raise ColornetError(f"{flag} does not apply to {design.name} (it takes: {allowed}).")
        own = design.declared_options.get(name)
        if own is not None and own.choices and value not in own.choices:
            raise ColornetError(
                f"{flag} {value} does not apply to {design.name} (its {flag}: {', '.join(own.choices)})."
            )
        options[name] = value
    return options


def train_arguments(args) -> dict:
    """The keyword arguments of `train(args.model, ...)` that the command line's `args` ask for:
    each `TrainConfig` setting that has a flag (through its `values`, `--xla on` -> True), and the
    model's options.

    Raises:
        ColornetError: a model option (`--depth`, ...) that the model does not take.
    """
    settings = {"model_options": model_options(args)}
    for f in dataclasses.fields(TrainConfig):
        if f.name not in settings and flag_of(f) not in (None, "model"):
            value = getattr(args, f.name)
            settings[f.name] = f.metadata["values"][value] if "values" in f.metadata else value
    return settings


@sigterm_as_interrupt()  # `kill` ends training as Ctrl-C does
def run(args) -> int:
    result = colornet.train.train(args.model, **train_arguments(args))
    if not result.worker.is_chief:
        print(
            f"Done: worker {result.worker.index} of {result.worker.workers} (the chief writes the run folder)."
        )
        return 0
    best = result.history.get("val_loss", [])
    summary = f"best val_loss {min(best):.5f}" if best else "no validation loss"
    print(f"Done: {result.out_dir} ({summary}); weights: {result.best_weights}")
    if result.averaged_weights is not None:
        epochs = (read_config(result.averaged_weights) or {}).get("averaged_epochs", [])
        shown = f"{epochs[0]} to {epochs[-1]}" if len(epochs) > 1 else ", ".join(map(str, epochs))
        print(f"Averaged weights (the mean of epochs {shown}): {result.averaged_weights}")
    return 0
