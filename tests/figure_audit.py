"""A matplotlib backend for the notebook tests: Agg, and after each cell a look at every figure it drew.

`run_notebook(..., {**figure_audit.env(path)})` makes a notebook's kernel use it: after each cell, the figures
still open are checked and closed (as Jupyter's inline backend closes them), and what is wrong with them is
appended to the JSON list at `path`, one entry per problem, naming the cell:

- texts that run into each other: titles, axis labels, legend entries, annotations (tick labels aside);
- a subplot with something drawn in it, and no title or axis label on it or on any subplot of its grid
  column, in a figure whose other subplots have them;
- an axis labeled "epoch" with ticks between whole epochs.
"""

import itertools
import json
import os
from pathlib import Path

from matplotlib.backend_bases import FigureManagerBase as FigureManager  # noqa: F401  (a backend's names)
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas  # noqa: F401

VARIABLE = "COLORNET_FIGURE_AUDIT"


def env(path) -> dict:
    """The variables that make a notebook's kernel draw with this backend and report to `path`."""
    tests = os.path.dirname(os.path.abspath(__file__))
    python_path = os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH")) if p)
    return {"MPLBACKEND": "module://figure_audit", "PYTHONPATH": python_path, VARIABLE: str(path)}


def reported(path) -> list[str]:
    """What the kernel reported to `path` (nothing when every figure was fine)."""
    return json.loads(Path(path).read_text()) if Path(path).exists() else []


def texts(fig) -> list:
    """The texts of `fig` a reader reads: titles, axis labels, legends, annotations."""
    found = [fig._suptitle, *fig.texts] if fig._suptitle is not None else list(fig.texts)
    for ax in fig.axes:
        found += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            found += [legend.get_title(), *legend.get_texts()]
    for legend in fig.legends:
        found += [legend.get_title(), *legend.get_texts()]
    unique = {id(t): t for t in found if t is not None}  # a suptitle is among the figure's texts too
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def has_content(ax) -> bool:
    return bool(ax.images or ax.lines or ax.collections or ax.patches)


def is_named(ax) -> bool:
    """A title above the subplot, or a label beside it (a row of a grid named on its left)."""
    labeled = ax.axison and (ax.get_xlabel().strip() or ax.get_ylabel().strip())
    return bool(ax.get_title().strip() or labeled)


def problems(fig) -> list[str]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts(fig)]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        if box_a.overlaps(box_b):
            found.append(f"{a!r} runs into {b!r}")
    plots = [ax for ax in fig.axes if has_content(ax) and ax.get_label() != "<colorbar>"]
    titled = [ax for ax in plots if is_named(ax)]
    if len(plots) > 1 and titled:
        for ax in plots:
            spec = ax.get_subplotspec()
            column = [
                other
                for other in titled
                if spec is not None
                and other.get_subplotspec() is not None
                and set(other.get_subplotspec().colspan) & set(spec.colspan)
            ]
            if ax not in titled and not column:
                found.append("a subplot without a title among titled ones")
    for ax in fig.axes:
        if "epoch" in ax.get_xlabel():
            low, high = sorted(ax.get_xlim())
            ticks = [t for t in ax.get_xticks() if low <= t <= high]
            if any(not float(t).is_integer() for t in ticks):
                found.append(f"epoch ticks between epochs: {[round(float(t), 2) for t in ticks]}")
    return found


def after_cell(result) -> None:
    import matplotlib.pyplot as plt

    found = []
    for number in plt.get_fignums():
        fig = plt.figure(number)
        found += problems(fig)
        plt.close(fig)
    if found:
        path = os.environ[VARIABLE]
        previous = json.load(open(path)) if os.path.exists(path) else []
        cell = result.info.raw_cell.strip().splitlines()[0][:80] if result.info.raw_cell.strip() else ""
        with open(path, "w") as f:
            json.dump(previous + [f"cell {cell!r}: {p}" for p in found], f, indent=1)


def _register() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and os.environ.get(VARIABLE):
        shell.events.register("post_run_cell", after_cell)


_register()
