"""The prior over the ab bins: how often each color occurs in a folder of photos.

`python -m colornet prior DIR --out prior.npy`, and `compute_prior(...)` for the notebooks.

Zhang et al. count the ab of every pixel of the training photos in the bins, smooth the
histogram with a Gaussian of sigma 5 over the ab plane, and derive from it the
rebalancing weights of the loss (`colornet.bins.rebalancing_weights`). Photos stream through
the project's photo reader and `tf.data` pipeline (`colornet.data.make_lab_dataset`), center
crops at `size`, without keeping them in memory.

A prior file is a `.npy` array `(Q, 3)`: the a and b of each bin center and its probability,
so that a file made with other bins is recognized and refused.
"""

import math
import os
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from colornet.arguments import WORK_SIZE_RANGE
from colornet.bins import GRID, N_BINS, SIGMA, ab_bins, nearest_bin
from colornet.data import list_images, make_lab_dataset
from colornet.errors import ColornetError
from colornet.files import atomic_path, recorded_checksum, sha256

PRIOR_SIZE = 128  # photos are counted on center crops of this side, in pixels
PRIOR_FILE = "prior.npy"  # what `colornet prior` writes, in the current folder, unless --out says otherwise
GRAY_CHROMA = 1.0  # a photo whose mean chroma is below this (Lab units) is taken for a gray one


def check_options(size, batch_size, sigma, flags: bool = False) -> None:
    """Refuse a crop size outside 1 to 8192 pixels, a batch size below 1, or a sigma that is not a
    number of 0 or more, in one line (naming the command-line flags when `flags`)."""
    for key, value, high in (("size", size, WORK_SIZE_RANGE[1]), ("batch_size", batch_size, None)):
        whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        if not whole or value < 1 or (high is not None and value > high):
            limit = f"from 1 to {high}" if high else "of at least 1"
            name = "--" + key.replace("_", "-") if flags else key
            raise ColornetError(f"{name} {value!r}: use a whole number {limit}.")
    check_sigma(sigma, "--sigma" if flags else "sigma")


def check_sigma(sigma, name: str = "sigma") -> None:
    """Refuse a smoothing that is not a number of 0 or more (NaN would make every probability NaN)."""
    try:
        ok = math.isfinite(sigma) and sigma >= 0
    except TypeError:
        ok = False
    if not ok:
        raise ColornetError(
            f"{name} {sigma!r}: use a number of Lab units, 0 (no smoothing) or more; {SIGMA:g} is the paper's."
        )


def histogram(ab, bins=None) -> tf.Tensor:
    """Pixel counts per bin `(Q,)` float32 of ab `(..., 2)` (each pixel in its nearest bin,
    colors outside every bin clamped to the nearest)."""
    n_bins = N_BINS if bins is None else len(bins)
    index = nearest_bin(ab, bins)  # a color outside every bin: its nearest, where it is clamped to
    return tf.math.bincount(tf.reshape(index, [-1]), minlength=n_bins, maxlength=n_bins, dtype=tf.float32)


def smooth(distribution, bins=None, sigma: float = SIGMA) -> np.ndarray:
    """A distribution over the bins `(Q,)` smoothed with a Gaussian of `sigma` over the ab plane.

    Each bin's mass is spread over the in-gamut bins around it (a Gaussian of the distance
    between bin centers, normalized over the bins), so the result still sums to 1. `sigma` 0
    leaves it as it is."""
    check_sigma(sigma)
    p = np.asarray(distribution, np.float64)
    if sigma < GRID / math.sqrt(1400):  # a neighbor's share below exp(-700): the same as no smoothing
        return p / p.sum()
    bins = ab_bins() if bins is None else np.asarray(bins)
    d2 = np.sum((bins[:, None, :] - bins[None, :, :]) ** 2, axis=-1)  # (Q, Q)
    kernel = np.exp(-d2 / (2.0 * sigma**2))
    kernel /= kernel.sum(axis=0, keepdims=True)  # column k: where bin k's mass goes
    smoothed = kernel @ p
    return smoothed / smoothed.sum()


