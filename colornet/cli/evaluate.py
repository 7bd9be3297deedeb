"""`python -m colornet evaluate --model NAME|PATH ... --data DIR`: its flags, and the command, which
checks where the table, JSON and grid go before any work, then runs `colornet.evaluate.evaluate`."""

import os
import sys

import colornet.evaluate
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
from colornet.errors import EvaluateError
from colornet.evaluate_report import check_output_file, draw_grid, format_table, grid_formats, write_json
from colornet.evaluate_scoring import GRAY, MAX_HINTS, SIZE_RANGE, TRUTH, check_whole, select_paths


def add_arguments(parser) -> None:
    add_model_option(parser, several=True)
    parser.add_argument(
        "--name",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="column names, one per --model in order (default: the provided weights' name, or the run "
        "folder's name for a run's best.weights.h5)",
    )
    parser.add_argument(
        "--data", required=True, metavar="DIR", help="photos: a folder (searched recursively), file or glob"
    )
    parser.add_argument(
        "--size", type=int, default=256, help="side of the square center crops (default: %(default)s)"
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="evaluate N photos spread evenly over the files (default: all)",
    )
    add_batch_size_option(parser, 8)
    parser.add_argument(
        "--json",
        type=path_name,
        metavar="OUT.json",
        help="write the summary and per-photo figures (default: none)",
    )
    parser.add_argument(
        "--grid",
        type=path_name,
        metavar="OUT.png",
        help="draw the best and worst photos: gray | model | truth (default: none)",
    )
    parser.add_argument(
        "--examples",
        type=int_in(1),
        default=3,
        metavar="K",
        help="best and worst photos in the grid (default: %(default)s)",
    )
    add_work_size_option(
        parser,
        then=", then upsampled, as colorize does",
        default_help="each model's own: chosen for its weights, else its training size; at most --size",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="the photos' ImageNet classes for the semantic check: the corpus' manifest.tsv, or lines "
        "relative/path<TAB>wnid (default: a WordNet id in the path, as in n01440764/x.jpg)",
    )
    parser.add_argument(
        "--no-semantic",
        dest="semantic",
        action="store_false",
        help="skip the EfficientNet-Lite0 measures (top-1 on photos of known class, Fréchet distance "
        "to the real photos), which cost a classifier pass per column (default: measured)",
    )
    parser.add_argument(
        "--hints",
        type=int_in(0, MAX_HINTS),
        nargs="+",
        metavar="N",
        help="models with hint channels (features-hints): N color hints sampled from each photo's true colors "
        "(the same places for every model); several numbers give one column each, e.g. --hints 0 1 2 5 10 20 50 "
        "(default: none)",
    )
    add_overwrite_option(parser, "existing --json and --grid files")
    add_precision_option(parser)
    add_decoding_options(parser)


def run(args) -> int:
    outputs = {flag: os.path.realpath(p) for flag, p in (("--json", args.json), ("--grid", args.grid)) if p}
    inputs = {os.path.realpath(p) for p in select_paths(args.data)} if outputs else set()
    for flag, path in outputs.items():  # never written over, --overwrite or not
        if path in inputs:
            given = getattr(args, flag[2:])
            raise EvaluateError(f"{flag} {given}: is one of the input photos; name another file.")
    if len(set(outputs.values())) < len(outputs):
        raise EvaluateError(f"--json and --grid both name {args.json}; name two files.")
    check_output_file(args.json, "--json", args.overwrite)
    check_output_file(args.grid, "--grid", args.overwrite, grid_formats())
    specs = args.model
    if args.name:
        if len(args.name) != len(args.model):
            raise EvaluateError(
                f"--name gives {len(args.name)} name(s) for {len(args.model)} --model(s); give one per model."
            )
        if len(set(args.name)) != len(args.name) or {GRAY, TRUTH} & set(args.name):
            raise EvaluateError(f"--name: use different names, other than {GRAY} and {TRUTH}.")
        specs = dict(zip(args.name, args.model))
    check_whole("--size", args.size, *SIZE_RANGE)  # before the models load
    check_whole("--batch-size", args.batch_size, 1)
    if args.limit is not None:
        check_whole("--limit", args.limit, 1)
    options = inference_options(args)
    models = colornet.evaluate.load_models(specs, precision=options.precision)
    import tensorflow as tf

    try:
        results = colornet.evaluate.evaluate(
            models,
            args.data,
            size=args.size,
            limit=args.limit,
            batch_size=args.batch_size,
            progress=True,
            semantic=args.semantic,
            labels=args.labels,
            hints=args.hints,
            options=options,
        )
    except (MemoryError, tf.errors.ResourceExhaustedError):
        raise EvaluateError(
            f"--size {args.size} with --batch-size {args.batch_size} needs more memory than there is; "
            "use a smaller --size or --batch-size."
        ) from None
    given = dict(zip(models, args.model))
    results["models"] = {  # display name -> the name or path given
        column: given[next(name for name in given if column == name or column.startswith(f"{name} "))]
        for column in results["columns"][1:]
    }
    skipped = results["skipped"]
    if skipped:
        reasons = "; ".join(s["reason"] for s in skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        print(f"skipped {len(skipped)} of {results['files']} file(s): {reasons}", file=sys.stderr)
    print(format_table(results))
    if args.json:
        write_json(results, args.json)
        print(f"wrote {args.json}")
    if args.grid:
        draw_grid(results, models, args.grid, n=args.examples)
        print(f"wrote {args.grid}")
    return 0
