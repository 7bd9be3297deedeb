"""`train`'s settings checked before any work, whether they come from the command line or the
Python API: each bad value ends in one line that names it, as the command line's own checks do
(`--size None: use a whole number of at least 8.`). Settings that are flags are named by their
flag, the others (`samples=`, `augment=`) as `train()` takes them."""

import dataclasses
import difflib
import math

import numpy as np

from colornet import data as cdata
from colornet.bins import BIN_LOSS
from colornet.errors import ColornetError
from colornet.losses import LOSS_NAMES
from colornet.models.spec import options_by_name
from colornet.train_config import MAX_SEED, TrainConfig, flag_of  # noqa: F401  (MAX_SEED kept importable here)

SETTINGS = {f.name: f for f in dataclasses.fields(TrainConfig)}

# settings with no flag of their own (the command line sets them from other flags, or not at all)
API_ONLY = tuple(
    name for name, f in SETTINGS.items() if flag_of(f) not in ("--" + name.replace("_", "-"), name)
)

# settings that take one of a few values (as `TrainConfig` declares them); the model, the loss and
# the strategy are checked with words of their own (`get_design`, `check_config`, `colornet.distribute`)
CHOICES = {
    name: tuple(f.metadata["values"].values()) if "values" in f.metadata else tuple(f.metadata["choices"])
    for name, f in SETTINGS.items()
    if ("values" in f.metadata or "choices" in f.metadata) and name not in ("model", "loss", "strategy")
}

# whole numbers: (lowest, highest); those whose default is None may be None
WHOLE = {
    name: (f.metadata.get("low", 1), f.metadata.get("high"))
    for name, f in SETTINGS.items()
    if f.metadata.get("takes") == "whole"
}


def named(setting: str, value) -> str:
    """A setting and its value as a user names them: `--batch-size 0`, or `samples=-1` for the API's own."""
    if setting in API_ONLY:
        return f"{setting}={value!r}"
    return f"--{setting.replace('_', '-')} {value!r}"


def make_config(cls, **settings):
    """`cls(**settings)` (a dataclass), with a one-line error for a name it does not take."""
    names = [f.name for f in dataclasses.fields(cls)]
    for name in settings:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(names)}."
            raise ColornetError(f"train() has no argument {name!r}{hint}")
    return cls(**settings)


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _one_of(value, choices) -> bool:
    return any(value == c and isinstance(value, bool) == isinstance(c, bool) for c in choices)


def _number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_arguments(cfg) -> None:
    """The types and ranges of the settings, before any of them is used.

    Raises:
        ColornetError: the first bad setting, named.
    """
    for name, (low, high) in WHOLE.items():
        value = getattr(cfg, name)
        if value is None and SETTINGS[name].default is None:
            continue
        if not _whole(value) or value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise ColornetError(f"{named(name, value)}: use a whole number {limit}.")
    for name, choices in CHOICES.items():
        value = getattr(cfg, name)
        if not _one_of(value, choices):
            shown = ", ".join(map(str, choices))
            raise ColornetError(f"{named(name, value)}: use one of {shown}.")
    if not (_number(cfg.connect_timeout) and math.isfinite(cfg.connect_timeout) and cfg.connect_timeout > 0):
        raise ColornetError(f"--connect-timeout {cfg.connect_timeout!r}: use a number of seconds above 0.")
    if cfg.val is None and not (_number(cfg.val_split) and 0 < cfg.val_split < 1):
        raise ColornetError(f"--val-split {cfg.val_split!r}: use a share between 0 and 1, such as 0.1.")
    if not isinstance(cfg.model_options, dict):
        raise ColornetError(
            f"{named('model_options', cfg.model_options)}: use a dict of the model's options, such as {{'width': 0.5}}."
        )


def check_config(cfg, design, default_lr: float) -> None:
    """The settings against the design: a size it takes, its options, a loss that fits its head.

    Raises:
        ColornetError: the first bad setting, named.
    """
    try:
        design.check_size(cfg.size, options=cfg.model_options)
    except ValueError as err:
        raise ColornetError(str(err)) from None
    if cfg.loss is not None and cfg.loss not in LOSS_NAMES:
        raise ColornetError(f"unknown loss {cfg.loss!r}; use {', '.join(LOSS_NAMES)}.")
    if not (_number(cfg.lr) and math.isfinite(cfg.lr) and cfg.lr >= 0):  # 0: frozen
        raise ColornetError(f"--lr {cfg.lr!r}: use a learning rate above 0, such as {default_lr}.")
    if cfg.average_epochs is not None and cfg.average_epochs > cfg.epochs:
        raise ColornetError(
            f"--average-epochs {cfg.average_epochs}: more than the run's {cfg.epochs} epochs; "
            f"use at most {cfg.epochs}."
        )
    if cfg.data_weights is not None:
        n_sources = len(cfg.data) if isinstance(cfg.data, (list, tuple)) else 1
        try:
            cfg.data_weights = cdata.check_source_weights(cfg.data_weights, n_sources)
        except ValueError as err:
            raise ColornetError(str(err)) from None
    if cfg.model_options.get("perceptual") and cfg.model_options.get("hints"):
        raise ColornetError(
            "--perceptual trains the network without hints; leave out --hints or --perceptual."
        )
    positive = [name for name, declared in options_by_name().items() if declared[0][0].takes == "positive"]
    for name in positive:  # width, l1_weight, ...: the command line checks them too
        value = cfg.model_options.get(name)
        if value is not None and not (_number(value) and math.isfinite(value) and value > 0):
            raise ColornetError(f"--{name.replace('_', '-')} {value!r}: use a number above 0.")
    if cfg.loss is not None and design.make_loss(cfg.model_options)[0] == BIN_LOSS:
        raise ColornetError(
            f"--loss does not apply to {design.name} with a bin head: it learns the rebalanced "
            "cross-entropy over ab bins; leave --loss out."
        )
    if cfg.prior is not None and not design.make_codec(cfg.model_options).uses_prior:
        raise ColornetError(f"--prior applies to bin heads (zhang, beta --head bins), not to {design.name}.")
    unknown = sorted(set(cfg.model_options) - set(design.options))
    if unknown:
        allowed = ", ".join(design.options) or "none"
        raise ColornetError(f"{design.name} has no option {', '.join(unknown)} (it takes: {allowed}).")
