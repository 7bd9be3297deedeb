"""Colors as classes: the in-gamut ab bins, soft-encoding, rebalancing and the annealed mean.

Richard Zhang, Phillip Isola, Alexei A. Efros, "Colorful Image Colorization", ECCV 2016,
https://richzhang.github.io/colorization/

A regression network answers the mean of the plausible colors of a pixel, and the mean of
blue and yellow is gray-green: whole photos come out brown. Zhang et al. cut the ab plane
into square bins, predict a distribution over the bins per pixel, and learn it with a
cross-entropy in which rare (saturated) colors weigh more. Decoding takes an annealed
mean of the distribution: a temperature between the mean (T = 1, safe, sepia) and the
mode (T -> 0, vivid, blotchy).

    bins = ab_bins()                           # (Q, 2) bin centers, Q = 261
    z = soft_encode(ab, bins)                  # (..., Q): 5 nearest bins, Gaussian sigma 5
    w = rebalancing_weights(prior)             # (Q,): ((1 - lambda) p + lambda / Q)^-1, E_p[w] = 1
    ab = annealed_mean(logits, bins, 0.38)     # (..., 2)
    logits = undo_rebalancing(logits, w, 0.5)  # half the tilt toward rare colors taken back (0: the paper)

Everything that runs per pixel is in TensorFlow ops (inside `tf.data` or a model). The
prior over the bins, computed from a folder of photos, is in `colornet.prior`.
"""

import numpy as np
import tensorflow as tf

from colornet.color import rgb_to_lab

GRID = 10  # side of a bin in the ab plane, in Lab units (the paper's)
NEIGHBORS = 5  # a target color is spread over its 5 nearest bins
SIGMA = 5.0  # Gaussian of the soft-encoding and of the prior's smoothing, in Lab units
LAMBDA = 0.5  # share of the uniform distribution in the rebalancing weights
TEMPERATURE = 0.38  # the paper's annealed-mean temperature
BIN_LOSS = "soft_cross_entropy"  # the name of a bin head's loss (`colornet.losses`); not a --loss choice
UNDO_REBALANCING = 0.0  # share of the rebalancing taken back when decoding: by default none, as in the paper
MAX_TEMPERATURE = 10.0  # above this the annealed mean is the plain mean to a few digits; a typo

# The in-gamut bins, derived by `derive_bins` and kept here so that every part of the
# project (and every prior file) agrees on them without recomputing: for each a index
# (bin center a = 10 * index) the first and last b index of a contiguous run of bins.
# Every 8-bit sRGB color was converted to Lab (colornet.color, D65) and the grid cells
# its a and b fall in were kept: 261 bins (the paper, over all of Lab's gamut, has 313).
BIN_ROWS = {
    -9: (8, 8), -8: (4, 8), -7: (2, 9), -6: (0, 9), -5: (-2, 9), -4: (-3, 9), -3: (-4, 9),
    -2: (-4, 9), -1: (-5, 9), 0: (-6, 9), 1: (-7, 8), 2: (-7, 8), 3: (-8, 8), 4: (-9, 8),
    5: (-9, 7), 6: (-10, 7), 7: (-11, 7), 8: (-11, 7), 9: (-9, 0), 10: (-7, -5),
}  # fmt: skip


def ab_bins() -> np.ndarray:
    """The bin centers `(Q, 2)` float32, a and b in Lab units, ordered by a, then b."""
    centers = [(a, b) for a, (low, high) in sorted(BIN_ROWS.items()) for b in range(low, high + 1)]
    return np.asarray(centers, np.float32) * GRID


N_BINS = len(ab_bins())  # Q


def derive_bins(grid: int = GRID) -> np.ndarray:
    """Derive the in-gamut bins from the sRGB gamut: the grid cells that some 8-bit sRGB color
    falls in, as centers `(Q, 2)` in the order of `ab_bins`.

    Only the surface of the RGB cube (a channel at 0 or 255) is converted: every color inside
    the cube shares its a and b with a color of the gamut's surface above or below it in L, so
    the cells hit are the same as with all 16.7 million colors (checked once: 261 both ways),
    in a second instead of half a minute.
    """
    v = np.arange(256, dtype=np.uint8)
    pairs = np.stack(np.meshgrid(v, v, indexing="ij"), -1).reshape(-1, 2)  # (65536, 2)
    faces = [np.insert(pairs, axis, value, axis=1) for axis in range(3) for value in (0, 255)]
    ab = np.asarray(rgb_to_lab(np.concatenate(faces)))[:, 1:]  # (6 * 65536, 2)
    cells = np.unique(np.round(ab / grid).astype(np.int64), axis=0)  # sorted by a, then b
    return cells.astype(np.float32) * grid


