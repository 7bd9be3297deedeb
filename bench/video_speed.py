"""Frames per second of `colorize_video` against the network alone, per frame size; with `--memory`, the
`video` command's peak memory on a short clip against a long one.

    python bench/video_speed.py                          # 10-second clips at 320x240, 640x480, 1280x720
    python bench/video_speed.py --quick                  # 3-second clips at 320x240 and 640x480
    python bench/video_speed.py --data DIR --memory      # also the peak memory, 10 s against 2 min

Each clip: `--shots` color photos from `--data` (one per subfolder in turn; without it, photos bundled
with scikit-image), each panned slowly corner to corner (as `bench/video_flicker.py` does), at `--fps`,
H.264 (CRF 18, preset veryfast), written to a temporary folder. For each frame size, in one process
and with one loaded colorizer:
    video        frames/s of `colornet.video.colorize_video` on the clip (H.264 in and out: decoding,
                 preparing, the network, finishing, smoothing, encoding at `--preset`), after an untimed run on its
                 first second (tracing the network's graph for this canvas)
    network      frames/s of `Colorizer.predict(L, compiled=True)` alone on ready canvases of that
                 frame shape (one frame prepared with `prepare_for`, repeated to the batch), the same
                 batch size, as many frames as the clip (at least 2 s), after an untimed call
    ratio        video / network: the share of the network's speed the whole path keeps
`--rounds` (default 3) runs the video and then the network alone that many times for each size, one
after the other, and reports the medians (the ratio: the median of the rounds' ratios): a shared
machine's speed drifts by a tenth or more within a minute, and a round's two runs see the same drift.
Top-level ratios `ratio_<W>x<H>` (targets 0.6 at 640x480 and 0.4 at 1280x720) and `fps_<W>x<H>`; the
project also aims at 15 frames/s at 640x480 (`target_fps_640x480`).

`--memory`: `python -m colornet video in.mp4 out.mp4 --overwrite` in a fresh child process on a 10-second
and on a 2-minute clip at 320x240 (low quality, preset ultrafast), each child's peak resident memory
(`ru_maxrss` from `os.wait4`); `ratio_memory` is the 10-second peak over the 2-minute peak (target 0.9:
memory that stays flat as the clip grows gives about 1).
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import av  # noqa: E402
from _report import report  # noqa: E402
from video_flicker import pan, pick_photos  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SIZES = ((320, 240), (640, 480), (1280, 720))
QUICK_SIZES = SIZES[:2]
TARGETS = {"ratio_640x480": 0.6, "ratio_1280x720": 0.4}
TARGET_FPS_640x480 = 15
MEMORY_SECONDS = (10.0, 120.0)  # the short and the long clip of `--memory`
TARGET_MEMORY = 0.9


def write_clip(path, photos, seconds: float, fps: int, size, crf: int = 18, preset: str = "veryfast") -> int:
    """A clip of `photos` panned in turn, H.264 at `crf` and `preset`; returns its number of frames."""
    frames = round(seconds * fps)
    per_shot = math.ceil(frames / len(photos))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for i in range(frames):
            k = i % per_shot
            rgb = pan(photos[i // per_shot][1], k / max(1, per_shot - 1), size)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return frames


def ready_canvases(colorizer, rgb: np.ndarray, batch: int) -> np.ndarray:
    """`batch` copies of the working canvas of `rgb` (uint8 RGB), L in [0, 100]: `(batch, hc, wc, 1)`."""
    from colornet.images import Photo
    from colornet.predict import prepare_for

    photo = Photo(rgb=np.asarray(rgb, np.float32) / 255.0, path="frame")
    return np.repeat(prepare_for(colorizer, photo).canvas[None], batch, axis=0)


def network_speed(colorizer, L: np.ndarray, images: int, min_seconds: float = 2.0) -> float:
    """Images per second of `Colorizer.predict(L, compiled=True)` alone over at least `images` images
    and `min_seconds`, after an untimed call that traces the graph."""
    colorizer.predict(L, compiled=True)
    done, began = 0, time.perf_counter()
    while done < images or time.perf_counter() - began < min_seconds:
        colorizer.predict(L, compiled=True)
        done += len(L)
    return done / (time.perf_counter() - began)


def measure_size(colorizer, photos, size, args, tmp: Path) -> dict:
    from colornet.video import colorize_video

    name = f"{size[0]}x{size[1]}"
    clip = tmp / f"clip_{name}.mp4"
    frames = write_clip(clip, photos, args.seconds, args.fps, size)
    out = tmp / f"out_{name}.mp4"
    kwargs = {"batch_size": args.batch_size, "preset": args.preset, "overwrite": True}
    colorize_video(clip, out, colorizer, duration=1.0, **kwargs)  # untimed: traces this canvas
    L = ready_canvases(colorizer, pan(photos[0][1], 0.0, size), args.batch_size)
    rounds = []
    for _ in range(args.rounds):
        began = time.perf_counter()
        summary = colorize_video(clip, out, colorizer, **kwargs)
        video = summary.frames / (time.perf_counter() - began)
        rounds.append((video, network_speed(colorizer, L, summary.frames)))
    video, network, ratio = (float(np.median(c)) for c in zip(*((v, n, v / n) for v, n in rounds)))
    return {
        "size": name,
        "frames": summary.frames,
        "clip_frames": frames,
        "canvas": [int(L.shape[2]), int(L.shape[1])],
        "video_fps": round(video, 2),
        "network_fps": round(network, 2),
        "ratio": round(ratio, 3),
        "rounds": [{"video_fps": round(v, 2), "network_fps": round(n, 2)} for v, n in rounds],
    }


def peak_memory_mb(clip: Path, out: Path, args) -> float:
    """Peak resident memory, in MB, of `python -m colornet video` on `clip`, in a fresh child process."""
    command = [sys.executable, "-m", "colornet", "video", str(clip), str(out), "--overwrite"]
    command += ["--model", args.model, "--batch-size", str(args.batch_size)]
    command += ["--work-size", str(args.work_size)] if args.work_size else []
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"colornet video {clip.name} failed ({child.returncode}): {' '.join(tail)}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def measure_memory(photos, args, tmp: Path) -> dict:
    size = SIZES[0]
    peaks = {}
    for seconds in MEMORY_SECONDS:
        clip = tmp / f"memory_{seconds:g}s.mp4"
        write_clip(clip, photos, seconds, args.fps, size, crf=30, preset="ultrafast")
        peaks[seconds] = peak_memory_mb(clip, tmp / f"memory_{seconds:g}s_out.mp4", args)
    short, long = (peaks[s] for s in MEMORY_SECONDS)
    return {
        "memory_size": f"{size[0]}x{size[1]}",
        "memory_short_s": MEMORY_SECONDS[0],
        "memory_long_s": MEMORY_SECONDS[1],
        "peak_short_mb": round(short, 1),
        "peak_long_mb": round(long, 1),
        "ratio_memory": round(short / long, 3),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="a folder of color photos (default: scikit-image's bundled photos)")
    parser.add_argument(
        "--model", default="features", help="provided weights name or path (default: features)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="frames per network call (default: 8)")
    parser.add_argument(
        "--preset",
        default="veryfast",
        help="x264's preset for the colorized output (default: veryfast, as `video`)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length per size (default: 10)")
    parser.add_argument("--fps", type=int, default=25, help="frame rate (default: 25)")
    parser.add_argument("--shots", type=int, default=5, help="photos, one shot each (default: 5)")
    parser.add_argument(
        "--work-size", type=int, help="the working size colors are predicted at (default: the model's own)"
    )
    parser.add_argument("--memory", action="store_true", help="also the peak memory, 10 s against 2 min")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="video and network runs per size, one after the other (default: 3)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3-second clips, 320x240 and 640x480 only, 1 round"
    )
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.quick:
        args.seconds, args.rounds = 3.0, 1
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: use 1 or more")

    from colornet.precision import bf16_units, cpu_name, gpu_count
    from colornet.predict import load_colorizer

    load_before = os.getloadavg()
    device = "GPU" if gpu_count() else "CPU"
    print(
        f"video_speed: model {args.model}, batch {args.batch_size}, output preset {args.preset}, "
        f"{args.seconds:g}-second clips at "
        f"{args.fps} fps, {args.shots} shots; {cpu_name()} ({device}); "
        f"bfloat16 units: {', '.join(bf16_units()) or 'none'}; "
        f"load average before {' '.join(f'{x:.2f}' for x in load_before)}",
        flush=True,
    )
    photos = pick_photos(args.data, args.shots)
    colorizer = load_colorizer(args.model)
    if args.work_size:
        colorizer = replace(colorizer, default_work_size=args.work_size)
    print(f"colors predicted at {colorizer.work_size()} px (the longer side)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure_size(colorizer, photos, size, args, Path(tmp)) for size in sizes]
        memory = {}
        if args.memory:
            try:
                memory = measure_memory(photos, args, Path(tmp))
            except RuntimeError as err:  # a failed child: the speed figures still count
                memory = {"error": str(err)}

    print("| size | frames | canvas | video frames/s | network alone frames/s | video / network |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        each = [(x["video_fps"], x["network_fps"]) for x in r["rounds"]]
        rounds = f" ({', '.join(f'{v:.1f} / {n:.1f}' for v, n in each)})" if len(each) > 1 else ""
        print(
            f"| {r['size']} | {r['frames']} | {r['canvas'][0]}x{r['canvas'][1]} | {r['video_fps']:.1f} "
            f"| {r['network_fps']:.1f} | {r['ratio']:.2f}{rounds} |"
        )
    measured = {f"ratio_{r['size']}" for r in rows}
    targets = {k: v for k, v in TARGETS.items() if k in measured}
    if "error" in memory:
        print(f"peak memory: {memory['error']}")
    elif memory:
        targets["ratio_memory"] = TARGET_MEMORY
        print(
            f"peak memory of `colornet video` at {memory['memory_size']}: {memory['peak_short_mb']:.0f} MB "
            f"({MEMORY_SECONDS[0]:g} s), {memory['peak_long_mb']:.0f} MB ({MEMORY_SECONDS[1]:g} s); "
            f"ratio_memory {memory['ratio_memory']:.2f} (target {TARGET_MEMORY})"
        )
    for r in rows:
        key = f"ratio_{r['size']}"
        print(f"{key}: {r['ratio']:.3f}" + (f" (target {targets[key]})" if key in targets else ""))
    load_after = os.getloadavg()[0]
    print(f"load average after {load_after:.2f}")
    result = {
        "benchmark": "video_speed",
        "device": device,
        "cpu": cpu_name(),
        "model": args.model,
        "batch": args.batch_size,
        "preset": args.preset,
        "seconds": args.seconds,
        "fps": args.fps,
        "load_average_before": round(load_before[0], 2),
        "load_average_after": round(load_after, 2),
        "sizes": rows,
        **{f"ratio_{r['size']}": r["ratio"] for r in rows},
        **{f"fps_{r['size']}": r["video_fps"] for r in rows},
        **{f"network_fps_{r['size']}": r["network_fps"] for r in rows},
        **memory,
        "target_fps_640x480": TARGET_FPS_640x480,
        "targets": targets,
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
