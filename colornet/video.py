"""Colorize videos: `python -m colornet video in.mp4 out.mp4`, and `colorize_video(...)`.

Every frame takes the photos' path (`colornet.predict`): `prepare` (L and the working canvas),
`Colorizer.predict_ab` on batches of frames, and a merge (the frame's own lightness everywhere,
colors upsampled and kept in gamut). Between the last two, the predicted ab is smoothed in time,
at the working resolution:

    ab_t = smoothing * ab_{t-1} + (1 - smoothing) * predicted_t    an exponential moving average
    ab_t = predicted_t                                              at a scene cut

A scene cut is where the lightness jumps: the mean absolute difference between the L thumbnails
(`CUT_SIDE` px) of two consecutive frames is above `cut_threshold`. Smoothing never carries the
colors of one shot into the next.

Frames as most films hold them (8-bit 4:2:0, the output 4:2:0 too) are colored on their chroma
grid, a quarter of the pixels, their own luma kept (`colornet.frames420`); others are merged in
RGB at full resolution (`colornet.fullres`) and converted by FFmpeg.

Frames are streamed in four stages at once (`colornet.pipeline`): decoding and L on one thread,
the network (one compiled graph) on batches of `batch_size` frames, the merge on another and
encoding on a third, order kept, with bounded queues between, so memory does not grow with the
length of the film and the frame rate comes near the network's own. H.264 is encoded at CRF 18
with x264's `veryfast` preset unless told otherwise (`preset`). The output is written under a
temporary name beside it and renamed at the end: an error or Ctrl-C leaves no half-written video.
Audio is copied as it is where the output container can hold it, else re-encoded (AAC, or Opus
in WebM).

>>> summary = colorize_video("film.mp4", "film_color.mp4", smoothing=0.6)
>>> summary.flicker        # mean |change of ab| between frames where L barely changed
"""

import math
import os
import sys
import time
from contextlib import closing
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from colornet import frames420
from colornet.canvas import colors
from colornet.defaults import DEFAULT_MODEL
from colornet.errors import VideoError
from colornet.files import atomic_path, can_create
from colornet.fullres import frame_lightness
from colornet.images import Photo
from colornet.inference_options import InferenceOptions, merge_options
from colornet.pipeline import ahead, behind, padded
from colornet.predict import content_for, finish, load_colorizer, prepare_for
from colornet.temporal import (  # noqa: F401  (FlickerMeter and the constants: importable from here too)
    CUT_THRESHOLD,
    SMOOTHING,
    CutDetector,
    FlickerMeter,
    TemporalSmoother,
)
from colornet.video_io import (  # noqa: F401  (CONTAINERS, open_video: importable from here too)
    CONTAINERS,
    PRESET,
    PRESETS,
    add_audio_stream,
    add_video_stream,
    estimated_frames,
    open_video,
    output_container,
    tag_stream,
    to_yuv,
)
from colornet.video_output import OutputFailed, unwritable, writing
from colornet.video_settings import Settings, VideoSummary, check_options
from colornet.weights import WEIGHTS_DIR

