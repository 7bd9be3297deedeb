"""What `colornet.evaluate` makes of its results: the text table, the JSON record, the grid of the
best and worst photos, and the checks, before any work, of the files they go to.
"""

import json
import math
import os
from pathlib import Path

import numpy as np

from colornet.errors import EvaluateError
from colornet.evaluate_scoring import GRAY, TRUTH, colorize_crops, hint_columns, load_crop, truth_hints
from colornet.files import atomic_path, atomic_write_text

LABELS = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "ab_auc": "AuC ab",
    "ab_auc_rebalanced": "AuC ab rebalanced",
    "ab_auc_rebalanced_set": "AuC ab rebalanced, set",
    "colorfulness": "colorfulness",
    "colorfulness_gap": "colorfulness gap",
}
DIGITS = {
    "psnr": 2,
    "ssim": 4,
    "ab_auc": 4,
    "ab_auc_rebalanced": 4,
    "ab_auc_rebalanced_set": 4,
    "colorfulness": 2,
    "colorfulness_gap": 2,
}


# --- table, JSON and grid ---------------------------------------------------------


def summary_rows(results: dict) -> list[dict]:
    """The summary as rows of plain values: `metric`, `stat`, `truth`, one key per column,
    and `<model> - gray` for each model (None where a value does not apply)."""
    summary, columns = results["summary"], results["columns"]
    rows = []
    metrics = ("psnr", "ssim", "ab_auc", "ab_auc_rebalanced", "ab_auc_rebalanced_set", "colorfulness")
    for metric in (*metrics, "colorfulness_gap"):
        if metric not in summary[columns[0]]:
            continue  # results of an older colornet
        one = metric in ("colorfulness_gap", "ab_auc_rebalanced_set")  # one figure for the set
        for stat in ("mean",) if one else ("mean", "median"):
            row = {"metric": metric, "stat": stat}
            row[TRUTH] = summary[TRUTH]["colorfulness"][stat] if metric == "colorfulness" else None
            for col in columns:
                row[col] = summary[col][metric][stat]
            for col in columns[1:]:
                row[f"{col} - {GRAY}"] = row[col] - row[GRAY]
            rows.append(row)
    return rows


def _fmt(value, digits: int, sign: bool = False) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    if round(value, digits) == 0:
        value = 0.0  # no "-0.00"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def source_name(data) -> str:
    """Where the photos came from, as a report says it: the folder, file or glob; for a list of
    files, the folder that holds them all and how many were listed."""
    if not isinstance(data, (list, tuple)):
        return str(data)
    if len(data) == 1:
        return str(data[0])
    folder = os.path.commonpath([os.path.abspath(str(p)) for p in data]) if data else "."
    return f"{folder} (a list of {len(data)})"


