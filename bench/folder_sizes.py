"""Photos per second of a folder of JPEGs of many sizes colorized into JPEGs on their chroma grid, the
first time a process meets those sizes (the merge's compiled functions made as it goes), against the
same folder in RGB at full resolution in the same process.

    python bench/folder_sizes.py                 # 24 photos of 24 sizes
    python bench/folder_sizes.py --n 96          # more photos, more sizes

The folder: `--n` JPEGs (quality 92) of random sizes (800 to 1400 by 600 to 1000 pixels, even, a
third of them upright), resized from scikit-image's bundled photos (or `--data`). In one process,
with one loaded colorizer:
    warm-up  both paths on one 1152x864 photo, then the folder once in RGB (untimed): the network is
             traced for every canvas the folder makes, and the RGB path's compiled functions are made
    rgb      photos/s of `colorize_files` on the folder in RGB (`CHROMA_GRID` off), all compiled
    grid     photos/s on the chroma grid, the first time: the merge's functions compiled for each
             padded size the folder takes (`grid_sizes.padded_size`)
    again    photos/s on the grid a second time, nothing left to compile
`ratio`: grid (the first time) / rgb. `sizes`: the padded grid sizes the process handed out.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _report import report  # noqa: E402
from PIL import Image  # noqa: E402
from video_flicker import pick_photos  # noqa: E402


def write_folder(folder: Path, photos, n: int, seed: int = 0) -> list[tuple[int, int]]:
    """`n` JPEGs of random even sizes made from `photos` in turn; their sizes `(w, h)`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = []
    for i in range(n):
        w, h = 2 * int(rng.integers(400, 700)), 2 * int(rng.integers(300, 500))
        w, h = (h, w) if rng.random() < 1 / 3 else (w, h)
        Image.fromarray(photos[i % len(photos)][1]).resize((w, h), Image.BICUBIC).save(
            folder / f"photo_{i:04d}.jpg", quality=92
        )
        sizes.append((w, h))
    return sizes


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="a folder of color photos (default: scikit-image's bundled photos)")
    parser.add_argument(
        "--model", default="features", help="provided weights name or path (default: features)"
    )
    parser.add_argument("--n", type=int, default=24, help="photos in the folder (default: 24)")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n {args.n}: use 1 or more")

    import colornet.infer_files as infer_files
    from colornet import grid_sizes
    from colornet.precision import cpu_name
    from colornet.predict import load_colorizer

    colorizer = load_colorizer(args.model)
    options = {"model": colorizer, "image_format": "jpg", "overwrite": True}

    def run(folder: Path, out: Path, grid: bool) -> float:
        infer_files.CHROMA_GRID = grid
        began = time.perf_counter()
        summary = infer_files.colorize_files(str(folder), out, **options)
        if summary.failed:
            raise RuntimeError("; ".join(summary.failed))
        return len(summary.colorized) / (time.perf_counter() - began)

    with tempfile.TemporaryDirectory() as tmp:
        photos = pick_photos(args.data, 6)
        sizes = write_folder(Path(tmp) / "in", photos, args.n)
        warm = Path(tmp) / "warm"
        warm.mkdir()
        Image.fromarray(photos[0][1]).resize((1152, 864), Image.BICUBIC).save(warm / "w.jpg", quality=92)
        for grid in (True, False):
            run(warm, Path(tmp) / "warm_out", grid)
        run(Path(tmp) / "in", Path(tmp) / "rgb_warm", False)
        rgb = run(Path(tmp) / "in", Path(tmp) / "rgb", False)
        before = set(grid_sizes._SIZES)
        grid = run(Path(tmp) / "in", Path(tmp) / "grid", True)
        padded = sorted(set(grid_sizes._SIZES) - before)
        again = run(Path(tmp) / "in", Path(tmp) / "again", True)
    distinct = len(set(sizes))
    print(f"folder_sizes: model {args.model}, {args.n} JPEGs of {distinct} sizes into JPEGs; {cpu_name()}")
    print("| photos | sizes | rgb photos/s | grid, the first time | grid again | padded sizes made |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.n} | {distinct} | {rgb:.2f} | {grid:.2f} | {again:.2f} | {len(padded)} |")
    print(f"ratio: {grid / rgb:.2f} (grid the first time / rgb)")
    result = {
        "benchmark": "folder_sizes",
        "cpu": cpu_name(),
        "model": args.model,
        "photos": args.n,
        "sizes": distinct,
        "rgb_img_s": round(rgb, 3),
        "grid_img_s": round(grid, 3),
        "grid_again_img_s": round(again, 3),
        "padded_sizes": [list(s) for s in padded],
        "ratio": round(grid / rgb, 3),
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
