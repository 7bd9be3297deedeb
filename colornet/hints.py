"""Color hints (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep
Priors"): a person says "this coat was green" at a point, and the network spreads that color
along the photo's own edges.

A network that takes hints gets, next to L, a hint map `(b, h, w, 3)` at the working size: the
hint's a and b divided by 128 where a hint is and 0 elsewhere, and the hint mask (1 where a hint
is). With an empty map it is an ordinary automatic colorizer.

    codec = HintBinsCodec()                        # the default model's codec with a hint input
    inputs, targets, weights = codec.encode(lab)   # training: hints simulated from the truth
    hints = hint_map(prepared, [(120, 80, "#2e7d32")])  # a person's hints, on the working canvas

Training simulates hints as the paper does (`simulate_hints`): a number of points per photo drawn
from a geometric distribution (many photos get none, a few get many), a share of photos with none
at all so that the automatic mode stays as good, at places uniform over the photo or Gaussian
around its center, each the mean ab of a square patch of the truth 1 to 9 pixels wide.

People give hints as points `(x, y, color)` in the photo's own pixels (color: RGB 0-255, a hex
string `#2e7d32` or a color name), as a scribble image of the photo's size whose non-transparent
pixels are hints, or as a JSON file of points (`read_hints`). Colors become ab under the photo's
own L at that point (`ab_under`): the hue and as much of the chroma as the sRGB gamut holds at
that lightness.

After the network, `HintBinsCodec.decode` carries each hint the rest of the way (`colornet.hint_spread`): the
difference between the hint's color and the network's colors at its pixels is added there and, fading
with the distance, to the pixels around it of like lightness (a joint bilateral filter guided by L), so a
hint's color fills its object and stops where the lightness changes, and colors far from every hint stay
the network's. `spread=0` leaves the network's colors as they are.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import tensorflow as tf
from PIL import Image, ImageColor

from colornet.codecs import BinsCodec
from colornet.color import AB_SCALE, L_MAX, lab_to_rgb, rgb_to_lab
from colornet.errors import HintError, ImageError
from colornet.hint_spread import REACH, SPREAD, SPREAD_L, near_hints, spread_hints
from colornet.images import load_image

MAX_HINTS = 48  # the most points simulated on one training photo
GEOMETRIC_P = 1 / 8  # P(n points) = p (1 - p)^n: mean 7, many photos with few, some with dozens
NONE_SHARE = 0.25  # photos trained without any hint on top of the geometric's own zeros
MAX_HALF = 4  # simulated patches are 2 * half + 1 pixels wide: 1, 3, 5, 7 or 9
PATCH = 5  # side of the square a person's point covers on the working canvas, and `sample_hints`' patch
CHANNELS = 3  # a / 128, b / 128, mask


# --- training: hints simulated from the truth ------------------------------------------------


def simulate_hints(
    lab,
    max_hints: int = MAX_HINTS,
    p: float = GEOMETRIC_P,
    none_share: float = NONE_SHARE,
    max_half: int = MAX_HALF,
):
    """Random hints from the true colors of a Lab batch `(b, h, w, 3)` -> hint maps `(b, h, w, 3)`.

    Each photo gets `n ~ Geometric(p)` points (capped at `max_hints`; none at all for a share
    `none_share` of photos), half the photos at places uniform over it and half Gaussian around
    its center (sigma a quarter of its side); each point reveals the mean ab of a square patch of
    the truth, 1 to `2 max_half + 1` pixels wide, over that patch. Overlapping patches average.
    TensorFlow ops, for `tf.data`."""
    lab = tf.cast(lab, tf.float32)
    shape = tf.shape(lab)
    b, h, w = shape[0], shape[1], shape[2]
    k = max_hints
    ab = lab[..., 1:]
    u = tf.random.uniform([b], minval=1e-7, maxval=1.0)
    n = tf.floor(tf.math.log(u) / tf.math.log(1.0 - p))  # geometric on 0, 1, 2, ...
    n = tf.where(tf.random.uniform([b]) < none_share, 0.0, n)
    n = tf.cast(tf.minimum(n, float(k)), tf.int32)
    valid = tf.range(k)[None, :] < n[:, None]  # (b, k)
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    gaussian = tf.random.uniform([b, 1]) < 0.5

    def place(side):
        uniform = tf.random.uniform([b, k]) * side
        centered = side / 2.0 + tf.random.normal([b, k]) * side / 4.0
        where = tf.where(gaussian, centered, uniform)
        return tf.cast(tf.clip_by_value(tf.floor(where), 0.0, side - 1.0), tf.int32)

    y, x = place(hf), place(wf)  # (b, k)
    half = tf.random.uniform([b, k], 0, max_half + 1, dtype=tf.int32)
    means = tf.stack(
        [tf.nn.avg_pool2d(ab, 2 * s + 1, 1, "SAME") for s in range(max_half + 1)], axis=3
    )  # (b, h, w, sizes, 2): the mean of each patch (SAME pooling averages the pixels inside the photo)
    rows = tf.tile(tf.range(b)[:, None], [1, k])
    color = tf.gather_nd(means, tf.stack([rows, y, x, half], axis=-1))  # (b, k, 2)
    on = tf.cast(valid, tf.float32)
    in_rows = tf.cast(tf.abs(tf.range(h)[None, None, :] - y[..., None]) <= half[..., None], tf.float32)
    in_cols = tf.cast(tf.abs(tf.range(w)[None, None, :] - x[..., None]) <= half[..., None], tf.float32)
    in_rows = in_rows * on[..., None]  # (b, k, h)
    count = tf.einsum("bkh,bkw->bhw", in_rows, in_cols)
    total = tf.einsum("bkh,bkwc->bhwc", in_rows, in_cols[..., None] * color[:, :, None, :])
    mask = tf.cast(count > 0.0, tf.float32)[..., None]
    ab_map = total / tf.maximum(count, 1.0)[..., None]
    return tf.concat([ab_map / AB_SCALE * mask, mask], axis=-1)


def no_hints(L):
    """An empty hint map for L `(b, h, w, 1)`: the automatic mode."""
    L = tf.convert_to_tensor(L)
    return tf.zeros(tf.concat([tf.shape(L)[:3], [CHANNELS]], axis=0), tf.float32)


@dataclass(frozen=True)
class HintBinsCodec(BinsCodec):
    """The bins codec (`colornet.codecs.BinsCodec`) of a network that also takes a hint map:
    `encode` simulates hints from the truth of each training photo (`simulate_hints`);
    `encode_inputs` takes a person's hints from `extras["hints"]`, none when not given; `decode`
    keeps the network's change under hints near them only, then spreads what it left between each
    hint and its colors (`spread_hints`).

    Attributes (besides `BinsCodec`'s):
        reach: how far the network's own change under hints is kept, the sigma of a Gaussian around
            the hints as a share of the canvas' longer side (0: everywhere, no automatic pass).
        spread: how far each hint's color is carried after the network, the sigma of its Gaussian
            as a share of the canvas' longer side (0: the network's colors as they are).
        spread_l: how alike in lightness (L units) a pixel must be to a hint's to take its color.
    """

    extra_inputs: tuple[str, ...] = ("hints",)
    name: str = "ab_bins_hints"
    reach: float = REACH
    spread: float = SPREAD
    spread_l: float = SPREAD_L
    takes_hints: ClassVar[bool] = True

    def encode_inputs(self, L, extras=None):
        """L `(b, h, w, 1)` in [0, 100] (+ `extras["hints"]`, hint maps `(b, h, w, 3)`) ->
        `(normalized L, hint maps)`."""
        l_norm = super().encode_inputs(L, extras)
        hints = (extras or {}).get("hints")
        hints = no_hints(L) if hints is None else tf.cast(hints, tf.float32)
        return l_norm, hints

    def encode(self, lab, extras=None):
        """Lab batch -> `((L, simulated hints), soft targets, per-pixel weights)` for `model.fit`."""
        targets, weights = self.encode_targets(lab, extras)
        l_norm = super().encode_inputs(lab[..., :1], extras)
        return (l_norm, simulate_hints(lab)), targets, weights

    def automatic_inputs(self, inputs):
        """`inputs` `(normalized L, hint maps)` without their hints, for the automatic colors that
        `decode` keeps far from the hints; None without hints or with `reach` 0."""
        l_norm, hints = inputs
        if not self.reach or not bool(tf.reduce_any(hints[..., 2] > 0)):
            return None
        return l_norm, tf.zeros_like(hints)

    def decode(self, outputs, inputs=None, automatic=None):
        """Bin logits -> ab as `BinsCodec.decode` gives them; with `automatic` (the logits for
        `automatic_inputs(inputs)`), the hints' change kept near them only (`near_hints`); then each
        hint's color carried over its pixels and those of like lightness around (`spread_hints`)."""
        ab = super().decode(outputs, inputs)
        if inputs is None:
            return ab
        l_norm, hints = inputs
        if automatic is not None and self.reach:
            plain = super().decode(automatic, inputs)
            ab = plain + near_hints(hints, self.reach, factor=self.factor) * (ab - plain)
        if not self.spread:
            return ab
        L = (tf.cast(l_norm, tf.float32) + 1.0) * (L_MAX / 2.0)
        return spread_hints(ab, L, hints, self.spread, self.spread_l, factor=self.factor)


