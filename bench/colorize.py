"""Colorizing speed and peak memory: seconds per photo at 1, 3 and 12 megapixels, photos per
second for a folder of 256x256 photos, and the peak memory of a 48-megapixel photo.

    python bench/colorize.py                          # provided Beta, or a random one (see below)
    python bench/colorize.py --model runs/beta/best.weights.h5 --json colorize.json
    python bench/colorize.py --quick

Every case runs in a fresh process.

Per photo, in a warmed-up process (model loaded, functions compiled), medians of `--repeats`:
    colorize   `colornet.colorize(array)`: uint8 photo in memory -> float RGB
    cpu        the CPU time of those calls, all threads (the machine's share when it is busy)
    L, network, merge   its stages: full-resolution L and the working canvas (`prepare`),
               the model on the canvas, upsampled ab merged with L (`finish`)
    read       `load_image`: decoding the JPEG into float RGB
    write      encoding the uint8 result as PNG as `colorize_files` does (zlib level 3, one thread)
    file       `colorize_files`: JPEG file -> PNG file, everything included

One command, `python -m colornet colorize PHOTO` run in-process by `colornet.cli.main`
in a fresh process: its seconds (importing TensorFlow, loading the model and compiling
included) and the process's peak resident memory (`ru_maxrss`: Python, TensorFlow, the
model and the photo). A 64x64 photo gives the memory of everything but the photo.

The photos are bundled scikit-image photos enlarged to the size, saved as JPEG.
Without provided weights for `--model beta` a randomly initialized full-width
Beta is used: the network's time does not depend on its weights, but the share
of predicted colors outside the sRGB gamut does (those pixels are refitted, see
`colornet.fullres.merge_full`), so that share is printed too.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PIL import Image  # noqa: E402

PREFIX = "BENCH_JSON "
WORKER_PREFIX = "WORKER_JSON "
TARGET_12MP_S = 2.0  # the project's target on 2 CPU cores with Beta


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def photo_size(megapixels: float) -> tuple[int, int]:
    """(width, height) of a 4:3 photo of about `megapixels`."""
    w = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    return w, round(w * 3 / 4)


def make_photo(path, size, name="coffee") -> None:
    from skimage import data

    Image.fromarray(getattr(data, name)()).resize(size, Image.BICUBIC).save(path, quality=90)


def make_folder(folder, n: int, side: int = 256) -> None:
    from skimage import data

    os.makedirs(folder, exist_ok=True)
    names = ("astronaut", "chelsea", "coffee", "rocket")
    for i in range(n):
        photo = getattr(data, names[i % len(names)])()
        top, left = (i * 37) % (photo.shape[0] - 256), (i * 53) % (photo.shape[1] - 256)
        crop = Image.fromarray(photo[top : top + 256, left : left + 256])
        crop.resize((side, side), Image.BICUBIC).save(os.path.join(folder, f"p{i:03d}.jpg"), quality=90)


# --- the measuring process ------------------------------------------------------


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def out_of_gamut_share(model, uint8, work_size) -> float:
    """Share of the predicted colors that are outside the sRGB gamut, at the working resolution."""
    from colornet.color import merge_l_ab
    from colornet.images import as_photo
    from colornet.predict import prepare_for

    prepared = prepare_for(model, as_photo(uint8), work_size)
    h, w = prepared.content
    ab = model.predict_ab(prepared.canvas[None])[0, :h, :w]
    rgb = np.asarray(merge_l_ab(prepared.canvas[:h, :w], ab))
    return float(np.mean(np.any((rgb <= 0) | (rgb >= 1), axis=-1)))


def worker(args) -> dict:
    if args.case == "command":
        from colornet import cli

        out = tempfile.mkdtemp()
        argv = [
            "colorize",
            args.photo,
            "--model",
            args.model,
            "--out",
            out,
            "--work-size",
            str(args.work_size),
        ]
        start = time.perf_counter()
        code = cli.main(argv)
        return {
            "case": "command",
            "exit": code,
            "command_s": time.perf_counter() - start,
            "peak_rss_mb": peak_rss_mb(),
        }

    import colornet.infer as cz
    from colornet.color import to_uint8
    from colornet.fullres import precompile
    from colornet.images import as_photo, load_image
    from colornet.predict import load_colorizer, prepare_for

    model = load_colorizer(args.model)
    precompile()  # the full-resolution functions, for every chunk size
    cz.colorize(np.full((866, 1155, 3), 128, np.uint8), model, work_size=args.work_size)
    result = {"case": args.case}
    out = tempfile.mkdtemp()
    if args.case == "folder":
        cz.colorize_files(args.photo, out, model, work_size=args.work_size, overwrite=True, batch_size=16)
        n = len(os.listdir(args.photo))
        for batch in (16, 1):
            seconds = median_seconds(
                lambda b=batch: cz.colorize_files(
                    args.photo, out, model, work_size=args.work_size, overwrite=True, batch_size=b
                ),
                args.repeats,
            )
            result[f"batch{batch}_img_s"] = n / seconds
        result["photos"] = n
        return result

    with Image.open(args.photo) as im:
        uint8 = np.asarray(im.convert("RGB"))
    result["pixels"] = uint8.shape[0] * uint8.shape[1]
    rgb = None

    def run_colorize():
        nonlocal rgb
        rgb = cz.colorize(uint8, model, work_size=args.work_size)

    cpu = time.process_time()
    result["colorize_s"] = median_seconds(run_colorize, args.repeats)
    result["colorize_cpu_s"] = (time.process_time() - cpu) / args.repeats  # all threads, mean
    photo = as_photo(uint8)
    stages = {"lightness": [], "network": [], "merge": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        prepared = prepare_for(model, photo, args.work_size)
        stages["lightness"].append(time.perf_counter() - start)
        start = time.perf_counter()
        ab = model.predict_ab(prepared.canvas[None])
        stages["network"].append(time.perf_counter() - start)
        start = time.perf_counter()
        cz.finish(prepared, ab[0])
        stages["merge"].append(time.perf_counter() - start)
    for stage, times in stages.items():
        result[f"{stage}_s"] = statistics.median(times)
    del photo, prepared
    result["out_of_gamut_share"] = out_of_gamut_share(model, uint8, args.work_size)
    result["read_s"] = median_seconds(lambda: load_image(args.photo), args.repeats)
    png = Image.fromarray(to_uint8(rgb))
    result["write_s"] = median_seconds(
        lambda: png.save(os.path.join(out, "w.png"), compress_level=3), args.repeats
    )
    result["file_s"] = median_seconds(
        lambda: cz.colorize_files([args.photo], out, model, work_size=args.work_size, overwrite=True),
        args.repeats,
    )
    return result


# --- the parent -----------------------------------------------------------------


def print_table(columns, rows) -> None:
    """Right-aligned columns; a row with an error prints its first two cells and the error."""
    cells = [[h for h, _, _ in columns]]
    for row in rows:
        if "error" in row:
            cells.append([fmt.format(row[key]) for _, key, fmt in columns[:2]] + [f"error: {row['error']}"])
        else:
            cells.append([fmt.format(row[key]) for _, key, fmt in columns])
    widths = [max(len(line[i]) for line in cells if i < len(line)) for i in range(len(columns))]
    for line in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)).rstrip())


def resolve_model(name, folder) -> tuple[str, str]:
    """A weights path for `name`, and a note: provided weights, or a random Beta when there are none."""
    from colornet.errors import WeightsError
    from colornet.models import DESIGNS, build_model
    from colornet.weights import resolve_weights, save_config

    try:
        path, _ = resolve_weights(name)
        return str(name), f"weights: {path}"
    except WeightsError as err:
        if name not in DESIGNS:
            raise
        import keras

        keras.utils.set_random_seed(0)
        path = os.path.join(folder, f"random_{name}.weights.h5")
        build_model(name).save_weights(path)
        save_config(path, name, {})
        return path, f"weights: a randomly initialized {name} ({str(err).split(';')[0]})"


def run_case(args, case, photo, repeats) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        case,
        "--photo",
        photo,
        "--model",
        args.model_path,
        "--work-size",
        str(args.work_size),
        "--repeats",
        str(repeats),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith(WORKER_PREFIX):
            return json.loads(line[len(WORKER_PREFIX) :])
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"case": case, "error": f"exit {done.returncode}: {tail}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="beta", help="beta (provided weights or random) or a weights path")
    parser.add_argument("--sizes", default="1,3,12", help="megapixels of the single photos (default: 1,3,12)")
    parser.add_argument(
        "--folder", type=int, default=64, help="256x256 photos in the folder case (default: 64)"
    )
    parser.add_argument(
        "--commands",
        default="12,48",
        help="megapixels of the one-command runs (default: 12,48; empty to skip)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case; the median is used")
    parser.add_argument("--work-size", type=int, help="colorize --work-size (default: the command's)")
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--quick", action="store_true", help="fewer photos and repeats")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--photo", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        args.case = args.worker
        print(WORKER_PREFIX + json.dumps(worker(args)), flush=True)
        return 0

    if args.quick:
        args.folder, args.repeats = min(args.folder, 32), 1
    if args.work_size is None:
        from colornet.infer import WORK_SIZE

        args.work_size = WORK_SIZE
    sizes = [float(s) for s in args.sizes.split(",") if s]
    commands = [float(s) for s in args.commands.split(",") if s]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        args.model_path, note = resolve_model(args.model, tmp)
        print(f"colorize benchmark: {os.cpu_count()} CPU cores, load average {load_before:.1f}; {note}")
        photos = {}
        for mp in sorted({*sizes, *commands}):
            size = photo_size(mp)
            photos[mp] = (os.path.join(tmp, f"{mp:g}mp.jpg"), f"{size[0]}x{size[1]}")
            make_photo(photos[mp][0], size)
        photos[0] = (os.path.join(tmp, "tiny.jpg"), "64x64")
        make_photo(photos[0][0], (64, 64))
        rows = [
            {"megapixels": mp, "size": photos[mp][1], **run_case(args, "photo", photos[mp][0], args.repeats)}
            for mp in sizes
        ]
        command_rows = [
            {"megapixels": mp, "size": photos[mp][1], **run_case(args, "command", photos[mp][0], 1)}
            for mp in ([0, *commands] if commands else [])
        ]
        folder = os.path.join(tmp, "folder")
        make_folder(folder, args.folder)
        folder_row = run_case(args, "folder", folder, args.repeats)

    print(f"\nOne photo, warm process, work size {args.work_size}, median of {args.repeats}:")
    columns = [  # (header, key, format)
        ("photo", "megapixels", "{:g} MP"),
        ("size", "size", "{}"),
        ("colorize s", "colorize_s", "{:.2f}"),
        ("cpu s", "colorize_cpu_s", "{:.2f}"),
        ("L s", "lightness_s", "{:.2f}"),
        ("network s", "network_s", "{:.2f}"),
        ("merge s", "merge_s", "{:.2f}"),
        ("read s", "read_s", "{:.2f}"),
        ("write s", "write_s", "{:.2f}"),
        ("file s", "file_s", "{:.2f}"),
        ("out of gamut", "out_of_gamut_share", "{:.1%}"),
    ]
    print_table(columns, rows)
    if command_rows:
        print("\nOne command, `colorize PHOTO` in a fresh process:")
        for row in command_rows:
            row["photo"] = f"{row['megapixels']:g} MP" if row["megapixels"] else "tiny"
            if row.get("exit"):
                row["error"] = f"exit {row['exit']}"
        columns = [
            ("photo", "photo", "{}"),
            ("size", "size", "{}"),
            ("seconds", "command_s", "{:.2f}"),
            ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
        ]
        print_table(columns, command_rows)
    if "error" in folder_row:
        print(f"\nfolder: error: {folder_row['error']}")
    else:
        print(
            f"\nFolder of {folder_row['photos']} photos of 256x256, warm process: "
            f"{folder_row['batch16_img_s']:.1f} photos/s batched (up to 16 per network call), "
            f"{folder_row['batch1_img_s']:.1f} photos/s one by one"
        )

    result = {
        "benchmark": "colorize",
        "device": f"CPU, {os.cpu_count()} cores",
        "load_average_before": load_before,
        "model": note,
        "work_size": args.work_size,
        "photos": rows,
        "commands": command_rows,
        "folder": folder_row,
    }
    twelve = next((r for r in rows if r["megapixels"] == 12 and "error" not in r), None)
    if twelve:
        result["colorize_12mp_s"] = twelve["colorize_s"]
        result["ratio_12mp"] = TARGET_12MP_S / twelve["colorize_s"]  # >= 1: the 2 s target is met
        result["targets"] = {"ratio_12mp": 1.0}
    for row in command_rows:
        if row["megapixels"] and "peak_rss_mb" in row:
            result[f"peak_rss_mb_{row['megapixels']:g}mp"] = row["peak_rss_mb"]
    errors = [
        f"{r.get('size', 'folder')}: {r['error']}" for r in [*rows, *command_rows, folder_row] if "error" in r
    ]
    if errors:
        result["error"] = "; ".join(errors)
    print(PREFIX + json.dumps(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
