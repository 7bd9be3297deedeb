"""Colors over time in a video: scene cuts from lightness, an exponential moving average of ab
restarted at cuts, and a measure of how much the colors flicker.

    cuts, smooth = CutDetector(), TemporalSmoother(0.6)
    for L, ab in frames:                 # L (h, w) and predicted ab (h, w, 2), working resolution
        ab = smooth(ab, cut=cuts(L))     # ab_t = 0.6 ab_{t-1} + 0.4 predicted_t, restarted at cuts
    meter = FlickerMeter()
    for rgb in output_frames:            # uint8 (H, W, 3)
        meter.add(rgb)
    meter.value                          # mean |ab change| where L barely changed, Lab units

Used by `colornet.video`; nothing here reads or writes files.
"""

import numpy as np
import tensorflow as tf
from PIL import Image

from colornet.color import rgb_to_lab

_thumbnail_lab = tf.function(rgb_to_lab, jit_compile=True)  # compiled once per thumbnail size

# Strength of the moving average. 0.6 keeps 40% of each new prediction: frame-to-frame noise in
# the colors drops to half its amplitude (sqrt((1 - s) / (1 + s)) = 0.5), while a color change
# is followed with a time constant of -1 / ln(0.6) = 2 frames (80 ms at 25 fps): colors lag a
# moving object by about 2 frames.
SMOOTHING = 0.6
# Mean |L change| of the thumbnails (L units, 0-100) that makes a scene cut. On the clips of
# bench/video_flicker.py, cuts between photos measure 20-30 and frames within a panned shot at most
# 3.3; a fast pan or a flash lies between, a slow cross-fade is never a cut (each step is small).
CUT_THRESHOLD = 12.0
CUT_SIDE = 32  # longer side of the L thumbnails compared for cuts: small, so that motion barely counts
FLICKER_SIDE = 128  # longer side at which the flicker of an output is measured
STILL_L = 2.0  # pixels whose L changed less than this (L units) between frames count for the flicker


def thumbnail(L, side: int = CUT_SIDE) -> np.ndarray:
    """L `(h, w)` -> its box-filtered thumbnail, longer side `side` at most, float32."""
    h, w = L.shape
    scale = min(1.0, side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(np.asarray(L, np.float32), mode="F").resize(size, Image.BOX))


class CutDetector:
    """Scene cuts from lightness: call it on each frame's L in order; True where a new scene starts.

    A cut is a mean absolute difference of the L thumbnails of consecutive frames above
    `threshold` (L units); the first frame is not a cut.
    """

    def __init__(self, threshold: float = CUT_THRESHOLD, side: int = CUT_SIDE):
        self.threshold = threshold
        self.side = side
        self.previous = None

    def __call__(self, L) -> bool:
        small = thumbnail(L, self.side)
        cut = self.previous is not None and float(np.mean(np.abs(small - self.previous))) > self.threshold
        self.previous = small
        return cut


class TemporalSmoother:
    """An exponential moving average of ab over frames, restarted at scene cuts.

    `strength` in [0, 1): the weight of the past; 0 colors frame by frame."""

    def __init__(self, strength: float = SMOOTHING):
        self.strength = strength
        self.state = None

    def __call__(self, ab, cut: bool = False) -> np.ndarray:
        ab = np.asarray(ab, np.float32)
        if self.state is None or cut or self.strength == 0:
            self.state = ab
        else:
            self.state = self.strength * self.state + (1 - self.strength) * ab
        return self.state


class FlickerMeter:
    """How much the colors of a video flicker: the mean length of the change of ab (Lab units)
    between consecutive frames, over the pixels whose L changed by less than `STILL_L` (where
    the picture stands still, the colors should too), measured at `FLICKER_SIDE` px and skipping
    pairs of frames across a scene cut. Add uint8 RGB frames in order; read `value`."""

    def __init__(self, cut_threshold: float = CUT_THRESHOLD, side: int = FLICKER_SIDE):
        self.side = side
        self.cuts = CutDetector(cut_threshold)
        self.previous = None
        self.total = 0.0
        self.count = 0

    def add(self, rgb) -> None:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.side / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = np.asarray(Image.fromarray(np.asarray(rgb, np.uint8)).resize(size, Image.BOX))
        lab = np.asarray(_thumbnail_lab(small))
        cut = self.cuts(lab[..., 0])
        if self.previous is not None and not cut:
            still = np.abs(lab[..., 0] - self.previous[..., 0]) < STILL_L
            change = np.linalg.norm(lab[..., 1:] - self.previous[..., 1:], axis=-1)
            self.total += float(change[still].sum())
            self.count += int(still.sum())
        self.previous = lab

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None
