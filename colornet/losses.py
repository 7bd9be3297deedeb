"""Losses by name, for the command line and the designs."""

import keras

from colornet.bins import BIN_LOSS
from colornet.errors import ColornetError

LOSS_NAMES = ("mse", "mae", "huber")


def get_loss(name):
    """`mse` (the article), `mae` (L1) or `huber` (delta 0.1 on ab / 128) -> a Keras loss;
    anything else (a loss object, a dict of them) is returned as it is."""
    if not isinstance(name, str):
        return name
    if name == BIN_LOSS:
        return soft_cross_entropy
    if name == "huber":
        return keras.losses.Huber(delta=0.1)
    if name not in LOSS_NAMES:
        raise ColornetError(f"unknown loss {name!r}; use {', '.join(LOSS_NAMES)}.")
    return name


@keras.saving.register_keras_serializable(package="colornet")
def soft_cross_entropy(y_true, y_pred):
    """Cross-entropy of bin logits `(b, h, w, Q)` against soft targets `(b, h, w, Q)`, per pixel
    `(b, h, w)`; `fit` multiplies it by the per-pixel rebalancing weights (Zhang et al. 2016)."""
    log_p = keras.ops.log_softmax(keras.ops.cast(y_pred, "float32"), axis=-1)
    return -keras.ops.sum(keras.ops.cast(y_true, "float32") * log_p, axis=-1)
