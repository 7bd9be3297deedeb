"""Every provided model colors a fixed photo as it did when the reference was recorded: a guard for
changes that should change nothing (refactors, faster paths). The reference, `tests/data/outputs.npz`,
holds each model's output on the photo as a 48 x 64 thumbnail (box means of the full-size result,
uint8); the test colorizes the photo again and compares, within 1 level of 255 per thumbnail pixel.

A change meant to change the colors (new weights, a new decoding) records the reference again:

    python tests/test_outputs_unchanged.py              # rewrites tests/data/outputs.npz, then commit it
    python tests/test_outputs_unchanged.py ../before    # the same, with the package of another checkout
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REFERENCE = Path(__file__).parent / "data" / "outputs.npz"
THUMB = (64, 48)  # (width, height)
FAST = ("features", "beta", "features-hints")  # the main test command; the others with -m slow
SLOW = ("iizuka", "unet", "unet-gan", "zhang", "dahl", "full")
HINTS = [(60, 50, "#c62828"), (200, 140, "#2e7d32")]  # for features-hints, in the photo's pixels


def fixed_photo() -> np.ndarray:
    """scikit-image's chelsea, 192 x 256, in gray (uint8 RGB)."""
    from skimage import data

    rgb = Image.fromarray(data.chelsea()).resize((256, 192), Image.BILINEAR)
    return np.asarray(rgb.convert("L").convert("RGB"))


def outputs(name: str) -> dict:
    """`{key: uint8 thumbnail}` of `name`'s colors on the fixed photo (with and without hints for a
    model that takes them)."""
    import colornet

    photo = fixed_photo()
    runs = {name: {}}
    if name == "features-hints":
        runs = {f"{name} no hints": {}, f"{name} 2 hints": {"hints": HINTS}}
    result = {}
    for key, options in runs.items():
        rgb = np.asarray(colornet.colorize(photo, model=name, **options), np.float32)
        h, w = rgb.shape[:2]
        thumb = rgb.reshape(THUMB[1], h // THUMB[1], THUMB[0], w // THUMB[0], 3).mean(axis=(1, 3))
        result[key] = np.clip(np.round(thumb * 255), 0, 255).astype(np.uint8)
    return result


@pytest.mark.parametrize("name", [*FAST, *(pytest.param(n, marks=pytest.mark.slow) for n in SLOW)])
def test_a_provided_model_colors_the_fixed_photo_as_recorded(name):
    reference = np.load(REFERENCE)
    for key, thumb in outputs(name).items():
        recorded = reference[key]
        difference = np.abs(thumb.astype(int) - recorded.astype(int))
        assert difference.max() <= 1, f"{key}: {difference.max()} levels off the reference somewhere"


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if len(sys.argv) > 1:  # record with the package of another checkout (its path)
        sys.path.insert(0, sys.argv[1])
    everything = {}
    for name in (*FAST, *SLOW):
        everything.update(outputs(name))
        print(name, "recorded", flush=True)
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **everything)
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes)")