# --- a person's hints ----------------------------------------------------------------------------


def parse_color(color, what: str = "hint") -> tuple[int, int, int]:
    """RGB 0-255 from `(r, g, b)` (0-255 whole numbers, or 0-1 floats), `#2e7d32`, `#2e7`, a
    color name (`forestgreen`) or `rgb(46, 125, 50)`.

    Raises:
        HintError: anything else, in one line naming `what`.
    """
    if isinstance(color, str) and color.count(",") == 2 and not color.strip().startswith("rgb"):
        color = color.split(",")
        try:
            color = [int(c) for c in color]
        except ValueError:
            color = None
    if isinstance(color, str):
        try:
            rgb = ImageColor.getrgb(color.strip())
        except ValueError:
            raise HintError(
                f"{what}: cannot read the color {color!r}; use #rrggbb (e.g. #2e7d32), a color name or r,g,b."
            ) from None
        return tuple(int(c) for c in rgb[:3])
    try:
        values = [float(c) for c in color]
    except (TypeError, ValueError):
        values = []
    if len(values) != 3 or not all(np.isfinite(values)):
        raise HintError(f"{what}: the color {color!r} is not three numbers; use (r, g, b) 0-255 or #rrggbb.")
    if all(isinstance(c, float) for c in color) and all(0.0 <= v <= 1.0 for v in values):
        values = [v * 255.0 for v in values]
    if not all(0.0 <= v <= 255.0 for v in values):
        raise HintError(
            f"{what}: the color {color!r} has values outside 0-255; use (r, g, b) 0-255 or #rrggbb."
        )
    return tuple(int(round(v)) for v in values)


