"""Colorization designs: one module each, a builder and a `Design` that says what it needs.

    from colornet.models import get_design, build_model
    design = get_design("beta")            # builder, setup (codec, loss, size multiple), options
    model = build_model("beta", width=0.5)

Importing this package registers every design in `DESIGNS`.
"""

import keras

from colornet.errors import WeightsError  # noqa: F401  (kept importable from here)
from colornet.models import alpha, beta, dahl, features, fusion, iizuka, unet, zhang  # noqa: F401  (each registers its design)
from colornet.models.alpha import build_alpha  # noqa: F401
from colornet.models.beta import build_beta  # noqa: F401
from colornet.models.dahl import build_dahl  # noqa: F401
from colornet.models.fusion import build_fusion  # noqa: F401
from colornet.models.iizuka import build_iizuka  # noqa: F401
from colornet.models.patchgan import build_patchgan  # noqa: F401
from colornet.models.spec import DESIGNS, Design, Setup, get_design, register  # noqa: F401
from colornet.models.unet import build_unet  # noqa: F401
from colornet.models.zhang import build_zhang  # noqa: F401


def build_model(name: str, **options) -> keras.Model:
    """Build a design's network by name (`alpha`, `beta`, `full`, ...) with builder options
    such as `width`."""
    return get_design(name).build(**options)
