"""What `colorize_video` is asked for and what it reports: the options checked (one line that names
the video for each that cannot work), the frame loop's settings, and the summary of a run."""

import math
from dataclasses import dataclass, field

from colornet.errors import VideoError
from colornet.video_io import PRESET, PRESETS


@dataclass
class VideoSummary:
    """What `colorize_video` did."""

    output: str
    frames: int = 0  # frames written
    width: int = 0
    height: int = 0
    fps: float = 0.0  # average frame rate of the input, kept in the output
    audio: str | None = None  # "copied", "re-encoded" or None (no audio track)
    cuts: list = field(default_factory=list)  # output frame indices where a new scene starts
    flicker: float | None = None  # see `FlickerMeter`; None with fewer than two frames of one scene
    seconds: float = 0.0  # time taken
    skipped: bool = False  # the output existed and was kept (no `overwrite`)

    def report(self) -> str:
        if self.skipped:
            return f"{self.output} already exists: kept (--overwrite replaces it)."
        speed = self.frames / self.seconds if self.seconds else 0.0
        audio = {None: "no audio", "copied": "audio copied", "re-encoded": "audio re-encoded"}[self.audio]
        flicker = "n/a" if self.flicker is None else f"{self.flicker:.2f}"
        return (
            f"{self.frames} frames ({self.width}x{self.height}, {self.fps:.3g} fps, {audio}) colorized into "
            f"{self.output} in {self.seconds:.0f} s ({speed:.1f} frames/s); {len(self.cuts)} scene cut{'s' if len(self.cuts) != 1 else ''}; "
            f"flicker {flicker} (mean |ab change| where L barely changed, Lab units)."
        )


def check_options(
    source,
    smoothing: float,
    start: float,
    duration: float | None,
    batch_size: int,
    cut_threshold: float,
    preset: str = PRESET,
) -> None:
    """Raises `VideoError` for options that cannot work, in one line that names the video."""
    problem = None
    if preset not in PRESETS:
        problem = f"--preset {preset}: use one of {', '.join(PRESETS)}"
    elif not 0 <= smoothing < 1:
        problem = f"--smoothing {smoothing:g}: use a number from 0 (frame by frame) up to, not including, 1"
    elif not start >= 0 or math.isinf(start):
        problem = f"--start {start:g}: use a time in seconds, 0 or more"
    elif duration is not None and (not duration > 0 or math.isinf(duration)):
        problem = f"--duration {duration:g}: use a length in seconds, more than 0"
    elif not cut_threshold > 0:
        problem = f"--cut-threshold {cut_threshold:g}: use a change of lightness above 0 (L is 0-100)"
    elif batch_size < 1:
        problem = f"--batch-size {batch_size}: use 1 or more frames per network call"
    if problem:
        raise VideoError(f"{source}: {problem}.")


@dataclass(frozen=True)
class Settings:
    """What `colorize_video` was asked for, as the frame loop needs it (checked before)."""

    source: str
    start: float
    duration: float | None
    smoothing: float
    cut_threshold: float
    work_size: int | None
    batch_size: int
    preset: str
    progress: bool
