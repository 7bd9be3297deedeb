"""`python -m colornet export --model NAME|PATH --format FORMAT --out DIR`: its flags, and the command,
which writes the model with `colornet.export.export_model` and says what it takes and returns."""

import argparse
import time
from pathlib import Path

import colornet.export
from colornet.cli.arguments import path_name
from colornet.cli.options import (
    add_decoding_options,
    add_model_option,
    add_overwrite_option,
    add_work_size_option,
    inference_options,
)
from colornet.export import FIXED_SIZE, FORMATS
from colornet.quantize import QUANTIZATIONS


def image_size(text):
    """`512` (a square) or `WIDTHxHEIGHT` (`512x384`) -> `(height, width)`, each from 8 to 8192."""
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or not all(8 <= v <= 8192 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: use a side such as 512, or WIDTHxHEIGHT such as 512x384")
    width, height = values if len(values) == 2 else values * 2
    return height, width


def add_arguments(parser) -> None:
    add_model_option(parser)
    parser.add_argument(
        "--format",
        dest="image_format",
        choices=FORMATS,
        default="saved_model",
        help="saved_model (any image size), tflite or onnx (one fixed size, --size) (default: saved_model)",
    )
    parser.add_argument(
        "--out", type=path_name, required=True, help="folder to write the exported model into (required)"
    )
    parser.add_argument(
        "--size",
        type=image_size,
        default=FIXED_SIZE,
        help="tflite and onnx: the gray image size the model takes, a side (512) or WIDTHxHEIGHT (512x384) "
        f"(default: {FIXED_SIZE[1]}x{FIXED_SIZE[0]})",
    )
    add_work_size_option(parser)
    add_decoding_options(parser, baked=True)
    parser.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default="float32",
        help="tflite and onnx: float16 stores the weights in float16 (half the file); tflite: int8 runs the "
        "network in int8, weights and activations (a quarter), calibrated on --representative "
        "(default: float32)",
    )
    parser.add_argument(
        "--representative",
        metavar="DIR",
        type=path_name,
        default=None,
        help="--quantize int8: a folder of photos like those the export will colorize, to calibrate the "
        "int8 ranges on (at most 64 are read) (default: scikit-image's sample photos and gradients)",
    )
    add_overwrite_option(
        parser,
        "an existing --out folder that holds an earlier export (its colornet_export.json) and nothing else",
    )


def run(args) -> int:
    start = time.perf_counter()
    info = colornet.export.export_model(
        args.model,
        args.image_format,
        args.out,
        size=args.size,
        quantize=args.quantize,
        representative=args.representative,
        overwrite=args.overwrite,
        options=inference_options(args),
    )
    where = Path(args.out) / info["file"] if info["file"] != "." else Path(args.out)
    print(
        f"exported {info['model']} as {info['format']}"
        + (f" ({info['quantize']})" if info["quantize"] != "float32" else "")
        + f" to {where} ({info['bytes'] / 1e6:.1f} MB) "
        f"in {time.perf_counter() - start:.0f} s: takes {info['input']}, returns {info['output']}; "
        f"colors predicted at {info['work_size']} px"
        + (f", decoded at temperature {info['temperature']}" if "temperature" in info else "")
        + (f", {info['undo_rebalancing']} of the rebalancing undone" if "undo_rebalancing" in info else "")
        + "."
    )
    return 0
