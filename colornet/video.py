"""Colorize videos: `python -m colornet video in.mp4 out.mp4`, and `colorize_video(...)`.

Every frame takes the photos' path (`colornet.predict`): `prepare` (full-resolution L and the
working canvas), `Colorizer.predict_ab` on batches of frames, and `finish` (the frame's own L
everywhere, colors upsampled and kept in gamut). Between the last two, the predicted ab is
smoothed in time, at the working resolution:

    ab_t = smoothing * ab_{t-1} + (1 - smoothing) * predicted_t    an exponential moving average
    ab_t = predicted_t                                              at a scene cut

A scene cut is where the lightness jumps: the mean absolute difference between the L thumbnails
(`CUT_SIDE` px) of two consecutive frames is above `cut_threshold`. Smoothing never carries the
colors of one shot into the next.

Frames are streamed in three stages at once (`colornet.pipeline`): decoding and L on one thread,
the network (one compiled graph) on batches of `batch_size` frames, the merge and encoding on
another, order kept, with bounded queues between, so memory does not grow with the length of the
film and the frame rate comes near the network's own. The output is written under a temporary name beside it and renamed
at the end: an error or Ctrl-C leaves no half-written video. Audio is copied as it is where the
output container can hold it, else re-encoded (AAC, or Opus in WebM).

>>> summary = colorize_video("film.mp4", "film_color.mp4", smoothing=0.6)
>>> summary.flicker        # mean |change of ab| between frames where L barely changed
"""

import math
import os
import signal
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from colornet.defaults import DEFAULT_MODEL
from colornet.errors import VideoError
from colornet.files import can_create, temporary_name
from colornet.fullres import frame_lightness
from colornet.images import IMAGE_EXTENSIONS, Photo
from colornet.options import (
    add_batch_size_option,
    add_decoding_options,
    add_model_option,
    add_overwrite_option,
    add_precision_option,
    add_work_size_option,
)
from colornet.pipeline import ahead, behind, padded
from colornet.predict import check_work_size, finish, load_colorizer, prepare_for
from colornet.temporal import (  # noqa: F401  (FlickerMeter and the constants: importable from here too)
    CUT_THRESHOLD,
    SMOOTHING,
    CutDetector,
    FlickerMeter,
    TemporalSmoother,
)
from colornet.video_output import OutputFailed, unwritable, writing
from colornet.weights import WEIGHTS_DIR

BATCH_SIZE = 8  # frames per network call
FINISH_DEPTH = 3  # batches (and audio packets) waiting to be merged and encoded: bounds the memory

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


# --- reading and writing ---------------------------------------------------------------


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


def _add_video_stream(out, codec: str, video, rate: Fraction, time_base: Fraction):
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height = video.codec_context.width, video.codec_context.height
    even = stream.width % 2 == 0 and stream.height % 2 == 0
    # 4:2:0 needs even sides; odd ones keep their size in 4:4:4 (fewer players read it).
    stream.pix_fmt = "yuv420p" if even or codec != "libx264" else "yuv444p"
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    if codec == "libx264":
        stream.options = {"crf": "18"}  # visually lossless for most footage
    elif codec == "libvpx-vp9":
        stream.options = {"crf": "24", "b": "0"}
    else:
        stream.bit_rate = int(stream.width * stream.height * float(rate) * 0.4)
    if video.sample_aspect_ratio:
        stream.codec_context.sample_aspect_ratio = video.sample_aspect_ratio
    return stream


def _add_audio_stream(out, audio, copy_codecs: set | None, muxer: str):
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


def to_yuv(rgb, stream, color: dict):
    """uint8 RGB `(H, W, 3)` -> a frame in the output's pixel format, by the input's YUV matrix and
    range (so a player reads back the lightness the input had), tagged as the input was.

    `color`: the input's `colorspace`, `color_range`, `color_primaries`, `color_trc` (FFmpeg's
    values); an unspecified or RGB matrix (an RGB codec) leaves FFmpeg's default, BT.601."""
    matrix = color.get("colorspace")
    matrix = None if matrix in (None, 0, 2) else matrix  # 0: RGB, 2: unspecified
    if not stream.codec_context.is_open:  # the tags go into the stream's header, set before it opens
        tags = {**color, "colorspace": matrix or 2}
        for name, value in tags.items():
            setattr(stream.codec_context, name, value)
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


