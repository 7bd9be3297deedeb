"""Errors a user can cause. The command line prints their message as one line, without a traceback.

Every class is here, so that any module can raise them without importing another's code.
"""


class ColornetError(Exception):
    """Base class: the message names the file or argument and says what to do."""


class ImageError(ColornetError, ValueError):
    """A photo that cannot be used; the message names the file and what to do."""


class WeightsError(ColornetError, ValueError):
    """Weights that cannot be used with a model; the message says what to do."""


class EmbedWeightsError(WeightsError):
    """Embedder weights that cannot be had; the message says where to put the file."""


class RunError(ColornetError):
    """A run directory that cannot be resumed with these settings."""


class DistributeError(ColornetError, ValueError):
    """A distribution strategy that cannot be set up: an unknown name, a malformed TF_CONFIG,
    or a cluster that cannot be reached."""


class EvaluateError(ColornetError, ValueError):
    """An evaluation that cannot run as asked; the message says what to change."""


class PrecisionError(ColornetError, ValueError):
    """An unknown precision name."""


class ImageWarning(UserWarning):
    """A photo that was used or skipped with a caveat; the message names the file."""


class VideoError(ColornetError, ValueError):
    """A video that cannot be read or written, or options that do not fit it; the message names
    the file and what to do."""


class HintError(ColornetError, ValueError):
    """Color hints that cannot be used: a point outside the photo, an unreadable color, a scribble
    of another size, hints for a model trained without them; the message says what to do."""
