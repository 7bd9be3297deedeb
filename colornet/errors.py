"""Errors a user can cause. The command line prints their message as one line, without a traceback."""


class ColornetError(Exception):
    """Base class: the message names the file or argument and says what to do."""