def check_options(
    source, smoothing: float, start: float, duration: float | None, batch_size: int, cut_threshold: float
) -> None:
    """Raises `VideoError` for options that cannot work, in one line that names the video."""
    problem = None
    if not 0 <= smoothing < 1:
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


# --- the whole video -------------------------------------------------------------------------


def colorize_video(
    source,
    output,
    model=DEFAULT_MODEL,
    *,
    smoothing: float = SMOOTHING,
    cut_threshold: float = CUT_THRESHOLD,
    start: float = 0.0,
    duration: float | None = None,
    work_size: int | None = None,
    batch_size: int = BATCH_SIZE,
    overwrite: bool = False,
    weights_dir=WEIGHTS_DIR,
    precision: str = "float32",
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    progress: bool = False,
) -> VideoSummary:
    """Colorize a video file into another, keeping its frame rate, size, lightness and audio.

    Args:
        source: a video file FFmpeg reads (mp4, mov, mkv, webm, avi, ...).
        output: the video to write: `.mp4`, `.m4v`, `.mov`, `.mkv` (H.264), `.webm` (VP9) or `.avi` (MPEG-4).
        model: a `Colorizer`, a provided design name (`beta`) or a weights path, as `colornet.colorize`.
        smoothing: strength of the moving average of the colors over frames, in [0, 1);
            0 colors every frame on its own.
        cut_threshold: mean L change (L units) between frame thumbnails that makes a scene cut,
            where the smoothing restarts.
        start: seconds from the beginning of the video where colorizing starts.
        duration: seconds to colorize from `start` (default: to the end).
        work_size: longer side of the working resolution; by default the model's training size.
        batch_size: frames per network call.
        overwrite: replace an existing output; otherwise it is kept and `summary.skipped` is True.
        weights_dir: where provided weights are looked up by name.
        precision: the network's precision: `float32`, `mixed_bfloat16`, `mixed_float16` or `auto`
            (see `colornet.colorize`).
        temperature: for a model over ab bins (zhang, beta --head bins), the annealed mean's
            temperature, above 0 and at most 10 (default: the model's, 0.38); other models
            ignore it with a note on stderr.
        undo_rebalancing: likewise, the share (0 to 1) of the class rebalancing taken back
            before the annealed mean (default: 0, the paper's decoding).
        progress: show a progress bar (frames/s, time left) on stderr.

    Returns:
        A `VideoSummary`: frames, size, frame rate, audio, scene cuts and the output's flicker.

    Raises:
        VideoError: a missing or unreadable input, an output colornet cannot write (a folder, a
            full or read-only disk), bad options.
        ColornetError: a `work_size` that is not a whole number of pixels from 8 to 8192, a
            `temperature` or `undo_rebalancing` out of range.
        WeightsError: missing or corrupt weights.

    Example:
        >>> summary = colorize_video("clip.mp4", "clip_color.mp4", start=10, duration=5)
        >>> print(summary.report())
    """
    source, output = str(source), str(output)
    check_options(source, smoothing, start, duration, batch_size, cut_threshold)
    check_work_size(work_size)
    muxer, codec, copy_codecs = output_container(output)
    if os.path.isdir(output):
        example = os.path.join(output, Path(source).stem + "_color" + Path(output).suffix)
        raise VideoError(f"{output}: is a folder; name the video file to write, e.g. {example}.")
    container, video, audio = open_video(source)
    with container:
        if os.path.exists(output) and os.path.realpath(output) == os.path.realpath(source):
            raise VideoError(f"{output}: is the input; choose another output file.")
        summary = VideoSummary(output=output)
        if os.path.exists(output) and not overwrite:
            summary.skipped = True
            return summary
        if not can_create(output):
            raise VideoError(f"{output}: its folder cannot be written; write the output elsewhere.")
        colorizer = load_colorizer(model, weights_dir, precision=precision, work_size=work_size)
        colorizer, note = colorizer.with_temperature(temperature, undo_rebalancing)
        if note:
            print(note, file=sys.stderr)
        partial = temporary_name(output)
        began = time.perf_counter()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
            with writing(partial, muxer) as out:
                _transcode(
                    container,
                    video,
                    audio,
                    out,
                    codec,
                    copy_codecs,
                    muxer,
                    colorizer,
                    summary,
                    smoothing=smoothing,
                    cut_threshold=cut_threshold,
                    start=start,
                    duration=duration,
                    work_size=work_size,
                    batch_size=batch_size,
                    progress=progress,
                    source=source,
                )
            if summary.frames == 0:
                raise VideoError(
                    f"{source}: no frames from {start:g} s on (the video is shorter); use a smaller --start."
                )
            os.replace(partial, output)
        except OutputFailed as failed:  # a full or read-only disk: the output's place, not the input
            raise unwritable(output, failed.__cause__, summary.frames) from None
        except av.error.FFmpegError as err:
            raise VideoError(
                f"{source}: FFmpeg stopped after {summary.frames} frames ({err}); "
                "if the video is damaged there, --start and --duration can skip that part."
            ) from None
        except OSError as err:  # creating the output's folder, or renaming the finished video
            raise unwritable(output, err, summary.frames) from None
        finally:
            if partial.exists():
                partial.unlink()
        summary.seconds = time.perf_counter() - began
    return summary