def bin_rows(centers) -> dict:
    """`BIN_ROWS` of bin centers (to write the table again after `derive_bins`)."""
    rows: dict[int, list[int]] = {}
    for a, b in np.round(np.asarray(centers) / GRID).astype(int):
        rows.setdefault(int(a), []).append(int(b))
    return {a: (min(bs), max(bs)) for a, bs in sorted(rows.items())}


# --- per pixel, in graph ops --------------------------------------------------------


def _squared_distances(ab, bins):
    """ab `(..., 2)` -> squared distance to every bin center `(..., Q)`, as
    `|ab|^2 - 2 ab.c + |c|^2`: one matrix product, no `(..., Q, 2)` tensor of differences."""
    bins = tf.constant(bins, tf.float32)  # (Q, 2)
    ab = tf.cast(ab, tf.float32)
    cross = tf.tensordot(ab, tf.transpose(bins), axes=[[-1], [0]])  # (..., Q)
    d2 = (
        tf.reduce_sum(tf.square(ab), axis=-1, keepdims=True)
        - 2.0 * cross
        + tf.reduce_sum(tf.square(bins), -1)
    )
    return tf.maximum(d2, 0.0)


def _cell_table() -> tuple[np.ndarray, int, int]:
    """`(table, a0, b0)`: `table[ia - a0, ib - b0]` is the index of the bin whose cell is
    `(ia, ib)` (grid units), -1 where that cell is no bin."""
    a0, b0 = min(BIN_ROWS), min(low for low, _ in BIN_ROWS.values())
    a1, b1 = max(BIN_ROWS), max(high for _, high in BIN_ROWS.values())
    table = np.full((a1 - a0 + 1, b1 - b0 + 1), -1, np.int32)
    for k, (a, b) in enumerate(np.round(ab_bins() / GRID).astype(int)):
        table[a - a0, b - b0] = k
    return table, a0, b0


def nearest_bin(ab, bins=None):
    """ab `(..., 2)` -> index of the nearest bin `(...,)`, int32.

    With colornet's bins, a color inside a bin is looked up by its grid cell, and only the
    colors outside every bin are compared with every bin center."""
    ab = tf.cast(ab, tf.float32)
    if bins is not None:
        return tf.argmin(_squared_distances(ab, bins), axis=-1, output_type=tf.int32)
    table, a0, b0 = _cell_table()
    flat = tf.reshape(ab, [-1, 2])  # (n, 2)
    cell = tf.cast(tf.round(flat / GRID), tf.int32) - tf.constant([a0, b0], tf.int32)  # (n, 2)
    size = tf.constant(table.shape, tf.int32)
    inside = tf.reduce_all((cell >= 0) & (cell < size), axis=-1)
    index = tf.gather_nd(tf.constant(table), tf.clip_by_value(cell, 0, size - 1))
    index = tf.where(inside, index, -1)  # (n,)
    outside = tf.where(index < 0)  # (m, 1): the few colors outside every bin
    distances = _squared_distances(tf.gather_nd(flat, outside), ab_bins())  # (m, Q)
    index = tf.tensor_scatter_nd_update(index, outside, tf.argmin(distances, axis=-1, output_type=tf.int32))
    return tf.reshape(index, tf.shape(ab)[:-1])


def clamp_to_bins(ab, bins=None):
    """Colors outside every bin `(..., 2)` moved to the center of their nearest bin; the others
    are kept. A color is inside a bin when it lies in the bin's square (the grid's cell)."""
    ab = tf.cast(ab, tf.float32)
    nearest = tf.gather(tf.constant(ab_bins() if bins is None else bins, tf.float32), nearest_bin(ab, bins))
    inside = tf.reduce_all(tf.abs(ab - nearest) <= GRID / 2, axis=-1, keepdims=True)
    return tf.where(inside, ab, nearest)