def compute_prior(
    source,
    size: int = PRIOR_SIZE,
    batch_size: int = 32,
    sigma: float = SIGMA,
    on_error: str = "skip",
    progress: bool = True,
    paths: list[str] | None = None,
) -> np.ndarray:
    """The smoothed prior `(Q,)` float64 of the photos in `source` (folder, file, glob or list).

    Gray photos (mean chroma below 1 Lab unit) are left out: they would count every pixel as
    gray.

    Raises:
        ImageError: no readable photos.
        ColornetError: every photo is gray, so there is no color to count; a size outside 1 to
            8192, a batch size below 1, or a sigma that is not a number of 0 or more.
    """
    check_options(size, batch_size, sigma)
    if paths is None:
        paths = list_images(source, on_error=on_error)
    ds = make_lab_dataset(None, size, batch_size, training=False, cache=False, paths=paths)
    bins = ab_bins()
    counts = np.zeros(len(bins), np.float64)
    gray = 0

    @tf.function
    def count(lab):
        ab = lab[..., 1:]  # (b, size, size, 2)
        chroma = tf.reduce_mean(tf.norm(ab, axis=-1), axis=[1, 2])  # (b,)
        colored = chroma >= GRAY_CHROMA
        return histogram(tf.boolean_mask(ab, colored)), tf.reduce_sum(tf.cast(~colored, tf.int32))

    bar = tqdm(total=len(paths), unit="photo", file=sys.stderr, disable=None if progress else True)
    for lab, _ in ds:
        batch_counts, batch_gray = count(lab)
        counts += np.asarray(batch_counts, np.float64)
        gray += int(batch_gray)
        bar.update(int(lab.shape[0]))
    bar.close()
    if counts.sum() == 0:
        raise ColornetError(
            f"{source}: all {len(paths)} photos are gray, so the prior of their colors cannot be "
            "computed; use a folder of color photos."
        )
    return smooth(counts / counts.sum(), bins, sigma)


def save_prior(path, prior) -> Path:
    """Write a prior `(Q,)` as `(Q, 3)`: bin a, bin b, probability."""
    prior = np.asarray(prior, np.float64)
    if prior.shape != (N_BINS,):
        raise ValueError(f"a prior has one probability per bin, shape ({N_BINS},), not {prior.shape}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # renamed when complete: an error or a kill leaves no half-written prior
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.concatenate([ab_bins().astype(np.float64), prior[:, None]], axis=1))
    return path


def load_prior(path) -> np.ndarray:
    """Read a prior file written by `save_prior` -> `(Q,)` float64.

    Raises:
        ColornetError: a missing or unreadable file, a wrong shape, other bins, values that are
            not a distribution, or a provided prior (recorded in the `SHA256SUMS` beside it, as in
            `weights/`) that differs from its checksum, in one line.
    """
    hint = "compute one with `python -m colornet prior DIR --out FILE`."
    expected = recorded_checksum(path) if os.path.isfile(path) else None
    if expected is not None and sha256(path) != expected:
        raise ColornetError(
            f"{path}: differs from the prior recorded in {Path(path).parent / 'SHA256SUMS'} (changed or corrupt); "
            f"restore it with `git checkout -- {path}`."
        )
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ColornetError(f"{path}: no such prior file; {hint}") from None
    except (OSError, ValueError) as err:
        raise ColornetError(f"{path}: not a prior file ({err}); {hint}") from None
    if array.shape != (N_BINS, 3):
        raise ColornetError(
            f"{path}: has shape {array.shape}, a prior has ({N_BINS}, 3) (a, b, probability of each of "
            f"the {N_BINS} bins); {hint}"
        )
    if not np.allclose(array[:, :2], ab_bins(), atol=1e-3):
        raise ColornetError(
            f"{path}: was made for other ab bins than colornet's {N_BINS} on a grid of {GRID}; {hint}"
        )
    prior = array[:, 2]
    if not (np.all(np.isfinite(prior)) and np.all(prior >= 0) and abs(prior.sum() - 1) < 1e-3):
        raise ColornetError(f"{path}: its probabilities are not a distribution (>= 0, sum 1); {hint}")
    return prior / prior.sum()
