"""The options several commands share, each declared here once: `--model`, `--work-size`,
`--batch-size`, `--precision`, `--temperature` and `--undo-rebalancing`, `--overwrite`.

A command adds them with `add_*_option(parser, ...)`; what rightly differs between commands (a
default, what a batch holds, what `--overwrite` replaces) is a parameter, while each option's
type, check, error message and wording stay the same everywhere:

    add_model_option(parser)                    # --model NAME|PATH (default: beta)
    add_work_size_option(parser)                # --work-size 8..8192, one message for all commands
    add_decoding_options(parser)                # --temperature, --undo-rebalancing
"""

from colornet.arguments import int_in, work_size_argument
from colornet.defaults import DEFAULT_MODEL
from colornet.precision import add_precision_argument
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
    (`colornet.arguments.work_size_argument`). `default_help`: the default where it is not the
    model's training size; `then`: what follows the prediction (`evaluate`: upsampled)."""
    parser.add_argument(
        "--work-size",
        type=work_size_argument,
        default=None,
        help=f"longer side of the resolution the colors are predicted at{then} "
        f"(default: {default_help or f'the size the model was trained at, else {WORK_SIZE}'})",
    )


def add_batch_size_option(parser, default: int, *, items: str = "photos") -> None:
    """`--batch-size`: `items` (photos, frames) per network call, 1 to 1024."""
    parser.add_argument(
        "--batch-size",
        type=batch_size_argument,
        default=default,
        help=f"{items} per network call (default: {default})",
    )


def add_precision_option(parser) -> None:
    """`--precision` of the commands that colorize (float32 unless asked; `auto` measures)."""
    add_precision_argument(parser, default="float32", inference=True)


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
