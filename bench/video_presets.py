"""x264's presets for `colornet video --preset`: encoding time and file size of the same frames at CRF 18,
against `veryfast` (the command's default) encoded in the same process.

    python bench/video_presets.py                      # a 4-second 1280x720 clip, every preset
    python bench/video_presets.py --quick              # 2 seconds at 640x480
    python bench/video_presets.py --size 640 480 --presets veryfast medium

The frames: `--shots` photos bundled with scikit-image (or from `--data`), each panned slowly corner to
corner (as `bench/video_flicker.py` does), decoded once into 4:2:0 frames before timing. For each preset
the frames are encoded into a file in a temporary folder, as `colornet video` encodes them
(libx264, CRF 18): wall time per frame, the process' CPU time per frame (x264 runs threads of its own),
and the file's size; ratios against `veryfast`.
"""

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
from _report import report  # noqa: E402
from video_flicker import pick_photos  # noqa: E402
from video_speed import write_clip  # noqa: E402

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
BASELINE = "veryfast"


def encode(frames, path: Path, preset: str, fps: int) -> tuple[float, float]:
    """Seconds of wall and process CPU time to encode `frames` with `preset` into `path`."""
    wall, cpu = time.perf_counter(), time.process_time()
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
        stream.options = {"crf": "18", "preset": preset}
        stream.time_base = Fraction(1, fps)
        for i, frame in enumerate(frames):
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> dict:
    from colornet.precision import cpu_name

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"))
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length (default: 4)")
    parser.add_argument("--fps", type=int, default=25, help="frame rate (default: 25)")
    parser.add_argument("--shots", type=int, default=5, help="photos, one shot each (default: 5)")
    parser.add_argument("--data", help="a folder of color photos (default: scikit-image's bundled photos)")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), help="presets to time")
    parser.add_argument("--quick", action="store_true", help="2 seconds at 640x480")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.seconds = (640, 480), 2.0
    presets = [BASELINE] + [p for p in args.presets if p != BASELINE]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        write_clip(clip, pick_photos(args.data, args.shots), args.seconds, args.fps, tuple(args.size))
        with av.open(str(clip)) as container:
            frames = [f.reformat(format="yuv420p") for f in container.decode(video=0)]
        encode(frames[: args.fps], Path(tmp) / "warm.mp4", BASELINE, args.fps)  # x264 loaded, caches warm
        rows = []
        for preset in presets:
            path = Path(tmp) / f"{preset}.mp4"
            wall, cpu = encode(frames, path, preset, args.fps)
            rows.append({"preset": preset, "ms_per_frame": 1000 * wall / len(frames),
                         "cpu_ms_per_frame": 1000 * cpu / len(frames), "mb": os.path.getsize(path) / 1e6})  # fmt: skip
    base = rows[0]
    print(f"video_presets: {len(frames)} frames of {args.size[0]}x{args.size[1]}, CRF 18; {cpu_name()}")
    print("| preset | ms per frame | CPU ms per frame | file | time / veryfast | size / veryfast |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        r["time_ratio"] = r["ms_per_frame"] / base["ms_per_frame"]
        r["size_ratio"] = r["mb"] / base["mb"]
        print(f"| {r['preset']} | {r['ms_per_frame']:.2f} | {r['cpu_ms_per_frame']:.2f} | {r['mb']:.2f} MB | "
              f"{r['time_ratio']:.2f} | {r['size_ratio']:.2f} |")  # fmt: skip
    result = {"benchmark": "video_presets", "device": "CPU", "cpu": cpu_name(), "size": list(args.size),
              "frames": len(frames), "presets": rows}  # fmt: skip
    return report(result, args.json)


if __name__ == "__main__":
    main()
