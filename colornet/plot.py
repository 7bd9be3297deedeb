"""Pictures for the notebooks: batches, side-by-side strips, loss curves, Lab channels."""

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from colornet.color import model_io_to_rgb, rgb_to_lab


def _numpy(x):
    return np.asarray(x, dtype=np.float32)


def show_batch(l_norm, ab_norm, n: int = 6, title: str | None = None):
    """Show the first `n` photos of an `(L, ab)` batch: gray above, truth below.

    Args:
        l_norm: normalized L `(b, h, w, 1)`; ab_norm: normalized ab `(b, h, w, 2)`.

    Returns:
        The matplotlib figure.
    """
    l_norm, ab_norm = _numpy(l_norm)[:n], _numpy(ab_norm)[:n]
    gray = _numpy(model_io_to_rgb(l_norm, np.zeros_like(ab_norm)))
    color = _numpy(model_io_to_rgb(l_norm, ab_norm))
    n = len(l_norm)
    fig, axes = plt.subplots(2, n, figsize=(2 * n, 4.3), squeeze=False)
    for i in range(n):
        for row, images, label in ((0, gray, "gray (input)"), (1, color, "truth")):
            axes[row, i].imshow(images[i])
            axes[row, i].axis("off")
            if i == 0:
                axes[row, i].set_title(label, loc="left", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def fit_title(title: str, width: float, fontsize: float) -> str:
    """`title` broken into lines that fit `width` inches at `fontsize` points (about 0.6 em a
    character), so that the titles of neighboring columns never run into each other."""
    chars = max(8, int(width * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.wrap(str(title), chars, break_on_hyphens=False)) or str(title)


def epoch_axis(ax, label: str = "epoch"):
    """Label `ax`'s x axis as epochs, with ticks on whole epochs only."""
    ax.set_xlabel(label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def show_strips(rows, titles=("gray", "colorized", "original"), size: float = 3.0):
    """Show images side by side, one row per photo.

    Args:
        rows: a list of rows, each a list of RGB arrays in [0, 1] (same height).
        titles: column titles, broken into lines where they are wider than a column.

    Returns:
        The matplotlib figure.
    """
    rows = [[np.clip(_numpy(image), 0, 1) for image in row] for row in rows]
    n_cols = max(len(r) for r in rows)
    fontsize = plt.rcParams["axes.titlesize"]
    fontsize = fontsize if isinstance(fontsize, (int, float)) else 12.0
    titles = [fit_title(t, 0.9 * size, fontsize) for t in titles]
    title_lines = max((t.count("\n") + 1 for t in titles), default=1)
    # Each row as high as its tallest image needs at `size` wide: wide photos leave no gaps.
    heights = [max(image.shape[0] / image.shape[1] for image in row) if row else 1.0 for row in rows]
    fig, axes = plt.subplots(
        len(rows),
        n_cols,
        figsize=(size * n_cols, size * sum(heights) + 0.25 * title_lines + 0.15),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.axis("off")
            if j < len(row):
                ax.imshow(row[j])
            if i == 0 and j < len(titles):
                ax.set_title(titles[j])
    fig.tight_layout()
    return fig


def plot_history(history: dict, title: str = "loss", log: bool = True):
    """Plot training curves from a Keras `History.history`-style dict of lists."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in ("loss", "val_loss"):
        if key in history and len(history[key]):
            epochs = np.arange(1, len(history[key]) + 1)
            ax.plot(epochs, history[key], marker="." if len(epochs) < 50 else None, label=key)
    epoch_axis(ax)
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def show_lab(rgb):
    """Show a photo and its L, a and b channels, each with its own color map."""
    lab = _numpy(rgb_to_lab(_numpy(rgb)))
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    axes[0].imshow(rgb)
    axes[0].set_title("RGB photo")
    panels = (
        (lab[..., 0], "gray", (0, 100), "L: lightness, 0 (black) to 100 (white)"),
        (lab[..., 1], "PiYG_r", (-80, 80), "a: green (-) to magenta (+)"),
        (lab[..., 2], "cividis", (-80, 80), "b: blue (-) to yellow (+)"),
    )
    for ax, (channel, cmap, (lo, hi), title) in zip(axes[1:], panels):
        im = ax.imshow(channel, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_ab_bins(values=None, ax=None, title: str = "", L: float = 60.0, log: bool = False, cmap="magma"):
    """Draw the ab bins (`colornet.bins`) as squares on the ab plane: in their own colors (at
    lightness `L`), or as a heat map of `values` `(Q,)` (a prior, weights, a distribution).

    Returns:
        The matplotlib axes.
    """
    from matplotlib.patches import Rectangle

    from colornet.bins import GRID, ab_bins
    from colornet.color import lab_to_rgb

    bins = ab_bins()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4))
    if values is None:
        lab = np.concatenate([np.full((len(bins), 1), L, np.float32), bins], axis=-1)
        colors = np.clip(_numpy(lab_to_rgb(lab[None]))[0], 0, 1)
    else:
        from matplotlib import colors as mcolors

        values = np.asarray(values, np.float64)
        positive = values[values > 0]
        norm = (
            mcolors.LogNorm(positive.min(), values.max())
            if log and positive.size
            else mcolors.Normalize(values.min(), values.max())
        )
        mapping = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        colors = mapping.to_rgba(np.where(values > 0, values, positive.min() if log else values))
        ax.figure.colorbar(mapping, ax=ax, fraction=0.046)
    for (a, b), color in zip(bins, colors):
        ax.add_patch(Rectangle((a - GRID / 2, b - GRID / 2), GRID, GRID, color=color, linewidth=0))
    ax.set_xlim(-120, 120)
    ax.set_ylim(-120, 120)
    ax.set_aspect("equal")
    ax.set_xlabel("a (green - / magenta +)")
    ax.set_ylabel("b (blue - / yellow +)")
    ax.axhline(0, color="0.7", linewidth=0.5)
    ax.axvline(0, color="0.7", linewidth=0.5)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
