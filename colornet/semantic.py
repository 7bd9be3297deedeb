"""Two measures of "right" beyond pixel error, seen through an ImageNet classifier (EfficientNet-Lite0).

PSNR rewards safe, desaturated colors: a sepia photo beats a vivid one that picked the wrong hue.
Both measures here ask instead whether the colors look like the real world to a network that never
saw this model:

    semantic  Zhang et al. 2016's "semantic interpretability" test: does the classifier still
              recognize the photo's ImageNet class (top-1) after colorization, compared with the
              gray photo and the real one? Only photos whose class is known count.
    frechet   the Fréchet distance between the classifier's pooled features (1280-d) of the
              colorized photos and of the real ones, as FID does with Inception (Heusel et al.
              2017); lower is better, 0 for identical statistics.

A photo's class comes from a WordNet id in its path (`n01440764/x.jpg`, `n01440764_123.JPEG`, as
ImageNet is laid out) or from a labels file (`read_labels`). `Lite0Scores` accumulates both measures
batch by batch, so `colornet.evaluate` keeps no images, only counts and features.

References:
    Zhang, Isola and Efros, "Colorful Image Colorization", ECCV 2016, https://arxiv.org/abs/1603.08511
        (section 3.1, "Semantic interpretability").
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
        Equilibrium", NeurIPS 2017, https://arxiv.org/abs/1706.08500 (the Fréchet Inception Distance).
"""

import functools
import os
import re
from pathlib import Path

import numpy as np

from colornet.errors import EvaluateError, WeightsError

TRUTH = "truth"  # the column of the real photos, as in colornet.evaluate