def soft_encode(ab, bins=None, neighbors: int = NEIGHBORS, sigma: float = SIGMA):
    """ab `(..., 2)` in Lab units -> a distribution over the bins `(..., Q)`: the `neighbors`
    nearest bins, weighted by a Gaussian of the distance with `sigma`, summing to 1.

    Colors outside every bin are first clamped to their nearest bin (`clamp_to_bins`)."""
    bins = ab_bins() if bins is None else bins
    d2 = _squared_distances(clamp_to_bins(ab, bins), bins)  # (..., Q)
    neg, index = tf.math.top_k(-d2, k=neighbors)  # (..., k): the nearest first
    # relative to the nearest bin, so that the weights never all underflow to 0
    weights = tf.exp((neg - neg[..., :1]) / (2.0 * sigma**2))  # (..., k)
    weights = weights / tf.reduce_sum(weights, axis=-1, keepdims=True)
    one_hot = tf.one_hot(index, len(bins), dtype=tf.float32)  # (..., k, Q)
    return tf.reduce_sum(one_hot * weights[..., None], axis=-2)  # (..., Q)


def rebalancing_weights(prior, lam: float = LAMBDA) -> np.ndarray:
    """Class rebalancing: `w ∝ ((1 - lam) * prior + lam / Q)^-1`, scaled so that the expected
    weight of a pixel drawn from the prior is 1. `(Q,)` float32.

    With `lam = 1` every bin weighs 1; with `lam = 0` each bin's pixels weigh as much, together,
    as every other bin's (rare colors count as much as common ones)."""
    prior = np.asarray(prior, np.float64)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be from 0 to 1, got {lam}.")
    w = 1.0 / ((1.0 - lam) * prior + lam / len(prior))
    return (w / np.sum(prior * w)).astype(np.float32)


def check_temperature(temperature) -> float:
    """The temperature as a float, or a one-line `ValueError` when it is not in (0, 10]."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        t = float("nan")
    if not 0.0 < t <= MAX_TEMPERATURE:
        raise ValueError(
            f"temperature must be above 0 and at most {MAX_TEMPERATURE:g}, got {temperature!r}; "
            f"use {TEMPERATURE} (the paper's), 1 for the mean, or 0.01 for nearly the mode."
        )
    return t


def check_undo(amount) -> float:
    """The share of the rebalancing to undo as a float, or a one-line `ValueError` outside [0, 1]."""
    try:
        s = float(amount)
    except (TypeError, ValueError):
        s = float("nan")
    if not 0.0 <= s <= 1.0:
        raise ValueError(
            f"undo-rebalancing must be from 0 to 1, got {amount!r}; use 0 for the paper's decoding, "
            "0.5 for half, or 1 to take the rebalancing back entirely."
        )
    return s


def undo_rebalancing(logits, weights, amount: float = UNDO_REBALANCING):
    """Bin logits `(..., Q)` of a network trained with rebalancing weights `(Q,)` ->
    the logits of its distribution with `amount` (0 to 1) of the rebalancing taken back.

    The weighted cross-entropy is smallest when the network predicts `q(bin) ∝ w(bin) p(bin)`,
    the colors' own probability `p` tilted toward rare colors by the weights. Dividing by
    `w^amount` (subtracting `amount * log w` from the logits) takes the tilt back: 0 keeps it
    (the paper's decoding: vivid, and wrong where a gray photo gets a rare color's tint), 1
    removes it (the network's estimate of `p`: right more often, and nearly as dull as a
    regression's mean). In between trades one for the other, like the temperature does."""
    s = check_undo(amount)
    log_w = tf.constant(np.log(np.asarray(weights, np.float64)), tf.float32)
    return tf.cast(logits, tf.float32) - s * log_w


def annealed_mean(logits, bins=None, temperature: float = TEMPERATURE):
    """Bin logits `(..., Q)` -> ab `(..., 2)`: the mean of the distribution re-normalized at
    `temperature`, `softmax(log p / T)` = `softmax(logits / T)`.

    T = 1 is the mean of the predicted distribution; T -> 0 its mode."""
    bins = ab_bins() if bins is None else bins
    t = check_temperature(temperature)
    p = tf.nn.softmax(tf.cast(logits, tf.float32) / t, axis=-1)
    return tf.tensordot(p, tf.constant(bins, tf.float32), axes=[[-1], [0]])


def mode(logits, bins=None):
    """Bin logits `(..., Q)` -> ab `(..., 2)` of the most probable bin (the limit T -> 0)."""
    bins = ab_bins() if bins is None else bins
    return tf.gather(tf.constant(bins, tf.float32), tf.argmax(logits, axis=-1))
