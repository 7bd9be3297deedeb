"""Writing a video file: what fails while the output is opened, written or closed (a full or
read-only disk) is told apart from what fails while the input is read, so that a message blames the
right file."""

import contextlib

import av

from colornet.errors import VideoError


class OutputFailed(Exception):
    """Writing the output failed; its cause is FFmpeg's or the system's error."""


class _Output:
    """The output container, whose failures to write are told apart from the input's."""

    def __init__(self, container):
        self._container = container

    def __getattr__(self, name):
        return getattr(self._container, name)

    def mux(self, packets):
        try:
            self._container.mux(packets)
        except (av.error.FFmpegError, OSError) as err:
            raise OutputFailed() from err


@contextlib.contextmanager
def writing(path, muxer: str):
    """The output container at `path`: what fails while opening, writing or closing it (the
    header, packets, the trailer) raises `OutputFailed`."""
    try:
        out = av.open(str(path), "w", format=muxer)
    except (av.error.FFmpegError, OSError) as err:
        raise OutputFailed() from err
    try:
        yield _Output(out)
    except BaseException:
        with contextlib.suppress(Exception):
            out.close()
        raise
    try:
        out.close()
    except (av.error.FFmpegError, OSError) as err:
        raise OutputFailed() from err


def unwritable(output: str, err, frames: int) -> VideoError:
    reason = getattr(err, "strerror", None) or err
    after = f" after {frames} frames" if frames else ""
    return VideoError(
        f"{output}: cannot be written ({reason}){after}; free some space or write the output elsewhere."
    )
