"""README's first picture: scikit-image's sample photos in gray, colorized by the default model, and real.

    python docs/make_figure.py            # writes docs/default_model.png

The photos come with scikit-image (none of them was seen in training); each is made gray, colorized at its
own size by `colornet.colorize` with the provided default model and its default decoding, and shown next
to the real photo.
"""

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage import color, data, transform

    import colornet
    from colornet import DEFAULT_MODEL

    colorizer = colornet.load_colorizer(DEFAULT_MODEL)
    fig, axes = plt.subplots(3, len(PHOTOS), figsize=(2.4 * len(PHOTOS), 7.4))
    for col, name in enumerate(PHOTOS):
        real = getattr(data, name)()[..., :3].astype(np.float32) / 255
        real = transform.resize(real, (256, int(256 * real.shape[1] / real.shape[0])), anti_aliasing=True)
        gray = np.repeat(color.rgb2gray(real)[..., None], 3, axis=-1)
        colorized = colornet.colorize(gray, colorizer)
        for row, (image, title) in enumerate(
            ((gray, "gray"), (colorized, f"colornet ({DEFAULT_MODEL})"), (real, "real"))
        ):
            axes[row, col].imshow(np.clip(image, 0, 1))
            axes[row, col].set_axis_off()
            if col == 0:
                axes[row, col].set_title(title, loc="left", fontsize=10)
    fig.tight_layout()
    out = Path(__file__).resolve().parent / "default_model.png"
    fig.savefig(out, dpi=72)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
