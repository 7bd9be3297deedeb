"""Networks whose colors are not numbers (NaN or infinite weights, a training run that diverged) are
refused in one line when they are loaded for `evaluate` and `export`, rather than scored or written."""

import numpy as np

from colornet.errors import WeightsError

PROBE_SIDE = 64  # side of the gray ramp the network colors once, in pixels (rounded up to its multiple)


def check_finite_colors(colorizer) -> None:
    """Color a gray ramp (every lightness from 0 to 100) once with `colorizer`.

    Raises:
        WeightsError: the colors are NaN or infinite, in one line naming the weights.
    """
    canvas = colorizer.canvas_shape()
    if canvas is None:
        multiple = colorizer.design.multiple(colorizer.options)
        canvas = (-(-PROBE_SIDE // multiple) * multiple,) * 2
    h, w = canvas
    ramp = np.broadcast_to(np.linspace(0.0, 100.0, w, dtype=np.float32), (h, w))
    ab = colorizer.predict_ab(np.ascontiguousarray(ramp)[None, ..., None])
    if not np.all(np.isfinite(ab)):
        raise WeightsError(
            f"{colorizer.source or colorizer.name}: the network's colors are NaN or infinite (corrupt "
            "weights, or a training run that diverged); use other weights."
        )
