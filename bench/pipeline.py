"""Images per second of the tf.data pipeline versus the article's approach, same files, one run.

The article's approach (ported faithfully to Keras 3 era tools): every photo
loaded into one numpy array, then a Python generator that for each batch applies
`ImageDataGenerator`-style augmentation (one scipy affine warp per image:
rotation 20, zoom 0.2, shear 0.2, horizontal flip) and `skimage.color.rgb2lab`.

    python bench/pipeline.py --data ../shared/data/scenes/train --n 512

"First epoch" includes reading and decoding the files (and, for the article,
building its array); "cached" is a later epoch, decoded photos in memory.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PIL import Image  # noqa: E402
from scipy import ndimage  # noqa: E402
from skimage.color import rgb2lab  # noqa: E402

from colornet.data import make_dataset  # noqa: E402
from colornet.images import find_images  # noqa: E402


# --- the article's approach ---------------------------------------------------
def article_load(paths, size):
    """`Xtrain = 1.0/255 * np.array([img_to_array(load_img(p, target_size)) ...])`."""
    images = [np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.NEAREST)) for p in paths]
    return np.array(images, dtype=np.float32) / 255.0


def article_random_transform(x, rng, rotation=20, zoom=0.2, shear=0.2):
    """Keras 2's `ImageDataGenerator.random_transform` + `apply_affine_transform` for one image."""
    theta = np.deg2rad(rng.uniform(-rotation, rotation))
    shear_angle = np.deg2rad(rng.uniform(-shear, shear) * 180 / np.pi)
    zx, zy = rng.uniform(1 - zoom, 1 + zoom, 2)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    shr = np.array([[1, -np.sin(shear_angle), 0], [0, np.cos(shear_angle), 0], [0, 0, 1]])
    zm = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    m = rot @ shr @ zm
    h, w = x.shape[:2]
    o_x, o_y = h / 2 + 0.5, w / 2 + 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    m = offset @ m @ reset
    channels = [
        ndimage.affine_transform(x[..., c], m[:2, :2], m[:2, 2], order=1, mode="nearest")
        for c in range(x.shape[-1])
    ]
    x = np.stack(channels, axis=-1)
    if rng.random() < 0.5:
        x = x[:, ::-1]
    return x


def article_generator(xtrain, batch_size, rng):
    """`for batch in datagen.flow(Xtrain, batch_size): lab = rgb2lab(batch); yield L, ab / 128`."""
    order = rng.permutation(len(xtrain))
    for start in range(0, len(order), batch_size):
        batch = np.stack(
            [article_random_transform(xtrain[i], rng) for i in order[start : start + batch_size]]
        )
        lab_batch = rgb2lab(batch)
        x_batch = lab_batch[..., 0]
        y_batch = lab_batch[..., 1:] / 128
        yield x_batch.reshape(x_batch.shape + (1,)), y_batch


def time_article(paths, size, batch_size, seed):
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    xtrain = article_load(paths, size)
    n = sum(len(x) for x, _ in article_generator(xtrain, batch_size, rng))
    first = time.perf_counter() - start
    start = time.perf_counter()
    n2 = sum(len(x) for x, _ in article_generator(xtrain, batch_size, rng))
    cached = time.perf_counter() - start
    return n / first, n2 / cached


def time_colornet(paths, size, batch_size, seed, epochs=4):
    start = time.perf_counter()
    ds = make_dataset(paths, size=size, batch_size=batch_size, seed=seed)
    rates = []
    for _ in range(epochs):
        n = 0
        for l, _ab in ds:
            n += int(l.shape[0])
        rates.append(n / (time.perf_counter() - start))
        start = time.perf_counter()
    return rates[0], max(rates[1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/scenes/train", help="folder of photos")
    parser.add_argument("--n", type=int, default=512, help="number of photos (default: %(default)s)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=3, help="median of this many runs (default: %(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="128 photos, one run")
    args = parser.parse_args(argv)
    n = 128 if args.quick else args.n
    if args.quick:
        args.repeats = 1
    paths = find_images(args.data)
    if not paths:
        sys.exit(f"{args.data}: no photos; pass --data DIR.")
    paths = [paths[i] for i in np.random.default_rng(args.seed).permutation(len(paths))[:n]]

    # Read every file once, so that both approaches find them in the OS file cache
    # (otherwise whichever runs first pays for the disk), and warm up TensorFlow
    # (kernels, thread pools) on other photos, so that the first epoch measures
    # the pipeline rather than the process start.
    for path in paths:
        Path(path).read_bytes()
    others = [p for p in find_images(args.data) if p not in set(paths)][: args.batch_size]
    for _ in make_dataset(others, size=args.size, batch_size=args.batch_size):
        pass
    runs = []
    for _ in range(args.repeats):  # this machine's speed varies from run to run: report medians
        runs.append(
            time_colornet(paths, args.size, args.batch_size, args.seed)
            + time_article(paths, args.size, args.batch_size, args.seed)
        )
    ours_first, ours_cached, art_first, art_cached = (float(np.median(col)) for col in zip(*runs))
    result = {
        "benchmark": "pipeline",
        "photos": len(paths),
        "size": args.size,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "runs_img_s": [
            [round(x, 1) for x in run] for run in runs
        ],  # colornet first, cached; article first, cached
        "colornet_first_epoch_img_s": round(ours_first, 1),
        "colornet_cached_img_s": round(ours_cached, 1),
        "article_first_epoch_img_s": round(art_first, 1),
        "article_cached_img_s": round(art_cached, 1),
        "ratio_first_epoch": round(ours_first / art_first, 2),
        "ratio_cached": round(ours_cached / art_cached, 2),
        "targets": {"ratio_first_epoch": 3.0, "ratio_cached": 10.0},
    }
    print(
        f"pipeline: {len(paths)} photos from {args.data}, {args.size}x{args.size}, batch {args.batch_size}, {os.cpu_count()} CPUs"
    )
    print(f"median of {args.repeats} run(s), images per second")
    print(f"{'':24}{'first epoch':>14}{'cached':>14}")
    print(f"{'colornet tf.data (img/s)':24}{ours_first:14.1f}{ours_cached:14.1f}")
    print(f"{'article numpy (img/s)':24}{art_first:14.1f}{art_cached:14.1f}")
    print(f"{'ratio (target 3x, 10x)':24}{ours_first / art_first:13.2f}x{ours_cached / art_cached:13.2f}x")
    print("BENCH_JSON " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