def ab_under(L, rgb) -> np.ndarray:
    """The ab a color should have under lightness `L`: the color's hue and as much of its chroma
    as stays inside sRGB at that L. `L` `(...)` in [0, 100], `rgb` `(..., 3)` 0-255 -> ab `(..., 2)`."""
    L = np.asarray(L, np.float32)
    ab = np.asarray(rgb_to_lab(np.asarray(rgb, np.float32) / 255.0), np.float32)[..., 1:]
    ab = np.broadcast_to(ab, L.shape + (2,)).copy()
    low, high = np.zeros(L.shape, np.float32), np.ones(L.shape, np.float32)

    def fits(scale):
        lab = np.concatenate([L[..., None], ab * scale[..., None]], axis=-1)
        back = np.asarray(rgb_to_lab(lab_to_rgb(lab)), np.float32)  # lab_to_rgb clips out-of-gamut colors
        return np.abs(back - lab).max(axis=-1) < 0.5

    full = fits(high)
    for _ in range(12):  # bisection on the share of the chroma kept
        mid = (low + high) / 2
        ok = fits(mid)
        low, high = np.where(ok, mid, low), np.where(ok, high, mid)
    scale = np.where(full, 1.0, low)
    return (ab * scale[..., None]).astype(np.float32)


def parse_hint(text: str) -> tuple[float, float, tuple[int, int, int]]:
    """`"120,80=#2e7d32"` (x, y in the photo's pixels, then a color) -> `(x, y, rgb)`.

    Raises:
        HintError: another form, in one line.
    """
    where, sep, color = str(text).partition("=")
    try:
        x, y = (float(v) for v in where.split(","))
    except ValueError:
        x = y = None
    if not sep or x is None:
        raise HintError(
            f"--hint {text!r}: write X,Y=COLOR in the photo's pixels, e.g. --hint 120,80=#2e7d32."
        )
    return x, y, parse_color(color, f"--hint {text!r}")


