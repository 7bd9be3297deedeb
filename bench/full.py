"""Training images per second of the Full model: cached embeddings versus the article's per-batch ones.

Same photos, same model, same machine, one run:

    cached      each photo embedded once by Inception-ResNet-v2 (disk cache, warmed
                first and timed separately), then `fit` reads 4 KB per photo
    per-batch   Inception runs on every augmented batch inside the input pipeline
    article     the article's generator, which runs Inception twice per batch

    python bench/full.py --data ../shared/data/scenes/train --n 128

Inception runs with random weights unless `--weights imagenet` (or a path) is
given: the time does not depend on the weight values. Each mode trains one
untimed epoch (tracing, decoding the photos into the in-memory cache), then
`--epochs` timed ones.

The ratio depends on the crop size: Inception's cost per photo is fixed (13 GMACs
at 299 px) while a training step grows with the crop (about 7 GMACs at 128 px,
1.8 at 64 px), so the cache gains most on small crops. The output also gives the
ratio that the arithmetic alone predicts.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from colornet.embed import Embedder, embed_files, make_fusion_dataset  # noqa: E402
from colornet.images import find_images  # noqa: E402
from colornet.models.fusion import build_fusion  # noqa: E402


class TwicePerBatch:
    """The article's generator: `create_inception_embedding` is called twice per batch."""

    def __init__(self, embedder):
        self.embedder = embedder

    def build(self):
        return self.embedder.build()

    def __call__(self, l_norm):
        self.embedder(l_norm)
        return self.embedder(l_norm)


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock and CPU seconds (all threads of this process) of each epoch."""

    def on_train_begin(self, logs=None):
        self.seconds, self.cpu_seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.cpu_start = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        self.cpu_seconds.append(time.process_time() - self.cpu_start)


def conv_macs(model) -> int:
    """Multiply-adds of one forward pass of one image through the convolutions and dense layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, _ = layer.output.shape
            total += h * w * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def time_training(ds, n_photos, epochs, seed):
    """(images per second, images per CPU-second) over `epochs` epochs after one untimed epoch."""
    keras.utils.set_random_seed(seed)
    model = build_fusion()
    model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="mse")
    timer = EpochTimer()
    model.fit(ds, epochs=1 + epochs, verbose=0, callbacks=[timer], shuffle=False)
    images = n_photos * epochs
    return images / sum(timer.seconds[1:]), images / sum(timer.cpu_seconds[1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/scenes/train", help="folder of photos")
    parser.add_argument("--n", type=int, default=128, help="number of photos (default: %(default)s)")
    parser.add_argument("--size", type=int, default=128, help="training crop size (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per mode (default: %(default)s)")
    parser.add_argument(
        "--weights", default="none", help="Inception weights: none (random), imagenet or a path"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="32 photos, one timed epoch")
    args = parser.parse_args(argv)
    n, epochs = (32, 1) if args.quick else (args.n, args.epochs)
    paths = find_images(args.data)
    if not paths:
        sys.exit(f"{args.data}: no photos; pass --data DIR.")
    paths = [paths[i] for i in np.random.default_rng(args.seed).permutation(len(paths))[:n]]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random weights: said below, in the output
        embedder = Embedder(args.weights, batch_size=args.batch_size)
    embedder(np.zeros((1, args.size, args.size, 1), np.float32))  # build and trace, for both modes
    common = dict(size=args.size, batch_size=args.batch_size, training=True, augment=True, seed=args.seed)

    with tempfile.TemporaryDirectory() as cache_dir:
        start, cpu_start = time.perf_counter(), time.process_time()
        embed_files(paths, embedder, args.size, cache_dir=cache_dir, verbose=False)
        warmup_s, warmup_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
        calls = embedder.calls
        ds = make_fusion_dataset(paths, embedder=embedder, cache_dir=cache_dir, verbose=False, **common)
        rates = {"cached": time_training(ds, len(paths), epochs, args.seed)}
        assert embedder.calls == calls, "the cached mode must not run Inception while training"

    ds = make_fusion_dataset(paths, embedder=embedder, mode="per-batch", **common)
    rates["per_batch"] = time_training(ds, len(paths), epochs, args.seed)
    ds = make_fusion_dataset(paths, embedder=TwicePerBatch(embedder), mode="per-batch", **common)
    rates["article_twice"] = time_training(ds, len(paths), epochs, args.seed)

    (cached, cached_cpu), (once, once_cpu), (twice, twice_cpu) = rates.values()
    # What the arithmetic alone predicts: a training step costs about 3 forward passes.
    train_macs = 3 * conv_macs(build_fusion(input_size=args.size))
    inception_macs = conv_macs(embedder.model)
    result = {
        "benchmark": "full",
        "photos": len(paths),
        "size": args.size,
        "batch_size": args.batch_size,
        "timed_epochs": epochs,
        "inception_input": embedder.input_size,
        "inception_weights": embedder.weights_name,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cache_warmup_s": round(warmup_s, 1),
        "cache_warmup_cpu_s": round(warmup_cpu_s, 1),
        **{f"{mode}_img_s": round(wall, 2) for mode, (wall, _) in rates.items()},
        **{f"{mode}_img_per_cpu_s": round(cpu, 2) for mode, (_, cpu) in rates.items()},
        "ratio": round(cached / once, 2),
        "ratio_article": round(cached / twice, 2),
        "ratio_cpu": round(cached_cpu / once_cpu, 2),
        "ratio_article_cpu": round(cached_cpu / twice_cpu, 2),
        "gmacs_per_photo": {
            "training_step": round(train_macs / 1e9, 2),
            "inception": round(inception_macs / 1e9, 2),
        },
        "ratio_flops_estimate": round((train_macs + inception_macs) / train_macs, 2),
        "ratio_article_flops_estimate": round((train_macs + 2 * inception_macs) / train_macs, 2),
        "targets": {"ratio_article": 5.0},
    }
    print(
        f"full: {len(paths)} photos from {args.data}, {args.size}x{args.size}, batch {args.batch_size}, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
        f"{epochs} timed epoch(s) per mode after one untimed"
    )
    if embedder.weights is None:
        print(
            "Inception-ResNet-v2 has random weights here (no download): the time does not depend on their values."
        )
    print(
        f"cache warm-up, once: {len(paths)} photos embedded in {warmup_s:.1f} s "
        f"({len(paths) / warmup_s:.1f} img/s, {warmup_cpu_s:.1f} CPU-s)"
    )
    print(f"{'training':38}{'img/s':>9}{'cached is':>11}{'img/CPU-s':>11}{'cached is':>11}")
    print(f"{'cached embeddings':38}{cached:9.2f}{'':>11}{cached_cpu:11.2f}")
    print(
        f"{'per-batch embedding (once per batch)':38}{once:9.2f}{cached / once:10.2f}x{once_cpu:11.2f}{cached_cpu / once_cpu:10.2f}x"
    )
    print(
        f"{'article (twice per batch)':38}{twice:9.2f}{cached / twice:10.2f}x{twice_cpu:11.2f}{cached_cpu / twice_cpu:10.2f}x"
    )
    print(
        f"ratio cached / article: {cached / twice:.2f}x (target 5x), "
        f"cached / once per batch: {cached / once:.2f}x (wall clock)"
    )
    print(
        f"arithmetic per photo: training step {train_macs / 1e9:.1f} GMACs, Inception {inception_macs / 1e9:.1f} GMACs: "
        f"expected ratios {result['ratio_flops_estimate']:.2f}x (once) and {result['ratio_article_flops_estimate']:.2f}x (article)"
    )
    print("BENCH_JSON " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
