"""Losses by name, for the command line and the designs."""

import keras

from colornet.errors import ColornetError

LOSS_NAMES = ("mse", "mae", "huber")


def get_loss(name):
    """`mse` (the article), `mae` (L1) or `huber` (delta 0.1 on ab / 128) -> a Keras loss;
    anything else (a loss object, a dict of them) is returned as it is."""
    if not isinstance(name, str):
        return name
    if name == "huber":
        return keras.losses.Huber(delta=0.1)
    if name not in LOSS_NAMES:
        raise ColornetError(f"unknown loss {name!r}; use {', '.join(LOSS_NAMES)}.")
    return name