def _transcode(
    container,
    video,
    audio,
    out,
    codec,
    copy_codecs,
    muxer,
    colorizer,
    summary,
    *,
    smoothing,
    cut_threshold,
    start,
    duration,
    work_size,
    batch_size,
    progress,
    source,
):
    """Decode, colorize and encode: the body of `colorize_video`, writing into the open `out`."""
    rate = Fraction(video.average_rate or video.guessed_rate or 25)
    summary.width, summary.height = video.codec_context.width, video.codec_context.height
    summary.fps = float(rate)
    # AVI counts frames; the other containers keep the input's timestamps (variable frame rates too).
    time_base = Fraction(1, 1) / rate if muxer == "avi" else Fraction(video.time_base)
    out_video = _add_video_stream(out, codec, video, rate, time_base)
    out_audio, copied = _add_audio_stream(out, audio, copy_codecs, muxer)
    summary.audio = None if audio is None else ("copied" if copied else "re-encoded")

    begin = float((video.start_time or 0) * video.time_base) + start  # seconds, in the input's clock
    end = math.inf if duration is None else begin + duration
    if start > 0:
        container.seek(int(begin / video.time_base), stream=video)  # the keyframe before `begin`

    cuts, smoother, meter = (
        CutDetector(cut_threshold),
        TemporalSmoother(smoothing),
        FlickerMeter(cut_threshold),
    )
    color = {}  # the input's YUV matrix, range, primaries and transfer, from its first frame
    step = max(1, round(1 / (rate * time_base)))  # one frame, in the output's time base
    bar = tqdm(
        total=estimated_frames(video, start, duration, container),
        unit="frame",
        file=sys.stderr,
        disable=None if progress else True,
    )

    def frames():
        """The input's audio packets and prepared frames, in the file's order (on the reading thread)."""
        last_pts, count = -step, 0
        for packet in container.demux(*([video] if audio is None else [video, audio])):
            if packet.stream is audio:
                yield packet, None
                continue
            for frame in packet.decode():
                seconds = float(frame.pts * video.time_base) if frame.pts is not None else None
                if seconds is not None and seconds < begin - 0.5 / float(rate):
                    continue  # before --start (decoded from the keyframe before it)
                if seconds is not None and seconds >= end - 0.5 / float(rate):
                    return
                pts = last_pts + step if seconds is None else round((seconds - begin) / time_base)
                pts = max(pts, last_pts + 1)  # strictly increasing, as encoders need
                last_pts = pts
                if not color:
                    color.update(colorspace=frame.colorspace, color_range=frame.color_range)
                    color.update(color_primaries=frame.color_primaries, color_trc=frame.color_trc)
                # RGB by the frame's own matrix and range (BT.601 where the file does not say), and
                # its L in one compiled pass over the uint8 frame
                L = frame_lightness(frame.to_ndarray(format="rgb24"))
                photo = Photo(rgb=None, path=f"{source} frame {count}")
                count += 1
                yield prepare_for(colorizer, photo, work_size, L), pts

    def write_frames(batch, ab):
        """Cuts, smoothing, the full-resolution merge and encoding of a batch (on the finishing thread)."""
        for (prepared, pts), ab_canvas in zip(batch, ab):
            h, w = prepared.content
            cut = cuts(prepared.canvas[:h, :w, 0])
            if cut:
                summary.cuts.append(summary.frames)
            rgb = finish(prepared, smoother(ab_canvas, cut), np.uint8)
            meter.add(rgb)
            frame = to_yuv(rgb, out_video, color)
            frame.pts, frame.time_base = pts, time_base
            frame.duration = step  # the last frame lasts as long as the others
            out.mux(out_video.encode(frame))
            summary.frames += 1
            bar.update(1)

    def write_audio(packet):
        if packet.dts is None or packet.pts is None:
            return
        t0 = float(packet.pts * packet.time_base)
        t1 = t0 + float((packet.duration or 0) * packet.time_base)
        if t0 >= end or (start > 0 and t1 <= begin):
            return
        shift = round(begin / packet.time_base)  # the output starts at `begin`
        if copied:
            packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            packet.stream = out_audio
            out.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None if frame.pts is None else frame.pts - shift
            out.mux(out_audio.encode(frame))

    def close_streams():
        out.mux(out_video.encode(None))
        if out_audio is not None and not copied:
            out.mux(out_audio.encode(None))

    def colorize(batch):  # the network, in this thread, on a full batch (a short last one is padded)
        canvases = padded(np.stack([prepared.canvas for prepared, _ in batch]), batch_size)
        return colorizer.predict_ab(canvases, compiled=True)[: len(batch)]

    # Three stages at once (`colornet.pipeline`): decoding and L ahead, the network here, the merge
    # and encoding behind; every output is muxed on the finishing thread, in the input's order.
    batch = []  # (Prepared, output pts)
    try:
        with behind(FINISH_DEPTH) as finishing, closing(ahead(frames())) as reading:
            for item, pts in reading:
                if pts is None:
                    finishing.submit(write_audio, item)
                    continue
                batch.append((item, pts))
                if len(batch) >= batch_size:
                    finishing.submit(write_frames, batch, colorize(batch))
                    batch = []
            if batch:
                finishing.submit(write_frames, batch, colorize(batch))
            finishing.submit(close_streams)
    finally:
        bar.close()
    summary.flicker = meter.value


