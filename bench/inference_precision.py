"""Inference per precision on this machine: the network alone and the colors, against float32 in the same run.

For each model (default: `features`, the default model, and `beta`), at its working size (the size it
was trained at) and batch 8, in one process:
  - images per second of `Colorizer.predict` on ready canvases (the network alone: encoding the L
    canvases, the network, decoding ab; no reading, resizing or merging), in float32 and in its
    mixed_bfloat16 twin (`colornet.predict.precision_twin`: the same weights), and mixed_float16 on a
    GPU; the calls of each precision take turns and the fastest is kept, which keeps the ratios
    steadier on a machine that is doing other work;
  - the mean difference, in levels of 255, of `colornet.colorize`'s output in that precision from
    its float32 output, over scikit-image's bundled photos (astronaut, chelsea, coffee, rocket);
  - what `--precision auto` picks for the model (its own short measurement, as `colorize` makes it).
With `--compiled`, the Keras network is also timed inside one `tf.function` (graph mode, no XLA),
as a pipeline that compiles its network call would run it.

Top-level ratios: `ratio_<model>`, mixed_bfloat16 img/s over float32 img/s (target 2.0 on a CPU
with AMX), and `levels_<model>`, its mean color difference (at most 1 level).

    python bench/inference_precision.py                  # features and beta, 5 timed calls each
    python bench/inference_precision.py --quick          # 2 timed calls each
    python bench/inference_precision.py --models beta --batch-size 16 --calls 10 --compiled
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from colornet.images import as_photo  # noqa: E402
from colornet.infer import colorize  # noqa: E402
from colornet.inference_precision import COLOR_TOLERANCE, color_difference, time_interleaved  # noqa: E402
from colornet.precision import bf16_units, cpu_name  # noqa: E402
from colornet.predict import load_colorizer, precision_twin, prepare, with_auto_precision  # noqa: E402
from colornet.samples import SAMPLES  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")  # scikit-image's, bundled: no download
TARGET_SPEEDUP = 2.0  # mixed_bfloat16 / float32 img/s of the network, on a CPU with AMX


def ready_canvases(colorizer, batch: int) -> np.ndarray:
    """`batch` square canvases of the working size, L in [0, 100]: chelsea, fitted and padded."""
    size = colorizer.work_size()
    photo = as_photo(SAMPLES["chelsea"][0]())
    canvas = prepare(photo, size, colorizer.canvas_shape() or (size, size)).canvas
    return np.repeat(canvas[None], batch, axis=0)  # (batch, size, size, 1)


def compiled_call(colorizer):
    """The network called inside one `tf.function` on encoded inputs: `L -> outputs`."""
    codec = colorizer.codec
    run = tf.function(lambda x: colorizer.model(x, training=False), reduce_retracing=True)
    return lambda L: np.asarray(run(codec.encode_inputs(tf.constant(L), {})))


def measure_model(name: str, policies, batch: int, calls: int, compiled: bool) -> dict:
    float32 = load_colorizer(name)
    twins = {p: precision_twin(float32, p) for p in policies}
    L = ready_canvases(float32, batch)
    eager = time_interleaved({p: lambda c=c: c.predict(L) for p, c in twins.items()}, rounds=calls)
    graph = {}
    if compiled:
        runs = {p: compiled_call(c) for p, c in twins.items()}
        graph = time_interleaved({p: lambda r=r: r(L) for p, r in runs.items()}, rounds=calls)
    photos = [np.asarray(SAMPLES[p][0]())[..., :3] for p in PHOTOS]
    reference = [colorize(photo, float32) for photo in photos]
    levels = {
        p: float(
            np.mean([color_difference(colorize(photo, c), ref) for photo, ref in zip(photos, reference)])
        )
        for p, c in twins.items()
    }
    verdict = with_auto_precision(float32)
    return {
        "model": name,
        "work_size": float32.work_size(),
        "canvas": list(L.shape[1:3]),
        "batch": batch,
        "img_s": {p: round(batch / s, 2) for p, s in eager.items()},
        "img_s_compiled": {p: round(batch / s, 2) for p, s in graph.items()},
        "levels": {p: round(v, 3) for p, v in levels.items()},
        "auto": verdict.precision,
    }


def main(argv=None) -> dict:
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["features", "beta"], help="default: features beta")
    parser.add_argument("--batch-size", type=int, default=8, help="canvases per call (default 8)")
    parser.add_argument("--calls", type=int, default=5, help="timed calls per precision (default 5)")
    parser.add_argument("--compiled", action="store_true", help="also time the network in one tf.function")
    parser.add_argument("--quick", action="store_true", help="2 timed calls per precision")
    args = parser.parse_args(argv)
    calls = 2 if args.quick else args.calls
    policies = ["float32", "mixed_bfloat16"] + (["mixed_float16"] if on_gpu else [])
    load_before = os.getloadavg()[0]
    units = bf16_units()
    rows = [measure_model(m, policies, args.batch_size, calls, args.compiled) for m in args.models]

    ratios, targets = {}, {}
    for row in rows:
        speed = row["img_s"]
        ratios[f"ratio_{row['model']}"] = round(speed["mixed_bfloat16"] / speed["float32"], 3)
        if "amx_bf16" in units and not on_gpu:
            targets[f"ratio_{row['model']}"] = TARGET_SPEEDUP
        if row["img_s_compiled"]:
            compiled = row["img_s_compiled"]
            row["ratio_compiled"] = round(compiled["mixed_bfloat16"] / compiled["float32"], 3)
    result = {
        "benchmark": "inference_precision",
        "device": "GPU" if on_gpu else "CPU",
        "cpu": cpu_name(),
        "bf16_units": units,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "timed_calls": calls,
        "models": rows,
        **ratios,
        **{f"levels_{r['model']}": r["levels"]["mixed_bfloat16"] for r in rows},
        "color_tolerance_levels": COLOR_TOLERANCE,
        "targets": targets,
    }

    print(
        f"inference_precision: Colorizer.predict on ready canvases, batch {args.batch_size}, the fastest of "
        f"{calls} calls per precision (taking turns), load average {load_before:.1f} before"
    )
    print(f"{result['cpu']}; bfloat16 units: {', '.join(units) or 'none (bfloat16 is emulated)'}")
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {'GPU' if on_gpu else 'no GPU'}")
    header = f"{'model':10}{'size':>6}{'policy':>16}{'img/s':>9}{'x float32':>11}{'levels':>8}"
    print(header + (f"{'compiled img/s':>16}{'x float32':>11}" if args.compiled else ""))
    for row in rows:
        for p in policies:
            line = f"{row['model']:10}{row['work_size']:>6}{p:>16}{row['img_s'][p]:>9.1f}"
            line += f"{row['img_s'][p] / row['img_s']['float32']:>10.2f}x{row['levels'][p]:>8.2f}"
            if args.compiled:
                c = row["img_s_compiled"]
                line += f"{c[p]:>16.1f}{c[p] / c['float32']:>10.2f}x"
            print(line)
        print(f"{'':10}--precision auto picks {row['auto']}")
    print("levels: mean |RGB - float32's RGB| of colorize's output, levels of 255, over " + ", ".join(PHOTOS))
    for key, value in ratios.items():
        print(f"{key}: {value}" + (f" (target {targets[key]})" if key in targets else ""))
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
