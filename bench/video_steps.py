"""Where the time of `colornet video` goes: the CPU time of each step of a frame, timed alone, against
the CPU time per frame of the whole path (all its threads) in the same process.

    python bench/video_steps.py                    # 1280x720 and 640x480, 6-second clips
    python bench/video_steps.py --quick            # 640x480, 3 seconds

The clip is made as `bench/video_speed.py` makes it (bundled photos panned, H.264). Steps, each repeated
on one frame of the clip after an untimed call, process CPU time per frame (FFmpeg's, x264's and
TensorFlow's threads included):
    decode      decoding the clip's H.264 frames (the whole clip, per frame)
    read        the frame's planes and the lightness of its chroma grid (`frames420.planes_of`)
    prepare     the network's canvas from it (`prepare_for`)
    network     `Colorizer.predict_ab(compiled=True)` on a batch of 8 canvases, per frame
    merge       the colors on the chroma grid (`frames420.merge_420`), the out-of-gamut fit included
    flicker     the flicker measure of one frame (`FlickerMeter.add`)
    encode      x264 at the command's preset, CRF 18 (the whole clip, per frame)
    whole path  `colorize_video` on the clip: process CPU time per frame, and its wall time
`ratio`: the steps' sum over the whole path's CPU time per frame (1 would mean no cost to running the
stages side by side).
"""

import argparse
import os
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
from video_flicker import pick_photos  # noqa: E402
from video_presets import encode  # noqa: E402
from video_speed import write_clip  # noqa: E402


def cpu_ms(fn, reps: int) -> float:
    """Process CPU milliseconds per call of `fn`, after an untimed call."""
    fn()
    start = time.process_time()
    for _ in range(reps):
        fn()
    return 1000 * (time.process_time() - start) / reps


def measure(colorizer, photos, size, seconds: float, fps: int, tmp: Path) -> dict:
    from colornet import frames420
    from colornet.canvas import colors
    from colornet.images import Photo
    from colornet.predict import prepare_for
    from colornet.temporal import FlickerMeter
    from colornet.video import PRESET, colorize_video

    clip = tmp / f"clip_{size[0]}x{size[1]}.mp4"
    n = write_clip(clip, photos, seconds, fps, size)

    def decode():
        with av.open(str(clip)) as container:
            return list(container.decode(video=0))

    steps = {"decode": cpu_ms(decode, 1) / n}
    frames = decode()
    frame = frames[n // 2]
    planes = frames420.planes_of(frame)
    steps["read"] = cpu_ms(lambda: frames420.planes_of(frame), 20)
    prepared = prepare_for(colorizer, Photo(rgb=None, path="frame"), None, planes.L)
    steps["prepare"] = cpu_ms(
        lambda: prepare_for(colorizer, Photo(rgb=None, path="frame"), None, planes.L), 20
    )
    batch = np.stack([prepared.canvas] * 8)
    steps["network"] = cpu_ms(lambda: colorizer.predict_ab(batch, compiled=True), 5) / 8
    ab = colors(prepared, colorizer.predict_ab(batch, compiled=True)[0])
    steps["merge"] = cpu_ms(lambda: frames420.merge_420(planes, ab), 20)
    small = frames420.merge_420(planes, ab)[3]
    meter = FlickerMeter()
    steps["flicker"] = cpu_ms(lambda: meter.add(small), 20)
    ready = [f.reformat(format="yuv420p") for f in frames]
    steps["encode"] = cpu_ms(lambda: encode(ready, tmp / "encoded.mp4", PRESET, fps), 1) / n
    out = tmp / "colorized.mp4"
    colorize_video(clip, out, colorizer, duration=1.0, overwrite=True)  # untimed: traces this canvas
    wall, cpu = time.perf_counter(), time.process_time()
    summary = colorize_video(clip, out, colorizer, overwrite=True)
    whole = 1000 * (time.process_time() - cpu) / summary.frames
    wall = 1000 * (time.perf_counter() - wall) / summary.frames
    total = sum(steps.values())
    return {"size": f"{size[0]}x{size[1]}", "frames": n, "steps_cpu_ms": steps, "steps_sum_cpu_ms": total,
            "whole_cpu_ms": whole, "whole_wall_ms": wall, "ratio": total / whole}  # fmt: skip


def main(argv=None) -> dict:
    from colornet.precision import cpu_name
    from colornet.predict import load_colorizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="features", help="a provided model or weights (default: features)")
    parser.add_argument("--seconds", type=float, default=6.0, help="clip length (default: 6)")
    parser.add_argument("--fps", type=int, default=25, help="frame rate (default: 25)")
    parser.add_argument("--shots", type=int, default=5, help="photos, one shot each (default: 5)")
    parser.add_argument("--data", help="a folder of color photos (default: scikit-image's bundled photos)")
    parser.add_argument(
        "--work-size", type=int, help="the working size colors are predicted at (default: the model's own)"
    )
    parser.add_argument("--quick", action="store_true", help="640x480 only, 3-second clip")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    sizes = [(640, 480)] if args.quick else [(1280, 720), (640, 480)]
    if args.quick:
        args.seconds = 3.0
    colorizer = load_colorizer(args.model)
    if args.work_size:
        colorizer = replace(colorizer, default_work_size=args.work_size)
    photos = pick_photos(args.data, args.shots)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(colorizer, photos, size, args.seconds, args.fps, Path(tmp)) for size in sizes]
    names = list(rows[0]["steps_cpu_ms"])
    print(
        f"video_steps: model {args.model}, colors at {colorizer.work_size()} px, CPU ms per frame; {cpu_name()}"
    )
    print("| size | " + " | ".join(names) + " | sum | whole path (CPU) | whole path (wall) | sum / whole |")
    print("|---|" + "---|" * (len(names) + 4))
    for r in rows:
        cells = " | ".join(f"{r['steps_cpu_ms'][k]:.1f}" for k in names)
        print(f"| {r['size']} | {cells} | {r['steps_sum_cpu_ms']:.1f} | {r['whole_cpu_ms']:.1f} | "
              f"{r['whole_wall_ms']:.1f} | {r['ratio']:.2f} |")  # fmt: skip
    result = {
        "benchmark": "video_steps",
        "device": "CPU",
        "cpu": cpu_name(),
        "model": args.model,
        "sizes": rows,
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
