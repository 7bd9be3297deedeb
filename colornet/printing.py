"""Printing file names that the terminal's encoding cannot show.

A file name that is not valid UTF-8 reaches Python with its odd bytes as lone surrogates
(`caf\\udce9.jpg`); printing it to a stream with a strict encoding raised `UnicodeEncodeError`
after the work was done. `echo` prints such bytes as `\\xe9` instead.
"""

import sys


def printable(text: str, encoding: str | None = "utf-8") -> str:
    """`text` as `encoding` can show it: a name's undecodable bytes as `\\xNN`, other characters the
    encoding lacks as `\\uNNNN`."""
    encoding = encoding or "utf-8"
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.encode(encoding, "backslashreplace").decode(encoding)


def echo(text: str, file=None) -> None:
    """`print(text, file=file)` (default: stdout) that never fails on a file name."""
    file = sys.stdout if file is None else file
    print(printable(text, getattr(file, "encoding", None)), file=file)
