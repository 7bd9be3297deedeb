"""`--precision auto` when colorizing: the precision a loaded network runs in, decided by measuring it.

    verdict = choose_inference_precision(gpus=0, flags=cpu_flags(), colors_of=..., measure=...)
    verdict.policy   # "mixed_bfloat16": its twin measured 1.2x float32 or more, colors within 1 level
    verdict.note     # one line saying which precision and why

On a GPU the answer is mixed_float16 (tensor cores); on a CPU without bfloat16 units it is float32
(bfloat16 is emulated there, several times slower). On a CPU with them (AMX, AVX512-BF16) it
depends on the network as much as on the CPU: on a 2-core AMX Xeon, Beta (plain convolutions) ran
1.4x to 2.1x faster in bfloat16 through `Colorizer.predict` (5x with the network compiled into one
graph), while the default model, whose EfficientNet encoder is mostly depthwise convolutions and
elementwise work that bfloat16 does not speed up, ran at about 0.9x (`bench/inference_precision.py`). So four fixed photos (`fixed_photos`) go through the whole
colorize path in float32 and in the network's bfloat16 twin, and the two are timed on the same
batch of four canvases at the working size: bfloat16 is chosen only where its colors stay within
`COLOR_TOLERANCE` levels of 255 of float32's on average and it measures `SPEED_MARGIN` times faster.
The colors are checked on a GPU too. A verdict is cached per network and working size for the
process (`cached_verdict`). On a busy machine the timing varies from run to run; the margin keeps
a network that bfloat16 does not speed up from being moved to it for nothing, and
`--precision float32` or `mixed_bfloat16` fixes the choice.

This module decides; `colornet.predict.load_colorizer(precision="auto")` builds the twin and
hands it the measurements, so that the decision can be tested with measurements made up.
"""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from colornet.errors import ColornetError
from colornet.precision import BF16_MARGIN, bf16_units

COLOR_TOLERANCE = 1.0  # mean |RGB - float32's RGB| the twin may reach, in levels of 255
SPEED_MARGIN = BF16_MARGIN  # the bfloat16 twin must measure this much faster than float32
TIMING_ROUNDS = 3  # timed calls of each precision, interleaved
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")  # the fixed photos: one batch of 4 canvases
PHOTO_SIDE = 320  # their side, pixels: working sizes up to it are timed on them as they are


@dataclass(frozen=True)
class Verdict:
    """The precision `auto` chose for one network at one working size, and why."""

    policy: str  # float32, mixed_bfloat16 or mixed_float16
    reason: str  # why, in a few words
    speedup: float | None = None  # the twin's calls per second over float32's, where measured
    levels: float | None = None  # the twin's mean color difference from float32, levels of 255

    @property
    def note(self) -> str:
        return f"precision {self.policy} ({self.reason})."


def color_difference(rgb, reference) -> float:
    """Mean absolute difference of two RGB images in [0, 1], in levels of 255 (NaN counts as far)."""
    rgb, reference = np.asarray(rgb, np.float64), np.asarray(reference, np.float64)
    if rgb.shape != reference.shape:
        raise ValueError(f"cannot compare colors of shapes {rgb.shape} and {reference.shape}.")
    difference = float(np.mean(np.abs(rgb - reference)) * 255.0)
    return difference if np.isfinite(difference) else float("inf")


def colors_agree(rgb, reference, tolerance: float = COLOR_TOLERANCE) -> bool:
    """Whether `rgb` is within `tolerance` levels of 255 of `reference` on average."""
    return color_difference(rgb, reference) <= tolerance


@functools.cache
def fixed_photos() -> tuple:
    """The photos the colors are compared on, one batch: scikit-image's astronaut, chelsea, coffee
    and rocket (bundled, CC0 or public domain), the largest centered square of each at `PHOTO_SIDE`
    pixels; `prepare` desaturates them as it does every color photo."""
    from PIL import Image

    from colornet.images import Photo
    from colornet.samples import SAMPLES

    photos = []
    for name in PHOTOS:
        rgb = np.asarray(SAMPLES[name][0]())[..., :3]
        h, w = rgb.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = Image.fromarray(rgb[top : top + side, left : left + side]).resize(
            (PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.LANCZOS
        )
        rgb = np.asarray(square, np.float32) / 255.0
        rgb.setflags(write=False)  # shared by every verdict of the process
        photos.append(Photo(rgb=rgb, path=f"{name} (scikit-image)"))
    return tuple(photos)


def time_interleaved(
    calls: dict[str, Callable[[], object]], rounds: int = TIMING_ROUNDS, warmup: int = 1
) -> dict[str, float]:
    """Seconds of each call, the fastest of `rounds`, after `warmup` untimed calls each. The calls
    take turns, so that a machine busy with other work slows them alike."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def choose_inference_precision(
    *,
    gpus: int,
    flags: set[str],
    colors_of: Callable[[str], np.ndarray],
    measure: Callable[[list[str]], dict[str, float]],
    margin: float = SPEED_MARGIN,
    tolerance: float = COLOR_TOLERANCE,
) -> Verdict:
    """The precision a network colorizes in under `auto`.

    Args:
        gpus: number of GPUs.
        flags: the CPU's flags (`colornet.precision.cpu_flags`).
        colors_of: policy -> the fixed photo colorized in it, RGB in [0, 1]; may raise
            `ColornetError` (or ValueError where the network cannot be rebuilt in that policy).
        measure: policies -> seconds per call of each, on the same batch.
        margin: how much faster bfloat16 must measure.
        tolerance: the mean color difference from float32 allowed, in levels of 255.

    Returns:
        A `Verdict`; float32 whenever the other precision is not clearly faster or its colors
        drift, with the reason.
    """
    if gpus:
        candidate, where = "mixed_float16", f"{gpus} GPU(s)"
    elif bf16_units(flags):
        candidate, where = "mixed_bfloat16", "CPU with " + " and ".join(bf16_units(flags))
    else:
        return Verdict("float32", "CPU without bfloat16 units")
    try:
        rgb = colors_of(candidate)  # first: a network that cannot run in it costs nothing more
        levels = color_difference(rgb, colors_of("float32"))
    except (ColornetError, ValueError) as err:
        reason = str(err).rstrip(".")
        return Verdict("float32", f"{where}, but the network cannot run in {candidate}: {reason}")
    if not levels <= tolerance:
        return Verdict(
            "float32",
            f"{where}, but {candidate} moved the colors {levels:.2f} levels of 255 from float32's on average, "
            f"more than {tolerance:g}",
            levels=levels,
        )
    if gpus:
        return Verdict(candidate, f"{where}; colors {levels:.2f} levels of 255 from float32's", levels=levels)
    seconds = measure(["float32", candidate])
    speedup = seconds["float32"] / seconds[candidate]
    if speedup < margin:
        return Verdict(
            "float32",
            f"{where}, but bfloat16 measured {speedup:.2f}x float32 on this network, less than {margin:g}x",
            speedup=speedup,
            levels=levels,
        )
    return Verdict(
        candidate,
        f"{where}: measured {speedup:.1f}x float32, colors {levels:.2f} levels of 255 from float32's",
        speedup=speedup,
        levels=levels,
    )


_VERDICTS: dict = {}  # key -> Verdict, for the process: measured once per network and working size


def cached_verdict(key, decide: Callable[[], Verdict]) -> tuple[Verdict, bool]:
    """`(verdict, fresh)`: the verdict cached under `key`, or `decide()`'s, cached; `fresh` is True
    when it was just decided."""
    if key in _VERDICTS:
        return _VERDICTS[key], False
    verdict = _VERDICTS[key] = decide()
    return verdict, True
