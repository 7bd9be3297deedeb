"""Flicker of `colornet video` with smoothing off and on, and its speed, on a clip made here.

    python bench/video_flicker.py --data ../shared/data/scenes/val      # the README's figures
    python bench/video_flicker.py --quick                              # a 3-second clip
    python bench/video_flicker.py --data DIR --keep clip.mp4           # also keep the clip

The clip: `--shots` color photos from `--data` (one per subfolder in turn, the first photos in
sorted order; without `--data`, photos bundled with scikit-image), each panned slowly for
`--seconds / --shots` seconds (a crop of 80% of the photo moving corner to corner), resized to
`--width` x `--height`, at `--fps`, hard cuts between shots, H.264 (CRF 12) with no audio. It is
written to a temporary folder and deleted unless `--keep`.

Each `--smoothing` value colorizes the whole clip with `colornet.video.colorize_video` (after a
warm-up run on the first second: loading and compiling are not timed). Reported per value:
    flicker      `FlickerMeter` on the frames as colorized, before encoding (the figure
                 `colornet video` prints): mean |ab change| between consecutive frames over
                 pixels whose L changed by less than 2, cuts skipped, at 128 px
    file         the same measure on the written file, after H.264
    frames/s     frames colorized per second
    cuts         scene cuts found, next to the true number
The original color clip's own flicker (from the pan and the encoding) is the floor.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import av  # noqa: E402
from PIL import Image  # noqa: E402

PREFIX = "BENCH_JSON "


def pick_photos(data: str | None, shots: int) -> list[tuple[str, np.ndarray]]:
    """`shots` (name, uint8 RGB) photos: from `data`, one per subfolder in turn, else bundled ones."""
    if data is None:
        from skimage import data as bundled

        names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field"]
        return [(n, getattr(bundled, n)()[..., :3]) for n in (names * shots)[:shots]]
    folders = sorted(p for p in Path(data).iterdir() if p.is_dir()) or [Path(data)]
    files = [
        sorted(f for f in folder.iterdir() if f.suffix.lower() in (".jpg", ".png")) for folder in folders
    ]
    picked = [files[i % len(files)][i // len(files)] for i in range(shots)]
    return [(str(p), np.asarray(Image.open(p).convert("RGB"))) for p in picked]


def pan(photo: np.ndarray, t: float, size: tuple[int, int], zoom: float = 0.8) -> np.ndarray:
    """The frame at `t` in [0, 1] of a pan over `photo`: a crop of `zoom` of it, corner to corner."""
    h, w = photo.shape[:2]
    cw, ch = w * zoom, h * zoom
    x, y = (w - cw) * t, (h - ch) * t
    image = Image.fromarray(photo)
    return np.asarray(image.resize(size, Image.BICUBIC, box=(x, y, x + cw, y + ch)))


def make_clip(path, photos, seconds: float, fps: int, size: tuple[int, int]) -> int:
    """Write the clip; returns its number of frames."""
    per_shot = round(seconds * fps / len(photos))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "12"}
        i = 0
        for _, photo in photos:
            for k in range(per_shot):
                frame = av.VideoFrame.from_ndarray(pan(photo, k / max(1, per_shot - 1), size), format="rgb24")
                frame.pts = i
                out.mux(stream.encode(frame))
                i += 1
        out.mux(stream.encode(None))
    return i


def file_flicker(path) -> float | None:
    from colornet.temporal import FlickerMeter

    meter = FlickerMeter()
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            meter.add(frame.to_ndarray(format="rgb24"))
    return meter.value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="a folder of color photos (default: scikit-image's bundled photos)")
    parser.add_argument(
        "--model", default="beta", help="provided weights name or weights path (default: beta)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length (default: 10)")
    parser.add_argument("--shots", type=int, default=5, help="photos, one shot each (default: 5)")
    parser.add_argument("--fps", type=int, default=24, help="frame rate (default: 24)")
    parser.add_argument("--width", type=int, default=320, help="frame width (default: 320)")
    parser.add_argument("--height", type=int, default=240, help="frame height (default: 240)")
    parser.add_argument(
        "--smoothing", type=float, nargs="+", default=[0.0, 0.6], help="values to compare (default: 0 0.6)"
    )
    parser.add_argument("--keep", help="also save the clip here (default: deleted)")
    parser.add_argument("--quick", action="store_true", help="a 3-second clip of 3 shots")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.shots = 3.0, 3

    from colornet.precision import cpu_name
    from colornet.predict import load_colorizer
    from colornet.video import SMOOTHING, colorize_video

    photos = pick_photos(args.data, args.shots)
    size = (args.width, args.height)
    colorizer = load_colorizer(args.model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(args.keep or Path(tmp) / "clip.mp4")
        frames = make_clip(clip, photos, args.seconds, args.fps, size)
        original = file_flicker(clip)
        colorize_video(clip, Path(tmp) / "warmup.mp4", colorizer, duration=1.0)  # load, compile
        for smoothing in args.smoothing:
            out = Path(tmp) / f"smoothing_{smoothing}.mp4"
            began = time.perf_counter()
            summary = colorize_video(clip, out, colorizer, smoothing=smoothing)
            seconds = time.perf_counter() - began
            rows.append(
                {
                    "smoothing": smoothing,
                    "flicker": summary.flicker,
                    "flicker_file": file_flicker(out),
                    "frames_s": summary.frames / seconds,
                    "cuts": len(summary.cuts),
                }
            )
    load = os.getloadavg()[0]
    print(
        f"clip: {frames} frames, {size[0]}x{size[1]}, {args.fps} fps, {args.shots} shots "
        f"({', '.join(Path(name).parent.name + '/' + Path(name).name for name, _ in photos)}); "
        f"model {args.model}; CPU {cpu_name()}, {os.cpu_count()} cores, load {load:.1f}"
    )
    print(f"original color clip's own flicker: {original:.3f}")
    print("| smoothing | flicker | flicker of the file (H.264) | frames/s | cuts found / true |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['smoothing']:g} | {r['flicker']:.3f} | {r['flicker_file']:.3f} | {r['frames_s']:.1f} "
            f"| {r['cuts']} / {args.shots - 1} |"
        )
    result = {
        "benchmark": "video_flicker",
        "device": f"{cpu_name()}, {os.cpu_count()} cores",
        "load": load,
        "frames": frames,
        "size": list(size),
        "fps": args.fps,
        "original_flicker": original,
        "runs": rows,
    }
    off = next((r for r in rows if r["smoothing"] == 0), None)
    on = [r for r in rows if r["smoothing"] == SMOOTHING] or [r for r in rows if r["smoothing"] > 0]
    if off and on:
        result["ratio"] = off["flicker"] / on[0]["flicker"]  # without smoothing / the default (or the first)
    print(PREFIX + json.dumps(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
