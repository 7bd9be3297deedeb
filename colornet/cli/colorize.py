"""`python -m colornet colorize [INPUT ...]`: inputs, output, model, sizes, precision, style,
decoding and color hints (`--hint X,Y=COLOR`, `--hints FILE`), and the command, which colorizes them
with `colornet.infer.colorize_files`."""

import argparse

import colornet.infer
from colornet.cli.arguments import int_in, path_name
from colornet.cli.options import (
    add_batch_size_option,
    add_decoding_options,
    add_model_option,
    add_overwrite_option,
    add_precision_option,
    add_work_size_option,
    inference_options,
)
from colornet.defaults import DEFAULT_MODEL, HINTS_MODEL
from colornet.errors import HintError
from colornet.hints import parse_hint, read_hints
from colornet.printing import echo
from colornet.signals import sigterm_as_interrupt


def add_arguments(parser) -> None:
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="photos, folders (recursive) or globs; default: data/Test, filled with sample photos if empty",
    )
    add_model_option(parser, default=None, default_help=f"{DEFAULT_MODEL}; with hints {HINTS_MODEL}")
    parser.add_argument("--out", type=path_name, default="results", help="output folder (default: results)")
    parser.add_argument(
        "--compare", action="store_true", help="also write <name>_compare.png: gray | colorized | original"
    )
    add_overwrite_option(parser, "existing outputs (inputs never)")
    parser.add_argument(
        "--format",
        dest="image_format",
        choices=("png", "jpg"),
        default="png",
        help="output format (default: png; jpg has no alpha and does not keep L exactly)",
    )
    parser.add_argument(
        "--quality", type=int_in(1, 100), default=95, help="JPEG quality, 1-100 (default: 95)"
    )
    add_work_size_option(parser)
    add_batch_size_option(parser, 8)
    add_precision_option(parser)
    parser.add_argument(
        "--style",
        metavar="PHOTO",
        help="iizuka: color with the global features of this photo (its lightness only) "
        "(default: each photo's own)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="iizuka: print the scene class recognized in each photo"
    )
    add_decoding_options(parser)
    add_hint_arguments(parser)


def add_hint_arguments(parser) -> None:
    """`--hint X,Y=COLOR` (repeatable) and `--hints FILE`, for models with hint channels."""
    parser.add_argument(
        "--hint",
        action="append",
        type=hint_argument,
        metavar="X,Y=COLOR",
        help="a color hint at pixel X,Y of the photo (from its top left), e.g. --hint 120,80=#2e7d32; "
        "repeat for more; the model then defaults to features-hints (Zhang et al. 2017) (default: none)",
    )
    parser.add_argument(
        "--hints",
        metavar="FILE",
        help="color hints from a file: a scribble PNG of the photo's size whose non-transparent pixels are "
        'hints, or a JSON list of points [{"x": 120, "y": 80, "color": "#2e7d32"}, ...] (default: none)',
    )


def hint_argument(text: str):
    """The type of `--hint`: `X,Y=COLOR` -> `(x, y, rgb)`."""
    try:
        return parse_hint(text)
    except HintError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix(f"--hint {text!r}: ")) from None


def hints_of(args):
    """The hints the command line gives: `--hint` points, a `--hints` file, or None."""
    if args.hint and args.hints:
        raise HintError("give hints either as --hint points or as a --hints file, not both.")
    if args.hints:
        return read_hints(args.hints)
    return list(args.hint) if args.hint else None


@sigterm_as_interrupt()  # `kill` ends colorizing as Ctrl-C does: no partial output is left
def run(args) -> int:
    from colornet import samples

    options = inference_options(args)  # checked before any work
    inputs = args.inputs
    if not inputs:
        folder = samples.SAMPLES_DIR
        added = samples.fill_samples(folder)
        if added:
            print(
                f"{folder} had no photos: added {len(added)} desaturated sample photos. Drop your own there."
            )
        inputs = [str(folder)]
    hints = hints_of(args)
    summary = colornet.infer.colorize_files(
        inputs,
        args.out,
        args.model,
        image_format=args.image_format,
        quality=args.quality,
        compare=args.compare,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        style=args.style,
        progress=True,
        hints=hints,
        options=options,
    )
    if args.explain:
        echo(summary.scene_report() or "this model does not classify scenes (iizuka does).")
    echo(summary.report())
    return 1 if summary.failed else 0