def format_table(results: dict) -> str:
    """The summary as a text table: each metric's mean and median for the real photos'
    colorfulness, the gray baseline and each model, and each model's difference from gray."""
    columns = results["columns"]
    header = ["metric", "stat", TRUTH, *columns, *(f"{c} - {GRAY}" for c in columns[1:])]
    lines, previous = [], None
    for row in summary_rows(results):
        d = DIGITS[row["metric"]]
        label = LABELS[row["metric"]] if row["metric"] != previous else ""
        previous = row["metric"]
        stat = {"colorfulness_gap": "of means", "ab_auc_rebalanced_set": "of the set"}.get(
            row["metric"], row["stat"]
        )
        cells = [label, stat]
        cells += [_fmt(row[TRUTH], d)] + [_fmt(row[c], d) for c in columns]
        cells += [_fmt(row[f"{c} - {GRAY}"], d, sign=True) for c in columns[1:]]
        lines.append(cells)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def join(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    skipped = len(results["skipped"])
    title = (
        f"{results['evaluated']} photos from {results['data']} at {results['size']} px"
        f" ({skipped} of {results['files']} files skipped)"
    )
    note = "Higher is better for PSNR, SSIM and AuC; lower for the colorfulness gap (|mean - truth's mean|)."
    note += (
        "\nAuC ab rebalanced (Zhang et al. 2016): each ab bin of the real colors weighs the same, within each "
        "photo, or over all the photos' pixels (set)."
    )
    work = results.get("work_sizes") or {}
    if any(v != results["size"] for v in work.values()):
        sizes = ", ".join(f"{name} at {v} px" for name, v in work.items())
        note += f"\nColors predicted at the working resolution and upsampled, as colorize does: {sizes}."
    rule = "-" * len(join(header))
    for name, decoding in (results.get("decoding") or {}).items():
        if "temperature" in decoding:
            note += (
                f"\n{name}: colors decoded as the annealed mean at temperature {decoding['temperature']:g}"
                + (
                    f", {decoding['undo_rebalancing']:g} of the rebalancing undone."
                    if "undo_rebalancing" in decoding
                    else "."
                )
            )
    for line in results.get("notes") or []:
        note += f"\n{line}"
    from colornet.semantic import format_lines

    for line in format_lines(results):
        note += f"\n{line}"
    shares = [(c, results["summary"][c].get("better_than_gray")) for c in columns[1:]]
    if shares and all(v is not None for _, v in shares):  # (not in an older colornet's results)
        cells = ", ".join(f"{c} {100 * v['mean']:.1f} %" for c, v in shares)
        note += f"\nPhotos where the PSNR is above gray's: {cells} (of {results['evaluated']})."
    for name, scene in (results.get("scene_accuracy") or {}).items():
        note += (
            f"\nScene class recognized from the gray photo by {name}: {scene['accuracy']:.1%} of the "
            f"{scene['photos']} photos whose folder is one of its classes."
        )
    return "\n".join([title, join(header), rule, *(join(c) for c in lines), note])


def _json_ready(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no infinity (a perfect PSNR)
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def write_json(results: dict, path) -> None:
    """Write the results (settings, summary, per-image rows) as JSON; an infinite PSNR becomes null."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_text(path, json.dumps(_json_ready(results), indent=2, allow_nan=False))  # never half a file


def pick_examples(results: dict, model: str | None = None, n: int = 3) -> tuple[list[dict], list[dict]]:
    """The `n` photos where `model` (default: the first) gains most over gray in PSNR, and the `n`
    where it gains least (or loses), without repeats."""
    model = model or results["columns"][1]
    images = results["images"]
    order = sorted(range(len(images)), key=lambda i: images[i][GRAY]["psnr"] - images[i][model]["psnr"])
    k = max(1, min(n, len(images) // 2))
    best = order[:k]
    worst = [i for i in order[::-1][:k] if i not in best]
    return [images[i] for i in best], [images[i] for i in worst]


def draw_grid(results: dict, models: dict, path, n: int = 3, embedder=None) -> None:
    """Save a grid of the best and worst photos by PSNR gain of the first model:
    one row per photo, columns gray | each model | truth, PSNR under each.

    `models` is the dict name -> Colorizer that was evaluated (see `load_models`);
    the few photos shown are colored again rather than kept in memory.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size, columns = results["size"], results["columns"]
    best, worst = pick_examples(results, n=n)
    rows = [("best", r) for r in best] + [("worst", r) for r in worst]
    crops = np.stack([load_crop(r["path"], size) for _, r in rows])
    panels = {GRAY: colorize_crops(None, crops)}
    work = results.get("work_sizes") or {}
    hints = results.get("hints") or {}
    models, _ = hint_columns(models, sorted(set(hints.values()))) if hints else (models, {})
    paths = [r["path"] for _, r in rows]
    for name in columns[1:]:
        n = hints.get(name)
        panels[name] = colorize_crops(
            models[name],
            crops,
            embedder,
            work.get(name),
            hints=None if n is None else truth_hints(crops, paths, n),
        )
    panels[TRUTH] = crops
    titles = [*columns, TRUTH]

    fig, axes = plt.subplots(
        len(rows), len(titles), figsize=(2.4 * len(titles), 2.6 * len(rows)), squeeze=False
    )
    for i, (kind, row) in enumerate(rows):
        gain = row[columns[1]]["psnr"] - row[GRAY]["psnr"]
        for j, col in enumerate(titles):
            ax = axes[i, j]
            ax.imshow(panels[col][i])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(col)
            if col != TRUTH:
                ax.set_xlabel(f"{row[col]['psnr']:.1f} dB", fontsize=8)
        axes[i, 0].set_ylabel(f"{kind}: {Path(row['path']).name}\n{gain:+.2f} dB", fontsize=8)
    fig.suptitle(f"best and worst photos by PSNR gain of {columns[1]} over gray")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        with atomic_path(path) as tmp:  # an interrupted save leaves the old figure or none
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)


# --- where the outputs go -----------------------------------------------------------


def grid_formats() -> tuple[str, ...]:
    """File extensions the grid can be saved as (matplotlib's: png, jpg, pdf, svg, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(f".{ext}" for ext in FigureCanvasBase.get_supported_filetypes())


def check_output_file(path, flag: str, overwrite: bool = False, suffixes=None) -> None:
    """Before any work: refuse an output that is a folder, has a format that cannot be written,
    or exists (unless `overwrite`), as `colorize` keeps existing results unless --overwrite."""
    if path is None:
        return
    if os.path.isdir(path):
        raise EvaluateError(
            f"{flag} {path}: is a folder; name a file, e.g. {os.path.join(path, 'eval' + (suffixes or ('.json',))[0])}."
        )
    if suffixes and os.path.splitext(path)[1].lower() not in suffixes:
        raise EvaluateError(
            f"{flag} {path}: cannot be written in that format; end it in {', '.join(suffixes)}."
        )
    if os.path.exists(path) and not overwrite:
        raise EvaluateError(f"{flag} {path}: exists; pass --overwrite to replace it, or name another file.")
    parent = os.path.dirname(os.path.abspath(path))
    existing = parent
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK):
        raise EvaluateError(f"{flag} {path}: its folder cannot be written; check the path.")