CLASSES_FILE = Path(__file__).parent / "resources" / "imagenet_classes.tsv"
CLASSIFIER_SIZE = 224  # Lite0's ImageNet resolution: every crop is resized to 224 x 224
WNID = re.compile(r"(?<![A-Za-z0-9])n\d{8}(?!\d)")  # a WordNet noun id: n + 8 digits
MANIFEST_COLUMNS = ("split", "source", "repository", "commit", "path", "blob", "output")
CLASSIFIER = "EfficientNet-Lite0"


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet WordNet ids in class-index order (Lite0's output i is class i)."""
    with open(CLASSES_FILE, encoding="utf-8") as f:
        return [line.split("\t")[0] for line in f if line.strip()]


def _key(path) -> tuple[str, ...]:
    """A path as its components, for matching a labels file's relative paths as suffixes."""
    return tuple(p for p in Path(os.path.normpath(str(path))).parts if p not in ("", ".", os.sep))


def read_labels(path) -> dict[tuple[str, ...], str | None]:
    """A labels file -> {relative path as components: WordNet id or None}.

    Two forms: the colorization corpus' `manifest.tsv` (a header with the columns
    `split source repository commit path blob output`: the photo is `output`, its class the WordNet
    id anywhere in `path`, None without one), or two columns `relative/path<TAB>wnid` (a header
    line is allowed).

    Raises:
        EvaluateError: a file that cannot be read or has neither form, in one line naming it.
    """
    try:
        with open(path, encoding="utf-8") as f:
            rows = [line.rstrip("\r\n").split("\t") for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise EvaluateError(f"--labels {path}: cannot be read ({reason}); check the path.") from None
    form = "a manifest.tsv (columns " + " ".join(MANIFEST_COLUMNS) + ") or relative/path<TAB>wnid lines"
    if rows and set(MANIFEST_COLUMNS) <= set(rows[0]):
        where, output = rows[0].index("path"), rows[0].index("output")
        labels = {}
        for n, row in enumerate(rows[1:], 2):
            if len(row) < len(rows[0]):
                raise EvaluateError(f"--labels {path}: line {n} has {len(row)} columns, the header more.")
            found = WNID.search(row[where])
            labels[_key(row[output])] = found.group() if found else None
        return labels
    if rows and len(rows[0]) == 2 and not WNID.fullmatch(rows[0][1].strip()):
        rows = rows[1:]  # a header
    bad = next(
        (n for n, row in enumerate(rows, 1) if len(row) != 2 or not WNID.fullmatch(row[1].strip())), None
    )
    if not rows or bad is not None:
        where = f" (line {bad})" if bad else ""
        raise EvaluateError(f"--labels {path}: neither {form}{where}; see colornet evaluate --help.")
    return {_key(p): wnid.strip() for p, wnid in rows}


def wnid_in_path(path) -> str | None:
    """The WordNet id in a photo's path: its nearest folder named `n01440764`, or a file name
    starting `n01440764_`; None without one."""
    parts = Path(path).parts
    name = parts[-1] if parts else ""
    if re.match(r"n\d{8}_", name):
        return name[:9]
    return next((p for p in reversed(parts[:-1]) if re.fullmatch(r"n\d{8}", p)), None)


def labels_for(paths, labels=None) -> list[int | None]:
    """Each photo's ImageNet class index (0-999), or None where unknown: from `labels` (a labels
    file, `read_labels`), matched by its relative paths as suffixes of the photo's path, else from
    a WordNet id in the path. A WordNet id outside the 1000 classes is no class."""
    index = {wnid: i for i, wnid in enumerate(imagenet_classes())}
    table = read_labels(labels) if labels is not None else {}
    longest = max(map(len, table), default=0)
    out = []
    for path in paths:
        parts = _key(os.path.abspath(path))
        suffixes = (parts[k:] for k in range(max(0, len(parts) - longest), len(parts)))
        listed = next((s for s in suffixes if s in table), None)
        wnid = table[listed] if listed is not None else wnid_in_path(path)
        out.append(index.get(wnid))
    return out


def frechet_distance(x, y) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets `(n1, d)` and `(n2, d)`:
    ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)); 0 for identical sets, lower is closer.

    With fewer samples than dimensions (most evaluations: S1 and S2 singular), Tr (S1 S2)^(1/2) is
    computed exactly as the sum of the singular values of the `(n1, n2)` cross Gram matrix; otherwise
    with `scipy.linalg.sqrtm`, real part kept (numpy's eigendecomposition without scipy).

    Raises:
        ValueError: fewer than 2 samples in a set (no covariance), or different widths.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"need two feature sets (n >= 2, d) of one width, got {x.shape} and {y.shape}.")
    xc, yc = x - x.mean(0), y - y.mean(0)
    shift = x.mean(0) - y.mean(0)
    if max(len(x), len(y)) <= x.shape[1]:
        cross = xc @ yc.T / np.sqrt((len(x) - 1) * (len(y) - 1))  # (n1, n2)
        trace_sqrt = np.linalg.svd(cross, compute_uv=False).sum()
    else:
        trace_sqrt = _trace_sqrt_product(np.cov(x, rowvar=False), np.cov(y, rowvar=False))
    trace = (xc**2).sum() / (len(x) - 1) + (yc**2).sum() / (len(y) - 1)
    return max(0.0, float(shift @ shift + trace - 2 * trace_sqrt))  # rounding can dip below 0


def _trace_sqrt_product(s1, s2) -> float:
    """Tr (s1 s2)^(1/2) for covariance matrices `(d, d)`."""
    try:
        from scipy.linalg import sqrtm

        value = float(np.trace(np.real(sqrtm(s1 @ s2))))
        if np.isfinite(value):
            return value
    except ImportError:
        pass
    w, v = np.linalg.eigh(s1)  # otherwise through s1^(1/2) s2 s1^(1/2), symmetric
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum())


def load_classifier(weights="imagenet"):
    """Lite0 with both outputs: uint8-range RGB `(b, 224, 224, 3)` -> pooled features `(b, 1280)`
    and class probabilities `(b, 1000)`, from one pass. With ImageNet's weights it is built once and
    shared (it only predicts). Raises WeightsError (see `efficientnet_lite0`)."""
    return _imagenet_classifier() if weights == "imagenet" else _build_classifier(weights)


@functools.cache
def _imagenet_classifier():
    return _build_classifier("imagenet")


