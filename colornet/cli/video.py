"""`python -m colornet video INPUT OUTPUT`: its flags, and the command, which colorizes the video with
`colornet.video.colorize_video`."""

import argparse

import colornet.video
from colornet.cli.options import (
    add_batch_size_option,
    add_decoding_options,
    add_model_option,
    add_overwrite_option,
    add_precision_option,
    add_work_size_option,
    inference_options,
)
from colornet.signals import sigterm_as_interrupt
from colornet.temporal import CUT_THRESHOLD, SMOOTHING
from colornet.video import BATCH_SIZE
from colornet.video_io import CONTAINERS, PRESET, PRESETS


def seconds(text):
    """A number of seconds (`--start`, `--duration`)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number of seconds") from None


def add_arguments(parser) -> None:
    parser.add_argument("input", help="the video to colorize (any container and codec FFmpeg reads)")
    parser.add_argument(
        "output", help=f"the colorized video ({', '.join(CONTAINERS)}); written only when complete"
    )
    add_model_option(parser)
    parser.add_argument(
        "--smoothing",
        type=float,
        default=SMOOTHING,
        help="how much each frame's colors follow the previous frames', from 0 (frame by frame) to "
        f"below 1; restarted at scene cuts (default: {SMOOTHING})",
    )
    parser.add_argument(
        "--cut-threshold",
        type=float,
        default=CUT_THRESHOLD,
        help=f"mean change of lightness (0-100) between frames that counts as a scene cut (default: {CUT_THRESHOLD:g})",
    )
    parser.add_argument(
        "--start",
        type=seconds,
        default=0.0,
        metavar="SECONDS",
        help="where to start, in seconds (default: 0)",
    )
    parser.add_argument(
        "--duration",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="how many seconds to colorize from --start (default: to the end)",
    )
    add_work_size_option(parser)
    add_batch_size_option(parser, BATCH_SIZE, items="frames")
    parser.add_argument(
        "--preset",
        default=PRESET,
        metavar="PRESET",
        help=f"x264's speed preset for H.264 outputs, at CRF 18: {', '.join(PRESETS)} "
        f"(default: {PRESET}; FFmpeg's own is medium)",
    )
    add_overwrite_option(parser, "an existing output")
    add_precision_option(parser)
    add_decoding_options(parser)


@sigterm_as_interrupt()  # `kill` ends the run as Ctrl-C does: the partial output is removed
def run(args) -> int:
    summary = colornet.video.colorize_video(
        args.input,
        args.output,
        args.model,
        smoothing=args.smoothing,
        cut_threshold=args.cut_threshold,
        start=args.start,
        duration=args.duration,
        batch_size=args.batch_size,
        preset=args.preset,
        overwrite=args.overwrite,
        progress=True,
        options=inference_options(args),
    )
    print(summary.report())
    return 0
