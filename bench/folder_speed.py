"""Photos per second of colorizing a folder (`colorize_files`) against the network alone.

    python bench/folder_speed.py                         # 48 photos of 1152x864
    python bench/folder_speed.py --quick                 # 16 photos
    python bench/folder_speed.py --data DIR --n 96 --format jpg

The folder: `--n` JPEGs (quality 92) of `--width` x `--height` (1 megapixel by default), resized with PIL
from color photos in `--data` (one per subfolder in turn; without it, photos bundled with scikit-image),
written to a temporary folder. In one process, with one loaded colorizer:
    folder       photos/s of `colornet.infer.colorize_files` on the folder into another temporary folder
                 (reading, preparing, the network, finishing at full resolution, writing `--format`),
                 after an untimed run on one batch of the photos and one more (which traces the
                 network's compiled graph, as the timed run uses it); into JPEGs the photos are colored
                 on their chroma grid (`colornet.jpeg420`), or in RGB at full resolution with `--rgb-path`
    network      photos/s of `Colorizer.predict(L, compiled=True)` alone on ready canvases of the
                 photos' shape (one photo prepared with `prepare_for`, repeated to the batch), the same
                 batch size, as many photos as the folder (at least 2 s), after an untimed call
    ratio        folder / network: the share of the network's speed the whole path keeps (target 0.6)
`--rounds` (default 3) runs the folder and then the network alone that many times, one after the other,
and reports each round and the medians (the ratio: the median of the rounds' ratios): a shared machine's
speed drifts by a tenth or more within a minute, and a round's two runs see the same drift.
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
from PIL import Image  # noqa: E402
from video_flicker import pick_photos  # noqa: E402
from video_speed import network_speed, ready_canvases  # noqa: E402

TARGET = 0.6  # folder / network alone


def write_folder(folder: Path, photos, n: int, size) -> list[Path]:
    """`n` JPEGs (quality 92) of `size` made from `photos` in turn; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    resized = [np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC)) for _, rgb in photos]
    paths = []
    for i in range(n):
        path = folder / f"photo_{i:04d}.jpg"
        Image.fromarray(resized[i % len(resized)]).save(path, quality=92)
        paths.append(path)
    return paths


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="a folder of color photos (default: scikit-image's bundled photos)")
    parser.add_argument(
        "--model", default="features", help="provided weights name or path (default: features)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="photos per network call (default: 8)")
    parser.add_argument("--n", type=int, default=48, help="photos in the folder (default: 48)")
    parser.add_argument("--width", type=int, default=1152, help="photo width (default: 1152)")
    parser.add_argument("--height", type=int, default=864, help="photo height (default: 864)")
    parser.add_argument(
        "--format", choices=("png", "jpg"), default="png", help="output format (default: png, as colorize)"
    )
    parser.add_argument(
        "--work-size", type=int, help="the working size colors are predicted at (default: the model's own)"
    )
    parser.add_argument(
        "--rgb-path",
        action="store_true",
        help="JPEGs too in RGB at full resolution, not on their chroma grid",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="folder and network runs, one after the other (default: 3)"
    )
    parser.add_argument("--quick", action="store_true", help="16 photos and 1 round")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.rounds = 16, 1
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: use 1 or more")

    from colornet.infer import colorize_files
    from colornet.precision import bf16_units, cpu_name, gpu_count
    from colornet.predict import load_colorizer

    size = (args.width, args.height)
    load_before = os.getloadavg()
    device = "GPU" if gpu_count() else "CPU"
    print(
        f"folder_speed: model {args.model}, batch {args.batch_size}, {args.n} JPEGs of {size[0]}x{size[1]} "
        f"into {args.format}; {cpu_name()} ({device}); "
        f"bfloat16 units: {', '.join(bf16_units()) or 'none'}; "
        f"load average before {' '.join(f'{x:.2f}' for x in load_before)}",
        flush=True,
    )
    photos = pick_photos(args.data, min(args.n, 6))
    colorizer = load_colorizer(args.model)
    if args.rgb_path:
        import colornet.infer_files

        colornet.infer_files.CHROMA_GRID = False
        print("JPEGs colored in RGB at full resolution (--rgb-path)", flush=True)
    if args.work_size:
        colorizer = replace(colorizer, default_work_size=args.work_size)
    print(f"colors predicted at {colorizer.work_size()} px (the longer side)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = write_folder(Path(tmp) / "in", photos, args.n, size)
        options = {"model": colorizer, "batch_size": args.batch_size, "overwrite": True}
        options["image_format"] = args.format
        # untimed: traces the network's graph for this canvas (`colorize_files` compiles it for more
        # photos than one batch, as the folder has)
        warm = [str(p) for p in inputs[: args.batch_size + 1]]
        colorize_files(warm, Path(tmp) / "warmup", **options)
        L = ready_canvases(colorizer, np.asarray(Image.open(inputs[0]).convert("RGB")), args.batch_size)
        print(
            "| round | photos | size | canvas | folder photos/s | network alone photos/s | folder / network |"
        )
        print("|---|---|---|---|---|---|---|")
        rounds = []
        for i in range(args.rounds):
            began = time.perf_counter()
            summary = colorize_files(str(Path(tmp) / "in"), Path(tmp) / "out", **options)
            folder = len(summary.colorized) / (time.perf_counter() - began)
            network = network_speed(colorizer, L, args.n)
            rounds.append((folder, network, folder / network))
            print(
                f"| {i + 1} | {len(summary.colorized)} | {size[0]}x{size[1]} | {L.shape[2]}x{L.shape[1]} "
                f"| {folder:.2f} | {network:.2f} | {folder / network:.2f} |",
                flush=True,
            )
    if summary.failed:
        print("failed: " + "; ".join(summary.failed))
    folder, network, ratio = (float(np.median(column)) for column in zip(*rounds))
    load_after = os.getloadavg()[0]
    if args.rounds > 1:
        print(f"| median | | | | {folder:.2f} | {network:.2f} | {ratio:.2f} |")
    print(f"ratio: {ratio:.3f} (target {TARGET}); load average after {load_after:.2f}")
    result = {
        "benchmark": "folder_speed",
        "device": device,
        "cpu": cpu_name(),
        "model": args.model,
        "batch": args.batch_size,
        "photos": len(summary.colorized),
        "failed": len(summary.failed),
        "size": list(size),
        "canvas": [int(L.shape[2]), int(L.shape[1])],
        "format": args.format,
        "load_average_before": round(load_before[0], 2),
        "load_average_after": round(load_after, 2),
        "folder_img_s": round(folder, 3),
        "network_img_s": round(network, 3),
        "ratio": round(ratio, 3),
        "rounds": [{"folder_img_s": round(f, 3), "network_img_s": round(n, 3)} for f, n, _ in rounds],
        "targets": {"ratio": TARGET},
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