BATCH_SIZE = 8  # frames per network call
FINISH_DEPTH = 3  # batches (and audio packets) waiting to be merged and encoded: bounds the memory
# 8-bit 4:2:0 frames into a 4:2:0 output are merged on the chroma grid (`colornet.frames420`); False
# merges every frame in RGB at full resolution, as frames of other formats are.
CHROMA_GRID = True


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
    preset: str = PRESET,
    overwrite: bool = False,
    weights_dir=WEIGHTS_DIR,
    precision: str | None = None,
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    progress: bool = False,
    options: InferenceOptions | None = None,
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
        work_size: longer side of the working resolution; by default the model's own (`Colorizer.work_size`).
        batch_size: frames per network call.
        preset: x264's speed preset for H.264 outputs (`PRESETS`, fastest first), at CRF 18;
            other encoders ignore it.
        overwrite: replace an existing output; otherwise it is kept and `summary.skipped` is True.
        weights_dir: where provided weights are looked up by name.
        precision: the network's precision: `float32`, `mixed_bfloat16`, `mixed_float16` or `auto`
            (see `colornet.colorize`); None: `options`' precision, float32 by default.
        temperature: for a model over ab bins (zhang, beta --head bins), the annealed mean's
            temperature, above 0 and at most 10 (default: the model's, 0.38); other models
            ignore it with a note on stderr.
        undo_rebalancing: likewise, the share (0 to 1) of the class rebalancing taken back
            before the annealed mean (default: 0, the paper's decoding).
        progress: show a progress bar (frames/s, time left) on stderr.
        options: an `InferenceOptions` holding `work_size`, `precision`, `temperature` and
            `undo_rebalancing` at once; each of those keywords given (not None) wins over its field.

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
    check_options(source, smoothing, start, duration, batch_size, cut_threshold, preset)
    options = merge_options(
        options,
        work_size=work_size,
        precision=precision,
        temperature=temperature,
        undo_rebalancing=undo_rebalancing,
    )
    target = muxer, codec, copy_codecs = output_container(output)
    settings = Settings(
        source, start, duration, smoothing, cut_threshold, options.work_size, batch_size, preset, progress
    )
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
        colorizer = load_colorizer(
            model, weights_dir, precision=options.precision, work_size=options.work_size
        )
        colorizer, note = options.decode(colorizer)
        if note:
            print(note, file=sys.stderr)
        began = time.perf_counter()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
            with atomic_path(output) as partial:  # renamed to the output when it is complete
                with writing(partial, muxer) as out:
                    _transcode((container, video, audio), out, target, colorizer, summary, settings)
                if summary.frames == 0:
                    raise VideoError(
                        f"{source}: no frames from {start:g} s on (the video is shorter); use a smaller --start."
                    )
        except OutputFailed as failed:  # a full or read-only disk: the output's place, not the input
            raise unwritable(output, failed.__cause__, summary.frames) from None
        except av.error.FFmpegError as err:
            raise VideoError(
                f"{source}: FFmpeg stopped after {summary.frames} frames ({err}); "
                "if the video is damaged there, --start and --duration can skip that part."
            ) from None
        except OSError as err:  # creating the output's folder, or renaming the finished video
            raise unwritable(output, err, summary.frames) from None
        summary.seconds = time.perf_counter() - began
    return summary


def _transcode(opened, out, target, colorizer, summary, settings: Settings):
    """Decode, colorize and encode: the body of `colorize_video`, from the `opened` input
    `(container, video, audio)` into the open `out` (`target`: muxer, codec, audio codecs to copy)."""
    container, video, audio = opened
    muxer, codec, copy_codecs = target
    source, start, duration = settings.source, settings.start, settings.duration
    work_size, batch_size = settings.work_size, settings.batch_size
    rate = Fraction(video.average_rate or video.guessed_rate or 25)
    summary.width, summary.height = video.codec_context.width, video.codec_context.height
    summary.fps = float(rate)
    # AVI counts frames; the other containers keep the input's timestamps (variable frame rates too).
    time_base = Fraction(1, 1) / rate if muxer == "avi" else Fraction(video.time_base)
    out_video = add_video_stream(out, codec, video, rate, time_base, settings.preset)
    out_audio, copied = add_audio_stream(out, audio, copy_codecs, muxer)
    summary.audio = None if audio is None else ("copied" if copied else "re-encoded")

    begin = float((video.start_time or 0) * video.time_base) + start  # seconds, in the input's clock
    end = math.inf if duration is None else begin + duration
    if start > 0:
        container.seek(int(begin / video.time_base), stream=video)  # the keyframe before `begin`

    cuts, smoother, meter = (
        CutDetector(settings.cut_threshold),
        TemporalSmoother(settings.smoothing),
        FlickerMeter(settings.cut_threshold),
    )
    color = {}  # the input's YUV matrix, range, primaries and transfer, from its first frame
    # The network's canvas is made from the chroma grid's L where the grid is at least the canvas' size.
    content = content_for(colorizer, summary.height, summary.width, work_size)
    step = max(1, round(1 / (rate * time_base)))  # one frame, in the output's time base
    bar = tqdm(
        total=estimated_frames(video, start, duration, container),
        unit="frame",
        file=sys.stderr,
        disable=None if settings.progress else True,
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
                planes = None
                if CHROMA_GRID and frames420.supported(frame, out_video.pix_fmt):
                    planes = frames420.planes_of(frame)
                if planes is not None and min(np.subtract(planes.L.shape, content)) >= 0:
                    L = planes.L
                else:  # RGB by the frame's own matrix and range (BT.601 where the file does not
                    # say), and its L in one compiled pass over the uint8 frame
                    L = frame_lightness(frame.to_ndarray(format="rgb24"))
                photo = Photo(rgb=None, path=f"{source} frame {count}")
                count += 1
                yield (prepare_for(colorizer, photo, work_size, L), planes), pts

    def write_frames(batch, ab):
        """Cuts, smoothing, the merge and encoding of a batch (on the finishing thread)."""
        for ((prepared, planes), pts), ab_canvas in zip(batch, ab):
            h, w = prepared.content
            cut = cuts(prepared.canvas[:h, :w, 0])
            if cut:
                summary.cuts.append(summary.frames)
            ab_canvas = smoother(ab_canvas, cut)
            if planes is None:  # in RGB at full resolution
                rgb = finish(prepared, ab_canvas, np.uint8)
                meter.add(rgb)
                frame = to_yuv(rgb, out_video, color)
            else:  # on the chroma grid, the frame's own luma kept
                y, cb, cr, rgb = frames420.merge_420(planes, colors(prepared, ab_canvas))
                meter.add(rgb)
                frame = frames420.to_frame(y, cb, cr, planes.matrix, tag_stream(out_video, color) or 2)
            frame.pts, frame.time_base = pts, time_base
            frame.duration = step  # the last frame lasts as long as the others
            encoding.submit(encode, frame)

    def encode(frame):  # on the encoding thread
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
        canvases = padded(np.stack([prepared.canvas for (prepared, _), _ in batch]), batch_size)
        return colorizer.predict_ab(canvases, compiled=True)[: len(batch)]

    # Four stages at once (`colornet.pipeline`): decoding and L ahead, the network here, the merge
    # behind, and encoding behind it; everything is muxed on the encoding thread, in the input's order.
    batch = []  # ((Prepared, Planes or None), output pts)
    try:
        with (
            behind(FINISH_DEPTH) as encoding,
            behind(FINISH_DEPTH) as finishing,
            closing(ahead(frames())) as reading,
        ):
            for item, pts in reading:
                if pts is None:
                    finishing.submit(encoding.submit, write_audio, item)
                    continue
                batch.append((item, pts))
                if len(batch) >= batch_size:
                    finishing.submit(write_frames, batch, colorize(batch))
                    batch = []
            if batch:
                finishing.submit(write_frames, batch, colorize(batch))
            finishing.submit(encoding.submit, close_streams)
    finally:
        bar.close()
    summary.flicker = meter.value
