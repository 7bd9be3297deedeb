"""Evaluate colorization models against the gray baseline on a folder of photos.

Every photo is resized so its shorter side is `size` and center-cropped to
`size` x `size` (the steps `colornet.data` uses), its L channel is colored by
each model, and the 8-bit results are compared with the real photo by the
metrics of `colornet.metrics`. The gray baseline (a = b = 0: the photo's own
lightness, no color) is what any model has to beat.

    python -m colornet evaluate --model beta --data photos/ --json out.json --grid out.png

Example (in a notebook):
    >>> results = evaluate({"beta": model}, "data/val", size=128, limit=200)
    >>> print(format_table(results))
"""

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from colornet.arguments import int_in, path_name
from colornet.errors import EvaluateError
from colornet.evaluate_report import (  # noqa: F401  (kept importable from here)
    DIGITS,
    LABELS,
    check_output_file,
    draw_grid,
    format_table,
    grid_formats,
    pick_examples,
    source_name,
    summary_rows,
    write_json,
)
from colornet.evaluate_scoring import (  # noqa: F401  (kept importable from here)
    GRAY,
    HINT_SEED,
    MAX_HINTS,
    RUN_FILES,
    SIZE_RANGE,
    TRUTH,
    add_bin_sums,
    check_whole,
    colorize_crops,
    hint_columns,
    load_crop,
    load_models,
    model_name,
    scene_accuracy,
    select_paths,
    summarize,
    truth_hints,
)
from colornet.images import ImageError
from colornet.metrics import METRICS, colorfulness, image_metrics


