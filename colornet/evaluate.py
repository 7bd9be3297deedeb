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

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

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
from colornet.inference_options import InferenceOptions, merge_options
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
    precision: str | None = None,
    options: InferenceOptions | None = None,
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
            `colornet.colorize` does; by default each model's own (the working size chosen for its
            weights, else its training size, both recorded beside them), or `size` when unknown.
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
            None: `options`' precision, float32 by default.
        options: an `InferenceOptions` holding `work_size`, `precision`, `temperature` and
            `undo_rebalancing` at once; each of those keywords given (not None) wins over its field.

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

    options = merge_options(
        options,
        work_size=work_size,
        precision=precision,
        temperature=temperature,
        undo_rebalancing=undo_rebalancing,
    )
    work_size = options.work_size
    models = load_models(models, precision=options.precision)
    models, hint_counts = hint_columns(models, hints)
    notes = []
    for name, colorizer in list(models.items()):
        models[name], note = options.decode(colorizer)
        notes += [f"{name}: {note}"] if note else []
    for name, colorizer in list(models.items()):
        fixed = colorizer.canvas_shape()
        if fixed is not None and tuple(fixed) != (size, size):
            raise EvaluateError(f"model {name!r} takes {fixed[1]}x{fixed[0]} inputs; pass --size {fixed[0]}.")
        if embedder is not None and colorizer.design.features is not None:
            models[name] = colorizer = replace(colorizer, features=embedder)
        check_finite_colors(colorizer)  # NaN weights would score as plausible gray photos
    columns = [GRAY, *models]
    work_sizes = {
        name: min(size, work_size or c.default_work_size or c.training_size or size)
        for name, c in models.items()
    }
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
