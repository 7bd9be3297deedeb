"""How a model over ab bins trades vivid for safe: PSNR over gray, colorfulness and the share of photos
above gray at each temperature and share of the rebalancing taken back, from one network pass per photo.

    python bench/decoding_sweep.py --model features --data ../corpus/val ../shared/data/bsds500-test \
        --limit 300 --temperatures 0.2 0.38 0.6 1 --undo 0 0.3 0.6 1

Each photo is center-cropped at `--size` as `colornet evaluate` does and colorized through the same path
(`colornet.predict.colorize_photos`); the network's logits are computed once per photo and decoded at
every setting, so a sweep of 16 settings costs about one evaluation. With `--semantic`, EfficientNet-Lite0's
top-1 on the photos of known ImageNet class and the Fréchet distance of its features to the real photos'
(`colornet.semantic`) are added (one Lite0 pass per setting). Colors are predicted at the model's own
working size (`Colorizer.work_size`: the one recorded for its weights, else its training size), or at
`--work-size`.
"""

import argparse
import os
import sys
from dataclasses import replace

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class CachedNetwork:
    """A network whose outputs are kept per input batch: decoding the same photos again at another
    temperature does not run it again."""

    def __init__(self, model):
        self.model, self.outputs = model, {}

    def __getattr__(self, name):  # inputs, name, ...: the network's own
        return getattr(self.model, name)

    def __call__(self, inputs, training=False):
        key = np.asarray(inputs).tobytes()
        if key not in self.outputs:
            self.outputs[key] = self.model(inputs, training=False)
        return self.outputs[key]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="features", help="a model over ab bins: name or weights path")
    parser.add_argument("--data", nargs="+", required=True, help="one or more folders, each scored apart")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--limit", type=int, default=300, help="photos per folder, spread over its files")
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.2, 0.38, 0.6, 1.0])
    parser.add_argument("--undo", nargs="+", type=float, default=[0.0, 0.3, 0.6, 1.0])
    parser.add_argument("--labels", help="ImageNet classes of the photos (colornet evaluate --labels)")
    parser.add_argument("--semantic", action="store_true", help="also Lite0's top-1 on photos of known class")
    parser.add_argument(
        "--work-size", type=int, help="colors predicted at this size (default: the model's own)"
    )
    args = parser.parse_args(argv)

    from colornet.evaluate import colorize_crops, load_crop, select_paths
    from colornet.metrics import colorfulness, psnr
    from colornet.predict import load_colorizer
    from colornet.semantic import TRUTH, Lite0Scores, labels_for

    base = load_colorizer(args.model)
    if not base.has_bins:
        parser.error(f"{args.model} predicts colors directly; the sweep is for models over ab bins.")
    base = replace(base, model=CachedNetwork(base.model))
    settings = [(t, s) for t in args.temperatures for s in args.undo]
    for folder in args.data:
        paths = select_paths(folder, args.limit)
        crops = np.stack([load_crop(p, args.size) for p in paths])
        gray = colorize_crops(None, crops)
        gray_psnr = np.array([psnr(g, c) for g, c in zip(gray, crops)])
        known = labels_for(paths, args.labels) if args.semantic else None
        scores = Lite0Scores([f"{t} {s}" for t, s in settings]) if args.semantic else None
        if scores is not None:
            for i in range(0, len(crops), 32):
                scores.add(TRUTH, crops[i : i + 32], known[i : i + 32])
        print(
            f"\n{folder}: {len(paths)} photos at {args.size} px; real colorfulness "
            f"{np.mean([colorfulness(c) for c in crops]):.1f}; {args.model} (colors at {base.work_size(args.work_size)} px)"
        )
        rows = []
        for t, s in settings:
            colorizer, _ = base.with_temperature(t, s)
            out = np.concatenate(
                [
                    colorize_crops(colorizer, crops[i : i + 16], work_size=args.work_size)
                    for i in range(0, len(crops), 16)
                ]
            )
            gain = np.array([psnr(o, c) for o, c in zip(out, crops)]) - gray_psnr
            rows.append((t, s, gain.mean(), np.mean([colorfulness(o) for o in out]), (gain > 0).mean()))
            if scores is not None:
                for i in range(0, len(out), 32):
                    scores.add(f"{t} {s}", out[i : i + 32], known[i : i + 32])
        report = scores.report() if scores is not None else {}
        semantic, frechet = report.get("semantic", {}), report.get("frechet", {})
        head = f"{'T':>5} {'undo':>5} {'PSNR-gray':>10} {'colorful':>9} {'>gray':>7}"
        if scores is not None:
            head += f" {'Frechet':>8}  top-1" + (
                f" (real {semantic[TRUTH]['top1']:.1%} of {semantic[TRUTH]['photos']})" if semantic else ""
            )
        print(head)
        for t, s, gain, cf, better in rows:
            line = f"{t:5.2f} {s:5.2f} {gain:+10.2f} {cf:9.1f} {better:7.1%}"
            if scores is not None:
                key = f"{t} {s}"
                line += f" {frechet.get(key, float('nan')):8.2f}"
                line += f"  {semantic[key]['top1']:.1%}" if semantic else "  (no known class)"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
