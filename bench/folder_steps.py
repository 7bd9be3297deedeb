"""Where the time of a folder of JPEGs colorized into JPEGs goes: the CPU time of each step of a photo,
timed alone, against the CPU time per photo of the whole path (all its threads) in the same process.

    python bench/folder_steps.py                   # 1152x864 (1 MP), 48 photos
    python bench/folder_steps.py --quick           # 16 photos

The folder is made as `bench/folder_speed.py` makes it (bundled photos resized, JPEG quality 92), and
colored on its chroma grid (`colornet.jpeg420`). Steps, each repeated on every distinct photo of the
folder after an untimed call, process CPU time per photo (FFmpeg's, Pillow's and TensorFlow's threads
included):
    decode      the JPEG's planes as it holds them (`jpeg420.stored_planes`)
    read        its header, planes and the lightness of its chroma grid (`jpeg420.read_planes`: decode
                included)
    prepare     the network's canvas from that lightness (`prepare_for`)
    network     `Colorizer.predict(compiled=True)` on a batch of 8 canvases, per photo
    merge       the colors on the chroma grid, as YCbCr pixels (`frames420.merge_420_pixels`), the
                out-of-gamut fit included
    write       the JPEG from those pixels, quality 95 (`images_save.save_ycbcr`)
    whole path  `colorize_files` on the folder into JPEGs: process CPU time per photo, and its wall time
`ratio`: the steps' sum (decode counted once, in read) over the whole path's CPU time per photo (1
would mean no cost to running the stages side by side).
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

from _report import report  # noqa: E402
from folder_speed import write_folder  # noqa: E402
from video_flicker import pick_photos  # noqa: E402
from video_steps import cpu_ms  # noqa: E402

BATCH = 8


def measure(colorizer, paths, n_photos: int, out: Path) -> dict:
    from colornet import frames420, jpeg420
    from colornet.canvas import colors
    from colornet.images import Photo
    from colornet.images_save import save_ycbcr
    from colornet.infer import colorize_files
    from colornet.predict import prepare_for

    distinct = paths[: min(len(paths), 6)]
    planes = [jpeg420.read_planes(p) for p in distinct]
    prepared = [
        prepare_for(colorizer, Photo(rgb=None, path=str(p)), None, q.L) for p, q in zip(distinct, planes)
    ]
    canvases = np.stack([prepared[i % len(prepared)].canvas for i in range(BATCH)])
    ab = np.asarray(colorizer.predict(canvases, compiled=True)[0])
    ab = [colors(p, ab[i]) for i, p in enumerate(prepared)]
    merged = [frames420.merge_420_pixels(q, a) for q, a in zip(planes, ab)]
    each = len(distinct)
    steps = {
        "decode": cpu_ms(lambda: [jpeg420.stored_planes(p) for p in distinct], 4) / each,
        "read": cpu_ms(lambda: [jpeg420.read_planes(p) for p in distinct], 4) / each,
        "prepare": cpu_ms(
            lambda: [prepare_for(colorizer, Photo(rgb=None), None, q.L) for q in planes], 8
        ) / each,
        "network": cpu_ms(lambda: colorizer.predict(canvases, compiled=True), 4) / BATCH,
        "merge": cpu_ms(lambda: [frames420.merge_420_pixels(q, a) for q, a in zip(planes, ab)], 4) / each,
        "write": cpu_ms(lambda: [save_ycbcr(out / "step.jpg", m, 95) for m in merged], 4) / each,
    }  # fmt: skip
    options = {"model": colorizer, "batch_size": BATCH, "overwrite": True, "image_format": "jpg"}
    colorize_files([str(p) for p in paths[: BATCH + 1]], out / "warmup", **options)  # traces the graph
    wall, cpu = time.perf_counter(), time.process_time()
    summary = colorize_files(str(paths[0].parent), out / "folder", **options)
    whole = 1000 * (time.process_time() - cpu) / len(summary.colorized)
    wall = 1000 * (time.perf_counter() - wall) / len(summary.colorized)
    total = sum(v for k, v in steps.items() if k != "decode")
    return {
        "photos": n_photos,
        "steps_cpu_ms": {k: round(v, 2) for k, v in steps.items()},
        "steps_sum_cpu_ms": round(total, 2),
        "whole_cpu_ms": round(whole, 2),
        "whole_wall_ms": round(wall, 2),
        "ratio": round(total / whole, 3),
    }


def main(argv=None) -> dict:
    from colornet.precision import cpu_name
    from colornet.predict import load_colorizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="features", help="a provided model or weights (default: features)")
    parser.add_argument("--n", type=int, default=48, help="photos in the folder (default: 48)")
    parser.add_argument("--width", type=int, default=1152, help="photo width (default: 1152)")
    parser.add_argument("--height", type=int, default=864, help="photo height (default: 864)")
    parser.add_argument("--data", help="a folder of color photos (default: scikit-image's bundled photos)")
    parser.add_argument(
        "--work-size", type=int, help="the working size colors are predicted at (default: the model's own)"
    )
    parser.add_argument("--quick", action="store_true", help="16 photos")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if args.quick:
        args.n = 16
    colorizer = load_colorizer(args.model)
    if args.work_size:
        colorizer = replace(colorizer, default_work_size=args.work_size)
    size = (args.width, args.height)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_folder(Path(tmp) / "in", pick_photos(args.data, min(args.n, 6)), args.n, size)
        row = measure(colorizer, paths, args.n, Path(tmp))
    names = list(row["steps_cpu_ms"])
    print(
        f"folder_steps: model {args.model}, colors at {colorizer.work_size()} px, {args.n} JPEGs of "
        f"{size[0]}x{size[1]} into JPEGs, CPU ms per photo; {cpu_name()}"
    )
    print("| " + " | ".join(names) + " | sum (read, prepare, network, merge, write) | whole path (CPU) "
          "| whole path (wall) | sum / whole |")  # fmt: skip
    print("|" + "---|" * (len(names) + 4))
    cells = " | ".join(f"{row['steps_cpu_ms'][k]:.1f}" for k in names)
    print(f"| {cells} | {row['steps_sum_cpu_ms']:.1f} | {row['whole_cpu_ms']:.1f} | {row['whole_wall_ms']:.1f} "
          f"| {row['ratio']:.2f} |")  # fmt: skip
    result = {"benchmark": "folder_steps", "device": "CPU", "cpu": cpu_name(), "model": args.model,
              "size": list(size), **row}  # fmt: skip
    return report(result, args.json)


if __name__ == "__main__":
    main()