# --- command line ----------------------------------------------------------------------


def _seconds(text):
    import argparse

    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number of seconds") from None


def add_arguments(parser) -> None:
    parser.add_argument("input", help="the video to colorize (any container and codec FFmpeg reads)")
    parser.add_argument(
        "output", help=f"the colorized video ({', '.join(CONTAINERS)}); written only when complete"
    )
    add_model_option(parser)
    parser.add_argument(
        "--smoothing",
        type=float,
        default=SMOOTHING,
        help="how much each frame's colors follow the previous frames', from 0 (frame by frame) to "
        f"below 1; restarted at scene cuts (default: {SMOOTHING})",
    )
    parser.add_argument(
        "--cut-threshold",
        type=float,
        default=CUT_THRESHOLD,
        help=f"mean change of lightness (0-100) between frames that counts as a scene cut (default: {CUT_THRESHOLD:g})",
    )
    parser.add_argument(
        "--start",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="where to start, in seconds (default: 0)",
    )
    parser.add_argument(
        "--duration",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="how many seconds to colorize from --start (default: to the end)",
    )
    add_work_size_option(parser)
    add_batch_size_option(parser, BATCH_SIZE, items="frames")
    add_overwrite_option(parser, "an existing output")
    add_precision_option(parser)
    add_decoding_options(parser)


def _interrupted(signum, frame):
    raise KeyboardInterrupt  # `kill` ends the run as Ctrl-C does: the partial output is removed


def run(args) -> int:
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        summary = _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(summary.report())
    return 0


def _run(args) -> VideoSummary:
    return colorize_video(
        args.input,
        args.output,
        args.model,
        smoothing=args.smoothing,
        cut_threshold=args.cut_threshold,
        start=args.start,
        duration=args.duration,
        work_size=args.work_size,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        precision=args.precision,
        temperature=args.temperature,
        undo_rebalancing=args.undo_rebalancing,
        progress=True,
    )
