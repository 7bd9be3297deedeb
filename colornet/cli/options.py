"""The options several commands share, each declared here once: `--model`, `--work-size`,
`--batch-size`, `--precision`, `--temperature` and `--undo-rebalancing`, `--overwrite`.

A command adds them with `add_*_option(parser, ...)`; what rightly differs between commands (a
default, what a batch holds, what `--overwrite` replaces) is a parameter, while each option's
type, check, error message and wording stay the same everywhere:

    add_model_option(parser)                    # --model NAME|PATH (default: beta)
    add_work_size_option(parser)                # --work-size 8..8192, one message for all commands
    add_decoding_options(parser)                # --temperature, --undo-rebalancing
    options = inference_options(args)           # those a command has -> one InferenceOptions

A new inference option is a field of `colornet.inference_options.InferenceOptions` and its flag here,
whose `dest` is the field's name: `inference_options` then passes it to every command that has the flag.
"""

import dataclasses

from colornet.cli.arguments import int_in, work_size_argument
from colornet.defaults import DEFAULT_MODEL
from colornet.inference_options import InferenceOptions
from colornet.precision import PRECISIONS
from colornet.predict import WORK_SIZE
from colornet.weights import provided_names

MAX_BATCH_SIZE = 1024  # images per network call that `--batch-size` accepts
batch_size_argument = int_in(1, MAX_BATCH_SIZE)  # `--batch-size`: the one check every command uses


def model_sources() -> str:
    """What `--model` takes: the provided weights (those weights/SHA256SUMS lists), a path, a run."""
    return (
        f"provided weights by name ({', '.join(provided_names())}), a weights path, or a run folder "
        "(its best.weights.h5)"
    )


def add_model_option(
    parser, *, default=DEFAULT_MODEL, default_help="%(default)s", help=None, several=False
) -> None:
    """`--model`: provided weights by name, a weights path or a run folder.

    Args:
        default: the model without `--model` (None: the command chooses, as `colorize` with hints).
        default_help: how the help states the default (the default itself unless given).
        help: what the option chooses, where it is not `model_sources()` (the web page's first model).
        several: one or more models, required (`evaluate`: one column each).
    """
    what = help or model_sources()
    if several:
        kinds = dict(action="extend", nargs="+", required=True, metavar="NAME|PATH")
        what += "; several (or --model repeated) give one column each"
    else:
        kinds = dict(default=default)
        what += f" (default: {default_help})"
    parser.add_argument("--model", help=what, **kinds)


def add_work_size_option(parser, *, default_help=None, then="") -> None:
    """`--work-size`: the longer side of the resolution colors are predicted at, 8 to 8192 pixels
    (`colornet.cli.arguments.work_size_argument`). `default_help`: the default where it is not the
    model's own; `then`: what follows the prediction (`evaluate`: upsampled)."""
    own = f"the model's own: chosen for its weights, else the size it was trained at, else {WORK_SIZE}"
    parser.add_argument(
        "--work-size",
        type=work_size_argument,
        default=None,
        help=f"longer side of the resolution the colors are predicted at{then} "
        f"(default: {default_help or own})",
    )


def add_batch_size_option(parser, default: int, *, items: str = "photos") -> None:
    """`--batch-size`: `items` (photos, frames) per network call, 1 to 1024."""
    parser.add_argument(
        "--batch-size",
        type=batch_size_argument,
        default=default,
        help=f"{items} per network call (default: {default})",
    )


def add_precision_option(parser, default: str = "float32", *, training: bool = False) -> None:
    """`--precision auto|float32|mixed_bfloat16|mixed_float16`: of the commands that colorize
    (`colorize`, `evaluate`, `video`, `app`; float32 unless asked), whose `auto` is decided per model by
    `colornet.predict.load_colorizer`, or with `training` training's (`train`)."""
    if training:
        auto = (
            "auto picks mixed_float16 on a GPU, mixed_bfloat16 on a CPU with AMX, or with AVX512-BF16 "
            "where bfloat16 measures faster there, else float32"
        )
    else:
        auto = (
            "auto picks mixed_float16 on a GPU and, on a CPU with bfloat16 units, mixed_bfloat16 where it "
            "measures 1.2x faster or more for this model and its colors stay within 1 level of 255 of "
            "float32's on average (a few seconds, once), else float32"
        )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=default,
        help=f"numeric precision: {auto} (default: {default})",
    )


def add_decoding_options(parser, *, baked: bool = False) -> None:
    """`--temperature` and `--undo-rebalancing`, how models over ab bins decode their colors
    (checked by `colornet.predict.Colorizer.with_temperature`); `baked`: into an exported model."""
    into = ", baked into the export" if baked else ""
    parser.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help="zhang, beta --head bins: the annealed mean's temperature, above 0 and at most 10: 1 is the "
        "mean of the predicted colors (safe, sepia), toward 0 the most probable one (vivid, blotchy)"
        f"{into}; ignored with a note by other models (default: 0.38, the paper's)",
    )
    parser.add_argument(
        "--undo-rebalancing",
        type=float,
        metavar="S",
        help="zhang, beta --head bins: the share (0 to 1) of the class rebalancing taken back from the "
        "predicted colors before the annealed mean: 0 is the paper's decoding (vivid, and rare colors' tints "
        f"on gray photos), 1 the network's estimate of the colors' own odds (dull, seldom wrong){into} "
        "(default: 0)",
    )


def add_overwrite_option(parser, replaces: str) -> None:
    """`--overwrite`: replace `replaces` (what the command would otherwise keep), never an input."""
    parser.add_argument("--overwrite", action="store_true", help=f"replace {replaces}")


def inference_options(args) -> InferenceOptions:
    """The `InferenceOptions` of parsed arguments: each field from the flag of the same name
    (`--work-size` -> `work_size`), where the command has it and it was given; the field's default
    otherwise (`export` has no `--precision`: float32).

    Raises:
        ColornetError: a value out of range (`--temperature 0`), in one line.
    """
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(InferenceOptions)
        if getattr(args, f.name, None) is not None
    }
    return InferenceOptions(**given)