def _build_classifier(weights):
    import keras

    from colornet.lite0 import efficientnet_lite0
    from colornet.precision import precision_scope

    with precision_scope("float32"):  # the same judge whatever policy the caller runs in
        model = efficientnet_lite0(weights=weights, include_top=True)
    return keras.Model(model.input, [model.get_layer("avg_pool").output, model.output], name="lite0_scores")


class Lite0Scores:
    """Both measures over an evaluation, fed one batch and column at a time (`add`), the classifier
    loaded at the first batch. Keeps per column the number of known-class photos recognized and the
    pooled features `(n, 1280)`, never the images.

    Example:
        >>> scores = Lite0Scores(["gray", "beta"])
        >>> scores.add("truth", crops, [281, None]); scores.add("gray", gray, [281, None]); ...
        >>> scores.report()  # {"semantic": {...}, "frechet": {...}, "notes": [...]}
    """

    def __init__(self, columns, weights="imagenet"):
        self.columns = [TRUTH, *columns]  # the real photos first: the reference
        self.weights = weights
        self.model, self.failed = None, None
        self.correct = dict.fromkeys(self.columns, 0)
        self.judged = dict.fromkeys(self.columns, 0)
        self.features = {col: [] for col in self.columns}

    def add(self, column: str, images, classes) -> list[bool | None]:
        """uint8 RGB `(b, h, w, 3)` of `column` and their class indices (None: unknown) -> whether
        each photo's class is the classifier's top-1 (None where unknown, or without the classifier)."""
        if self.model is None and self.failed is None:
            try:
                self.model = load_classifier(self.weights)
            except WeightsError as err:
                self.failed = str(err)
        if self.failed is not None:
            return [None] * len(images)
        import tensorflow as tf

        size = (CLASSIFIER_SIZE, CLASSIFIER_SIZE)
        batch = tf.image.resize(tf.cast(np.asarray(images), tf.float32), size, antialias=True)
        features, probabilities = self.model(batch, training=False)
        self.features[column].append(np.asarray(features, np.float32))
        top1 = np.argmax(np.asarray(probabilities), axis=-1)
        hits = [None if c is None else bool(t == c) for t, c in zip(top1, classes)]
        self.correct[column] += sum(h for h in hits if h is not None)
        self.judged[column] += sum(h is not None for h in hits)
        return hits

    def report(self) -> dict:
        """`semantic` (column -> `{"top1", "photos"}`, when a photo has a known class), `frechet`
        (column other than truth -> distance to the real photos' features, from 2 photos on) and
        `notes` (why a measure is missing)."""
        if self.failed is not None:
            return {
                "notes": [f"{CLASSIFIER} not loaded, no semantic check or Fréchet distance: {self.failed}"]
            }
        out, notes = {}, []
        if self.judged[TRUTH]:
            out["semantic"] = {
                c: {"top1": self.correct[c] / self.judged[c], "photos": self.judged[c]} for c in self.columns
            }
        real = np.concatenate(self.features[TRUTH]) if self.features[TRUTH] else np.zeros((0, 1))
        if len(real) >= 2:
            out["frechet"] = {
                c: frechet_distance(np.concatenate(self.features[c]), real) for c in self.columns[1:]
            }
        else:
            notes.append(f"Fréchet distance left out: it needs 2 photos or more, {len(real)} evaluated.")
        return {**out, "notes": notes}


def _name(column: str) -> str:
    return "real" if column == TRUTH else column


def format_lines(results: dict) -> list[str]:
    """The lines `colornet.evaluate.format_table` prints under the table for these measures."""
    lines = []
    semantic = results.get("semantic")
    if semantic:
        n = semantic[TRUTH]["photos"]
        cells = ", ".join(f"{_name(c)} {100 * v['top1']:.1f} %" for c, v in semantic.items())
        lines.append(f"Recognized by {CLASSIFIER} (top-1, {n} photos with a known class): {cells}")
    frechet = results.get("frechet")
    if frechet:
        cells = ", ".join(f"{c} {v:.2f}" for c, v in frechet.items())
        lines.append(f"Fréchet distance to real photos ({CLASSIFIER} features, lower is better): {cells}")
    return lines