def evaluate(
    models,
    data,
    size: int = 256,
    limit: int | None = None,
    batch_size: int = 8,
    embedder=None,
    progress: bool = False,
    work_size: int | None = None,
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    semantic: bool = True,
    labels=None,
    hints=None,
    precision: str = "float32",
) -> dict:
    """Evaluate models and the gray baseline on the same photos.

    Args:
        models: a model name or weights path, a keras.Model, a list of them, or
            a dict display name -> any of those.
        data: folder (recursive), file, glob, or a list of them.
        size: side of the square center crops, in pixels (at least 16).
        limit: evaluate at most this many photos, spread evenly over the sorted files.
        batch_size: photos per model call.
        embedder: for models with an embedding input (`full`); made once if needed.
        progress: show a progress bar when stderr is a terminal.
        work_size: predict colors at this resolution and upsample them, as
            `colornet.colorize` does; by default each model's training size
            (recorded beside its weights), or `size` when unknown.
        temperature: the annealed mean's temperature for models over ab bins (zhang, beta
            --head bins); default: 0.38. Other models ignore it (a note in `notes`).
        undo_rebalancing: for models over ab bins: the share of the rebalancing taken back
            before the annealed mean (`colornet.bins.undo_rebalancing`); default 0, the paper's.
        semantic: also judge the colors through EfficientNet-Lite0 (`colornet.semantic`): its top-1
            on the photos of known ImageNet class, and the Fréchet distance of its features to the
            real photos'. Costs a Lite0 pass per column on a CPU.
        labels: a file giving the photos' ImageNet classes (`colornet.semantic.read_labels`);
            otherwise a WordNet id in a photo's path (`n01440764/...`) gives its class.
        hints: for models with hint channels (Zhang et al. 2017): a number of hints, or a list
            of numbers, sampled from each photo's true colors (`truth_hints`: seeded by the
            photo, the same for every model); each model then gives one column per number,
            `NAME N hints`. None: no hints.
        precision: the precision of the models given by name or path (`colornet.colorize`):
            `float32` (the default: the same scores on every machine), `mixed_bfloat16`,
            `mixed_float16` or `auto`; `precisions` in the results says which each model ran in.

    Returns:
        A JSON-ready dict: `columns` (`gray` then the models), `images` (per
        photo: `path`, `truth` colorfulness and each column's metrics),
        `summary` (column -> metric -> mean and median, and the colorfulness
        gap), `skipped` (path and reason of each file left out), and the settings; with
        `semantic`, `semantic` (column or truth -> `{"top1", "photos"}`, when a photo has a known
        class) and `frechet` (column -> distance to the real photos, from 2 photos on).
    """
    check_whole("size", size, *SIZE_RANGE)
    check_whole("batch_size", batch_size, 1)
    if limit is not None:
        check_whole("limit", limit, 1)
    from colornet.finite import check_finite_colors
    from colornet.predict import check_work_size

    check_work_size(work_size)
    models = load_models(models, precision=precision)
    models, hint_counts = hint_columns(models, hints)
    notes = []
    for name, colorizer in list(models.items()):
        models[name], note = colorizer.with_temperature(temperature, undo_rebalancing)
        notes += [f"{name}: {note}"] if note else []
    for name, colorizer in list(models.items()):
        fixed = colorizer.canvas_shape()
        if fixed is not None and tuple(fixed) != (size, size):
            raise EvaluateError(f"model {name!r} takes {fixed[1]}x{fixed[0]} inputs; pass --size {fixed[0]}.")
        if embedder is not None and colorizer.design.features is not None:
            models[name] = colorizer = replace(colorizer, features=embedder)
        check_finite_colors(colorizer)  # NaN weights would score as plausible gray photos
    columns = [GRAY, *models]
    work_sizes = {name: min(size, work_size or c.training_size or size) for name, c in models.items()}
    paths = select_paths(data, limit)
    lite0 = classes = None
    if semantic:
        from colornet.semantic import Lite0Scores, labels_for

        classes = dict(zip(paths, labels_for(paths, labels)))  # a bad labels file fails before the work
        lite0 = Lite0Scores(columns)
    elif labels is not None:
        notes.append(f"--labels {labels} not used: the semantic check is off.")

    images, skipped = [], []
    bin_sums = {col: [0.0, 0] for col in columns}  # per column: ab error sums and counts per bin
    batches = range(0, len(paths), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(
            batches, desc="evaluate", unit="batch", file=sys.stderr, disable=None
        )  # off unless a terminal
    for start in batches:
        batch_paths, crops = [], []
        for path in paths[start : start + batch_size]:
            try:
                crop = load_crop(path, size)
            except ImageError as err:
                skipped.append({"path": path, "reason": str(err)})
                continue
            if np.all(crop[..., 0] == crop[..., 1]) and np.all(crop[..., 1] == crop[..., 2]):
                skipped.append({"path": path, "reason": f"{path}: has no color (R = G = B) to compare with."})
                continue
            batch_paths.append(path)
            crops.append(crop)
        if not crops:
            continue
        crops = np.stack(crops)  # (b, size, size, 3) uint8
        gray = colorize_crops(None, crops)
        scores = {GRAY: image_metrics(gray, crops)}
        add_bin_sums(bin_sums[GRAY], gray, crops)
        recognized = {}  # column -> per photo: its ImageNet class is Lite0's top-1 (None: unknown)
        if lite0 is not None:
            known = [classes[p] for p in batch_paths]
            recognized = {TRUTH: lite0.add(TRUTH, crops, known), GRAY: lite0.add(GRAY, gray, known)}
        scenes = {}
        for name, model in models.items():
            scenes[name] = []
            n = hint_counts.get(name)
            colorized = colorize_crops(
                model,
                crops,
                work_size=work_sizes[name],
                probabilities=scenes[name],
                hints=None if n is None else truth_hints(crops, batch_paths, n),
            )
            scores[name] = image_metrics(colorized, crops)
            add_bin_sums(bin_sums[name], colorized, crops)
            if lite0 is not None:
                recognized[name] = lite0.add(name, colorized, known)
        truth_cf = [colorfulness(c) for c in crops]
        for i, path in enumerate(batch_paths):
            row = {"path": path, TRUTH: {"colorfulness": truth_cf[i]}}
            for col in columns:
                row[col] = {m: scores[col][m][i] for m in METRICS}
            for name, model in models.items():
                truth = Path(path).parent.name
                if scenes[name][i] is not None and model.classes and truth in model.classes:
                    guess = model.classes[int(np.argmax(scenes[name][i]))]
                    row[name]["scene"] = {"truth": truth, "predicted": guess, "correct": guess == truth}
            for col, hits in recognized.items():
                if hits[i] is not None:
                    row[col]["recognized"] = hits[i]
            images.append(row)

    if not images:
        raise ImageError(
            f"{data}: none of the {len(paths)} images could be evaluated (first: {skipped[0]['reason']})"
        )
    measures = lite0.report() if lite0 is not None else {}
    return {
        "data": source_name(data),
        "size": size,
        "limit": limit,
        "files": len(paths),
        "evaluated": len(images),
        "skipped": skipped,
        "columns": columns,
        "models": {name: c.name for name, c in models.items()},  # display name -> design
        "work_sizes": work_sizes,  # display name -> resolution the colors were predicted at
        "decoding": {name: c.decoding() for name, c in models.items()},  # {"temperature": T} for bins
        "precisions": {name: c.precision for name, c in models.items()},  # float32, mixed_bfloat16, ...
        "hints": hint_counts,  # column -> hints sampled from the truth of each photo (--hints)
        "notes": notes + measures.get("notes", []),
        "summary": summarize(images, columns, bin_sums),
        "scene_accuracy": scene_accuracy(images, list(models)),
        **{k: v for k, v in measures.items() if k != "notes"},  # semantic, frechet
        "images": images,
    }


# --- command line -------------------------------------------------------------------


def add_arguments(parser) -> None:
    from colornet.options import (
        add_batch_size_option,
        add_decoding_options,
        add_model_option,
        add_overwrite_option,
        add_precision_option,
        add_work_size_option,
    )

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
        default_help="each model's training size, else --size",
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
    models = load_models(specs, precision=args.precision)
    import tensorflow as tf

    try:
        results = evaluate(
            models,
            args.data,
            size=args.size,
            limit=args.limit,
            batch_size=args.batch_size,
            progress=True,
            work_size=args.work_size,
            temperature=args.temperature,
            undo_rebalancing=args.undo_rebalancing,
            semantic=args.semantic,
            labels=args.labels,
            hints=args.hints,
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
