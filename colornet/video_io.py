"""Reading and writing video files for `colornet.video`: which container and encoder an output's
extension means, opening an input (one-line errors for what is not a readable video), the output's
video and audio streams, RGB frames to the encoder's YUV, and the expected frame count."""

import math
import os
from fractions import Fraction
from pathlib import Path

import av

from colornet.errors import VideoError
from colornet.images import IMAGE_EXTENSIONS

# Output extension -> (FFmpeg muxer, video encoder, audio codecs it can take as they are or None: all).
_MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
CONTAINERS = {
    ".mp4": ("mp4", "libx264", _MP4_AUDIO),
    ".m4v": ("mp4", "libx264", _MP4_AUDIO),
    ".mov": ("mov", "libx264", _MP4_AUDIO | {"pcm_s16le", "pcm_s24le", "pcm_f32le"}),
    ".mkv": ("matroska", "libx264", None),
    ".webm": ("webm", "libvpx-vp9", {"opus", "vorbis"}),
    ".avi": ("avi", "mpeg4", {"mp3", "ac3", "aac", "pcm_s16le", "pcm_u8"}),
}


def open_video(path):
    """`(container, video stream, audio stream or None)` of a video file.

    Raises:
        VideoError: a missing file, a photo, a file FFmpeg cannot read, or one without a video stream.
    """
    path = str(path)
    if not os.path.exists(path):
        raise VideoError(f"{path}: no such file; check the path.")
    if os.path.isdir(path):
        raise VideoError(f"{path}: is a folder; pass one video file.")
    if Path(path).suffix.lower() in set(IMAGE_EXTENSIONS) - {".gif"}:  # an animated GIF is a video
        raise VideoError(f"{path}: is a photo, not a video; colorize it with `colornet colorize {path}`.")
    try:
        container = av.open(path)
    except av.error.FFmpegError as err:
        reason = getattr(err, "strerror", None) or err
        raise VideoError(f"{path}: not a video FFmpeg can read ({reason}); check the file.") from None
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        container.close()
        raise VideoError(f"{path}: has no video stream (only {', '.join(kinds)}); pass a video file.")
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    return container, video, audio


def output_container(path) -> tuple[str, str, set | None]:
    """`(muxer, video encoder, audio codecs copied as they are)` for an output file, by its extension.

    Raises:
        VideoError: an extension colornet does not write.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise VideoError(
            f"{path}: cannot write {suffix or 'files without an extension'}; "
            f"name the output {', '.join(CONTAINERS)}."
        )
    return CONTAINERS[suffix]


# x264's speed presets, fastest first. At CRF 18 `veryfast` encoded a 720p clip in half of `medium`'s
# time into a file of about the same size (bench/video_presets.py).
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
PRESET = "veryfast"


def add_video_stream(out, codec: str, video, rate: Fraction, time_base: Fraction, preset: str = PRESET):
    """The output's video stream: the input's size and sample aspect, `preset` for H.264."""
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height = video.codec_context.width, video.codec_context.height
    even = stream.width % 2 == 0 and stream.height % 2 == 0
    # 4:2:0 needs even sides; odd ones keep their size in 4:4:4 (fewer players read it).
    stream.pix_fmt = "yuv420p" if even or codec != "libx264" else "yuv444p"
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    if codec == "libx264":
        stream.options = {"crf": "18", "preset": preset}  # visually lossless for most footage
    elif codec == "libvpx-vp9":
        stream.options = {"crf": "24", "b": "0"}
    else:
        stream.bit_rate = int(stream.width * stream.height * float(rate) * 0.4)
    if video.sample_aspect_ratio:
        stream.codec_context.sample_aspect_ratio = video.sample_aspect_ratio
    return stream


def add_audio_stream(out, audio, copy_codecs: set | None, muxer: str):
    """`(stream, copied)`: the audio track as it is where the container takes it, else re-encoded."""
    if audio is None:
        return None, False
    if copy_codecs is None or audio.codec_context.name in copy_codecs:
        return out.add_stream_from_template(audio), True
    codec = "libopus" if muxer == "webm" else "aac"
    rate = audio.codec_context.sample_rate or 48000
    if codec == "libopus":
        rate = 48000  # the only rate Opus takes at every setting
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "mono" if audio.codec_context.layout.nb_channels == 1 else "stereo"
    return stream, False


def tag_stream(stream, color: dict) -> int | None:
    """Tag the output stream with the input's color (before it opens; once) and return the matrix
    frames are converted by: the input's, or None for FFmpeg's default (BT.601).

    `color`: the input's `colorspace`, `color_range`, `color_primaries`, `color_trc` (FFmpeg's
    values); an unspecified or RGB matrix (an RGB codec) leaves FFmpeg's default."""
    matrix = color.get("colorspace")
    matrix = None if matrix in (None, 0, 2) else matrix  # 0: RGB, 2: unspecified
    if not stream.codec_context.is_open:  # the tags go into the stream's header, set before it opens
        tags = {**color, "colorspace": matrix or 2}
        for name, value in tags.items():
            setattr(stream.codec_context, name, value)
    return matrix


def to_yuv(rgb, stream, color: dict):
    """uint8 RGB `(H, W, 3)` -> a frame in the output's pixel format, by the input's YUV matrix and
    range (so a player reads back the lightness the input had), tagged as the input was (`tag_stream`)."""
    matrix = tag_stream(stream, color)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    return frame.reformat(
        format=stream.pix_fmt, dst_colorspace=matrix, dst_color_range=color.get("color_range") or None
    )


def estimated_frames(video, start: float, duration: float | None, container) -> int | None:
    """How many frames will be colorized, for the progress bar (None when the file does not say)."""
    rate = float(video.average_rate or video.guessed_rate or 0)
    seconds = None
    if video.duration is not None and video.time_base:
        seconds = float(video.duration * video.time_base)
    elif container.duration:
        seconds = container.duration / av.time_base
    if video.frames and not start and duration is None:
        return int(video.frames)
    if seconds is None or not rate:
        return None if duration is None or not rate else math.ceil(duration * rate)
    seconds = max(0.0, seconds - start)
    if duration is not None:
        seconds = min(seconds, duration)
    return math.ceil(seconds * rate)
