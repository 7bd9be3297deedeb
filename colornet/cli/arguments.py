"""Argument types for the command line: a bad value ends in argparse's one-line usage error,
before any work starts (`--width 0`, `--lr nan`, `--limit -1`, `--out ""`)."""

import argparse
import math

from colornet.arguments import WORK_SIZE_RANGE


def int_in(low: int, high: int | None = None, unit: str | None = None):
    """A whole number from `low` to `high` (no upper bound when None), of `unit` (`pixels`) if given."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"of at least {low}"
            number = f"a whole number of {unit}" if unit else "a whole number"
            raise argparse.ArgumentTypeError(f"{text!r}: use {number} {limit}")
        return value

    return parse


# `--work-size`: the one check every command uses
work_size_argument = int_in(*WORK_SIZE_RANGE, unit="pixels")


def positive_float(text):
    """A finite number above 0 (a learning rate, a width, a weight)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number above 0, such as 0.5")
    return value


def fraction(text):
    """A number strictly between 0 and 1 (a share of the photos)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: use a share between 0 and 1, such as 0.1")
    return value


def path_name(text):
    """A non-empty path (an empty one would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; name a file or folder")
    return text