def read_hints(path):
    """Hints from a file: a JSON list of points (`[{"x": 120, "y": 80, "color": "#2e7d32"}, ...]`
    or `[[120, 80, "#2e7d32"], ...]`), or a scribble image (PNG with transparency: its
    non-transparent pixels are hints), returned as a list of points or an RGBA array.

    Raises:
        HintError: a missing, unreadable or malformed file, in one line naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise HintError(f"{path}: no such hints file; give a JSON list of points or a scribble PNG.")
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise HintError(
                f"{path}: not readable as JSON ({err}); write a list of points, e.g. "
                '[{"x": 120, "y": 80, "color": "#2e7d32"}].'
            ) from None
        if not isinstance(items, list):
            raise HintError(f"{path}: the JSON must be a list of points with x, y and color.")
        points = []
        for i, item in enumerate(items):
            if isinstance(item, dict) and {"x", "y", "color"} <= set(item):
                x, y, color = item["x"], item["y"], item["color"]
            elif isinstance(item, list) and len(item) == 3:
                x, y, color = item
            else:
                raise HintError(f"{path}: point {i + 1} is not {{x, y, color}} or [x, y, color].")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
                raise HintError(f"{path}: point {i + 1} needs numbers for x and y, got {x!r}, {y!r}.")
            points.append((float(x), float(y), parse_color(color, f"{path}: point {i + 1}")))
        return points
    try:
        photo = load_image(path)
    except ImageError as err:
        raise HintError(str(err)) from None
    if photo.alpha is None:
        raise HintError(
            f"{path}: the scribble image has no transparency; draw the hints on a transparent layer "
            "(a PNG with alpha) or give a JSON list of points."
        )
    alpha = np.asarray(photo.alpha, np.float32).reshape(photo.rgb.shape[:2])
    return np.concatenate([np.asarray(photo.rgb, np.float32) * 255.0, alpha[..., None] * 255.0], axis=-1)


def scribble_points(rgba) -> tuple[np.ndarray, np.ndarray]:
    """A scribble `(H, W, 4)` -> `(mask (H, W) bool, rgb (H, W, 3))`: its non-transparent pixels."""
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[-1] != 4:
        raise HintError(
            "the scribble image has no transparency; draw on a transparent layer (a PNG with alpha)."
        )
    return rgba[..., 3] > 0, rgba[..., :3].astype(np.float32)


def hint_map(prepared, hints, name: str | None = None) -> np.ndarray:
    """A person's hints on the working canvas of a prepared photo (`colornet.predict.prepare`)
    -> a hint map `(hc, wc, 3)`.

    Args:
        prepared: the photo on its canvas (`Prepared`: full-resolution L, canvas, content).
        hints: None or `[]` (no hints), a list of `(x, y, color)` in the photo's own pixels
            (0 <= x < width, 0 <= y < height; color as `parse_color` reads it), a scribble `(H, W, 4)`
            array or RGBA `PIL.Image` of the photo's size, or a path (`read_hints`).
        name: the photo, for messages.

    Raises:
        HintError: a point outside the photo, an unreadable color, a scribble of another size.
    """
    hc, wc = prepared.canvas.shape[:2]
    out = np.zeros((hc, wc, CHANNELS), np.float32)
    if hints is None:
        return out
    if isinstance(hints, (str, Path)):
        hints = read_hints(hints)
    if isinstance(hints, Image.Image):
        hints = np.asarray(hints.convert("RGBA")) if "A" in hints.getbands() else np.asarray(hints)
    H, W = prepared.L.shape
    h, w = prepared.content
    name = name or prepared.source or "photo"
    if isinstance(hints, np.ndarray):
        mask, rgb = scribble_points(hints)
        if mask.shape != (H, W):
            raise HintError(
                f"{name}: the scribble image is {mask.shape[1]}x{mask.shape[0]} pixels, the photo "
                f"{W}x{H}; draw the hints on an image of the photo's size."
            )
        if not mask.any():
            return out
        ab = np.zeros((H, W, 2), np.float32)
        ab[mask] = ab_under(prepared.L[mask], rgb[mask])
        weight = mask.astype(np.float32)[..., None]
        stack = np.concatenate([ab * weight, weight], axis=-1)[None]
        small = np.asarray(tf.image.resize(stack, (h, w), "area"))[0]  # the share and mean of each cell
        share = small[..., 2:]
        present = share > 0.0
        out[:h, :w, :2] = np.where(present, small[..., :2] / np.maximum(share, 1e-6), 0.0) / AB_SCALE
        out[:h, :w, 2:] = present
        return out
    try:
        points = list(hints)
    except TypeError:
        raise HintError(
            f"{name}: hints must be a list of (x, y, color), a scribble image or a file."
        ) from None
    for i, point in enumerate(points):
        try:
            x, y, color = point
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            raise HintError(f"{name}: hint {i + 1} ({point!r}) is not (x, y, color).") from None
        if not (0 <= x < W and 0 <= y < H):
            raise HintError(
                f"{name}: hint {i + 1} at ({x:g}, {y:g}) is outside the photo ({W}x{H} pixels); "
                f"use 0 <= x < {W} and 0 <= y < {H}."
            )
        rgb = parse_color(color, f"{name}: hint {i + 1}")
        ab = ab_under(prepared.L[int(y), int(x)], rgb)
        cx = min(w - 1, int((x + 0.5) * w / W))  # the photo's pixel -> the canvas' pixel
        cy = min(h - 1, int((y + 0.5) * h / H))
        r = PATCH // 2
        out[max(0, cy - r) : min(h, cy + r + 1), max(0, cx - r) : min(w, cx + r + 1)] = (*ab / AB_SCALE, 1.0)
    return out


def sample_hints(lab_canvas, content, n: int, rng, patch: int = PATCH) -> np.ndarray:
    """`n` hints sampled from a photo's true colors on its working canvas, for `evaluate --hints`:
    places uniform over the photo, each the mean ab of a `patch`-wide square of the truth.

    Args:
        lab_canvas: the true Lab `(hc, wc, 3)` on the canvas.
        content: `(h, w)`, the part of the canvas that is the photo.
        n: how many.
        rng: a `numpy.random.Generator` (seeded: the same hints for every model).
    """
    lab_canvas = np.asarray(lab_canvas, np.float32)
    out = np.zeros(lab_canvas.shape[:2] + (CHANNELS,), np.float32)
    h, w = content
    r = patch // 2
    for _ in range(n):
        y, x = int(rng.integers(h)), int(rng.integers(w))
        box = (slice(max(0, y - r), min(h, y + r + 1)), slice(max(0, x - r), min(w, x + r + 1)))
        ab = lab_canvas[box][..., 1:].reshape(-1, 2).mean(axis=0)
        out[box] = (*ab / AB_SCALE, 1.0)
    return out
