"""How close a colorization is to the real photo: per-image metrics on 8-bit RGB.

Every function takes uint8 RGB arrays `(h, w, 3)` (the prediction first, the
real photo second) of the same size, as saved or shown, so that out-of-gamut
clipping and rounding count as they would for a user.

    psnr          peak signal-to-noise ratio over R, G and B, in dB (higher is better)
    ssim          structural similarity, Wang et al. 2004 settings (higher is better, 1 at most)
    colorfulness  Hasler and Suesstrunk 2003 (absolute-value variant); compare with the truth's
    colorfulness_gap  |mean colorfulness(preds) - mean colorfulness(truths)| (lower is better)
    ab_auc        area under the cumulative ab-error curve, Zhang et al. 2016 (higher is better, 1 at most)
    ab_auc_rebalanced  the same with each ab bin's pixels weighted equally ("AuC rebalanced")

References:
    Wang et al., "Image quality assessment: from error visibility to structural
        similarity", IEEE TIP 2004.
    Hasler and Suesstrunk, "Measuring colorfulness in natural images", SPIE 2003.
    Zhang, Isola and Efros, "Colorful Image Colorization", ECCV 2016,
        https://arxiv.org/abs/1603.08511 (section 3.1, "AuC").
"""

import numpy as np

AUC_MAX_THRESHOLD = 150.0  # Zhang et al. 2016 sweep the ab error threshold from 0 to 150
DATA_RANGE = 255.0


def _check_pair(pred, truth):
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} must have the same shape.")
    if pred.shape[-1:] != (3,):
        raise ValueError(f"expected RGB images (..., h, w, 3), got {pred.shape}.")
    for name, arr in (("prediction", pred), ("truth", truth)):
        if arr.dtype != np.uint8:
            raise ValueError(f"{name} must be uint8 RGB, got {arr.dtype}; use colornet.color.to_uint8.")
    return pred, truth


def psnr(pred, truth) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and the three channels.

    PSNR = 10 log10(255^2 / MSE), MSE the mean squared difference of the 8-bit
    values; identical images give `inf`. Same as
    `skimage.metrics.peak_signal_noise_ratio(truth, pred, data_range=255)`.
    """
    pred, truth = _check_pair(pred, truth)
    mse = np.mean((pred.astype(np.float64) - truth.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(DATA_RANGE**2 / mse))


def ssim(pred, truth) -> float:
    """Mean structural similarity over the image and its three channels.

    The settings of Wang et al. 2004: an 11x11 Gaussian window with sigma 1.5,
    population covariances, K1 = 0.01, K2 = 0.03, data range 255; computed
    with `skimage.metrics.structural_similarity` on each RGB channel and
    averaged. Images must be at least 11 pixels on each side.
    """
    from skimage.metrics import structural_similarity

    pred, truth = _check_pair(pred, truth)
    if min(pred.shape[:2]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {pred.shape[1]}x{pred.shape[0]}.")
    return float(
        structural_similarity(
            truth,
            pred,
            channel_axis=-1,
            data_range=DATA_RANGE,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def colorfulness(rgb) -> float:
    """Colorfulness of one 8-bit RGB image (Hasler and Suesstrunk 2003).

    With rg = |R - G| and yb = |(R + G) / 2 - B| per pixel (8-bit values),
    CF = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2),
    standard deviations over all pixels (population, ddof = 0). A gray image
    gives 0; ImageNet validation photos average about 38 (DDColor paper, Table 1).
    """
    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,) or rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB (h, w, 3), got {rgb.dtype} {rgb.shape}.")
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg = np.abs(r - g)
    yb = np.abs(0.5 * (r + g) - b)
    spread = np.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mean = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * mean)


def colorfulness_gap(preds, truths) -> float:
    """|mean colorfulness of the predictions - mean colorfulness of the real photos|.

    A set-level figure (as in the DDColor paper, "Delta CF"): it says whether a
    model's colors are as vivid as real ones on average, not whether they are
    right. `preds` and `truths` are sequences of uint8 RGB images (or arrays
    `(n, h, w, 3)`), possibly of different sizes, and need not be paired.
    """
    preds, truths = list(preds), list(truths)
    if not preds or not truths:
        raise ValueError("colorfulness_gap needs at least one prediction and one real photo.")
    return abs(float(np.mean([colorfulness(p) for p in preds]) - np.mean([colorfulness(t) for t in truths])))


def ab_channels(rgb) -> np.ndarray:
    """uint8 RGB `(..., 3)` -> the a and b channels of CIE Lab `(..., 2)`, float32 (colornet.color)."""
    from colornet.color import rgb_to_lab

    return np.asarray(rgb_to_lab(np.asarray(rgb))[..., 1:])


def ab_error(pred, truth) -> np.ndarray:
    """Per-pixel Euclidean distance between the ab of two uint8 RGB images, `(..., h, w)`."""
    pred, truth = _check_pair(pred, truth)
    diff = ab_channels(pred).astype(np.float64) - ab_channels(truth).astype(np.float64)
    return np.sqrt(np.sum(diff**2, axis=-1))


def auc_of_errors(errors, max_threshold: float = AUC_MAX_THRESHOLD) -> float:
    """Normalized area under the curve t -> share of `errors` <= t, for t in [0, max_threshold].

    The area is exact, not sampled on a grid: for a step curve,
    integral_0^T P(e <= t) dt = T - mean(min(e, T)), so
    AuC = 1 - mean(min(e, T)) / T. It is the limit of averaging the share over
    an ever finer grid of thresholds; averaging over the 151 integer
    thresholds 0..150 instead gives a value within 1/151 of it.
    """
    errors = np.asarray(errors, dtype=np.float64)
    if errors.size == 0:
        raise ValueError("auc_of_errors needs at least one error value.")
    if max_threshold <= 0:
        raise ValueError(f"max_threshold must be positive, got {max_threshold}.")
    return float(1.0 - np.mean(np.minimum(errors, max_threshold)) / max_threshold)


def ab_auc(pred, truth, max_threshold: float = AUC_MAX_THRESHOLD) -> float:
    """AuC of the ab error (Zhang et al. 2016): 1 for a perfect colorization, 0 when every
    pixel is off by `max_threshold` (150) or more in ab.

    The share of pixels whose ab error (Euclidean distance in the a-b plane of
    CIE Lab, D65) is at most t, integrated exactly over t from 0 to
    `max_threshold` and divided by `max_threshold`; see `auc_of_errors`.
    A pixel off by a constant d <= 150 gives 1 - d / 150.
    """
    return auc_of_errors(ab_error(pred, truth), max_threshold)


def ab_bin_of(rgb) -> np.ndarray:
    """uint8 RGB `(..., 3)` -> the ab bin of each pixel's color `(...)` (`colornet.bins`; colors
    outside every bin count in the nearest)."""
    from colornet.bins import nearest_bin

    return np.asarray(nearest_bin(ab_channels(rgb)))


def rebalanced_auc_of_errors(errors, classes, max_threshold: float = AUC_MAX_THRESHOLD) -> float:
    """AuC of `errors` with each class's pixels weighted equally: the mean, over the classes that
    occur in `classes` (same shape as `errors`), of each class's own AuC (`auc_of_errors`)."""
    errors = np.asarray(errors, dtype=np.float64).ravel()
    classes = np.asarray(classes).ravel()
    if errors.size == 0 or errors.shape != classes.shape:
        raise ValueError("rebalanced_auc_of_errors needs one class per error value, and some values.")
    if max_threshold <= 0:
        raise ValueError(f"max_threshold must be positive, got {max_threshold}.")
    sums = np.bincount(classes, weights=np.minimum(errors, max_threshold))
    counts = np.bincount(classes)
    present = counts > 0
    return float(1.0 - np.mean(sums[present] / counts[present]) / max_threshold)


