"""How well each step of a photo or a frame runs on two threads: the wall time per item of a step run
over many items on one thread and on two, in the same process.

    python bench/step_threads.py              # 48 items a step
    python bench/step_threads.py --quick      # 16

A step that keeps Python's lock while it works (the interpreter's global lock, which C code releases
around long work or not) runs no faster on two threads than on one, and holds up every other thread
of the pipeline while it runs: `ratio_<step>` is its time per item on one thread over that on two
(about 2 on two idle cores for a step that works on one core; about 1 for one that keeps the lock,
and less than 2 for one that already uses both cores, as TensorFlow's compiled functions split large
loops over them, or one that waits on memory). Steps, on the photos
`bench/folder_speed.py` makes (1152x864, JPEG quality 92) and on 1280x720 planes:
    read          a JPEG's planes and the lightness of its chroma grid (`jpeg420.read_planes`)
    merge         the network's colors merged on the grid, as YCbCr pixels (`frames420.merge_420_pixels`)
    write         the JPEG written from those pixels (`images_save.save_ycbcr`: encoded into the file)
    write_memory  the same JPEG encoded by Pillow into memory (`io.BytesIO`), as `save_ycbcr` once did
    to_frame      1280x720 planes into a video frame (`frames420.to_frame`: NumPy copies into its lines)
    from_ndarray  the same with PyAV's `VideoFrame.from_ndarray`, as `to_frame` once did
"""

import argparse
import io
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _report import report  # noqa: E402
from folder_speed import write_folder  # noqa: E402
from video_flicker import pick_photos  # noqa: E402


def per_item_ms(fn, items: int, threads: int) -> float:
    """Wall milliseconds per item of `fn(i)` for i in range(items) on `threads` threads, after one
    untimed call on each thread."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, range(threads)))
        began = time.perf_counter()
        for _ in pool.map(fn, range(items)):
            pass  # results dropped as they come: no memory piles up
        return 1000 * (time.perf_counter() - began) / items


def steps(colorizer, paths, out: Path) -> dict:
    import av
    from PIL import Image

    from colornet import frames420, jpeg420
    from colornet.canvas import colors
    from colornet.images import Photo
    from colornet.images_save import save_ycbcr
    from colornet.predict import prepare_for

    planes = [jpeg420.read_planes(p) for p in paths]
    prepared = [
        prepare_for(colorizer, Photo(rgb=None, path=str(p)), None, q.L) for p, q in zip(paths, planes)
    ]
    ab = np.asarray(colorizer.predict(np.stack([p.canvas for p in prepared]), compiled=True)[0])
    ab = [colors(p, ab[i]) for i, p in enumerate(prepared)]
    merged = [frames420.merge_420_pixels(q, a) for q, a in zip(planes, ab)]

    def write_memory(i):
        pixels = merged[i % len(merged)]
        photo = Image.frombuffer("YCbCr", pixels.shape[1::-1], pixels, "raw", "YCbCrX", 0, 1)
        photo.save(io.BytesIO(), format="JPEG", quality=95, subsampling="4:2:0")

    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (720, 1280), dtype=np.uint8)
    cb, cr = y[::2, ::2].copy(), y[1::2, 1::2].copy()

    def from_ndarray(_):
        packed = np.concatenate([y.reshape(-1), cb.reshape(-1), cr.reshape(-1)]).reshape(1080, 1280)
        return av.VideoFrame.from_ndarray(packed, format="yuv420p")

    n = len(paths)
    return {
        "read": lambda i: jpeg420.read_planes(paths[i % n]),
        "merge": lambda i: frames420.merge_420_pixels(planes[i % n], ab[i % n]),
        "write": lambda i: save_ycbcr(out / f"{i % n}.jpg", merged[i % n]),
        "write_memory": write_memory,
        "to_frame": lambda i: frames420.to_frame(y, cb, cr, jpeg420.JFIF, 2),
        "from_ndarray": from_ndarray,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default="features", help="provided weights name or path (default: features)"
    )
    parser.add_argument("--items", type=int, default=48, help="items a step runs over (default: 48)")
    parser.add_argument("--quick", action="store_true", help="16 items")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if args.quick:
        args.items = 16
    if args.items < 2:
        parser.error(f"--items {args.items}: use 2 or more")

    from colornet.precision import cpu_name
    from colornet.predict import load_colorizer

    load_before = os.getloadavg()[0]
    print(
        f"step_threads: {args.items} items a step; {cpu_name()}; load average before {load_before:.2f}",
        flush=True,
    )
    colorizer = load_colorizer(args.model)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_folder(Path(tmp) / "in", pick_photos(None, 6), 8, (1152, 864))
        (Path(tmp) / "out").mkdir()
        for name, fn in steps(colorizer, paths, Path(tmp) / "out").items():
            one, two = per_item_ms(fn, args.items, 1), per_item_ms(fn, args.items, 2)
            rows[name] = (one, two)
    print("| step | ms an item, 1 thread | ms an item, 2 threads | 1 thread / 2 threads |")
    print("|---|---|---|---|")
    for name, (one, two) in rows.items():
        print(f"| {name} | {one:.2f} | {two:.2f} | {one / two:.2f} |")
    load_after = os.getloadavg()[0]
    print(f"load average after {load_after:.2f}")
    result = {
        "benchmark": "step_threads",
        "cpu": cpu_name(),
        "items": args.items,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(load_after, 2),
        **{f"ms_1_thread_{name}": round(one, 3) for name, (one, _) in rows.items()},
        **{f"ms_2_threads_{name}": round(two, 3) for name, (_, two) in rows.items()},
        **{f"ratio_{name}": round(one / two, 3) for name, (one, two) in rows.items()},
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