def ab_auc_rebalanced(pred, truth, max_threshold: float = AUC_MAX_THRESHOLD) -> float:
    """ "AuC rebalanced" (Zhang et al. 2016): the AuC of the ab error with the pixels of each color
    class weighted equally, so that a few saturated pixels count as much as a gray wall. The
    classes are the ab bins of the real photo's colors (`colornet.bins`, 261 on a grid of 10).

    The paper weights the classes over its whole test set; here within each photo, and
    `evaluate` averages the photos' values, as it does for every metric. Gray predictions score
    much lower here than in the plain AuC: they are wrong on every colorful class."""
    return rebalanced_auc_of_errors(
        ab_error(pred, truth), ab_bin_of(_check_pair(pred, truth)[1]), max_threshold
    )


def bin_error_sums(pred, truth, max_threshold: float = AUC_MAX_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """`(sums, counts)`, both `(Q,)`: per ab bin of the real colors, the sum of the pixels' ab
    errors (capped at `max_threshold`) and their number. Added up over batches of photos, they give
    the paper's set-wide "AuC rebalanced" (`rebalanced_auc_of_sums`)."""
    from colornet.bins import N_BINS

    pred, truth = _check_pair(pred, truth)
    errors = np.minimum(ab_error(pred, truth), max_threshold).ravel()
    classes = ab_bin_of(truth).ravel()
    return np.bincount(classes, weights=errors, minlength=N_BINS), np.bincount(classes, minlength=N_BINS)


def rebalanced_auc_of_sums(sums, counts, max_threshold: float = AUC_MAX_THRESHOLD) -> float:
    """ "AuC rebalanced" over a set of photos, from the summed `bin_error_sums` of its batches: each
    bin that occurs weighs the same, however many pixels it has in the set."""
    sums, counts = np.asarray(sums, np.float64), np.asarray(counts)
    present = counts > 0
    if not present.any():
        raise ValueError("rebalanced_auc_of_sums needs some pixels.")
    return float(1.0 - np.mean(sums[present] / counts[present]) / max_threshold)


METRICS = ("psnr", "ssim", "colorfulness", "ab_auc", "ab_auc_rebalanced")


def image_metrics(pred, truth) -> dict[str, list[float]]:
    """Every per-image metric for a batch of predictions against the real photos.

    Args:
        pred: uint8 RGB `(b, h, w, 3)`, or one image `(h, w, 3)`.
        truth: the real photos, same shape.

    Returns:
        `{"psnr": [...], "ssim": [...], "colorfulness": [...], "ab_auc": [...],
        "ab_auc_rebalanced": [...]}`,
        one float per image; `colorfulness` is the prediction's.

    Example:
        >>> image_metrics(gray_uint8, photos_uint8)["psnr"]
        [23.1, 19.8]
    """
    pred, truth = _check_pair(pred, truth)
    if pred.ndim == 3:
        pred, truth = pred[None], truth[None]
    errors = ab_error(pred, truth)  # (b, h, w), one Lab conversion for the batch
    classes = ab_bin_of(truth)  # (b, h, w): the real color's ab bin
    return {
        "psnr": [psnr(p, t) for p, t in zip(pred, truth)],
        "ssim": [ssim(p, t) for p, t in zip(pred, truth)],
        "colorfulness": [colorfulness(p) for p in pred],
        "ab_auc": [auc_of_errors(e) for e in errors],
        "ab_auc_rebalanced": [rebalanced_auc_of_errors(e, c) for e, c in zip(errors, classes)],
    }
