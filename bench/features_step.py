"""Training speed of the default model (`features`): images per second of one training step with the
encoder frozen or fine-tuned, in float32 and mixed_bfloat16, with and without XLA, in one process.

    python bench/features_step.py                 # 160 px, batch 32: 8 cases, a few minutes on 2 cores
    python bench/features_step.py --quick         # 96 px, batch 8, frozen only

Prints each case's img/s and its ratio to the frozen float32 step without XLA (the baseline), and the CPU.
Random inputs and targets: the data pipeline is not timed (bench/pipeline.py times it).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def step_speed(policy: str, train_encoder: bool, xla: bool, size: int, batch: int, steps: int) -> float:
    import keras

    from colornet.bins import N_BINS
    from colornet.models.features import build_features
    from colornet.precision import precision_scope

    with precision_scope(policy):
        model = build_features(size, train_encoder=train_encoder)
        model.compile(
            optimizer=keras.optimizers.Adam(5e-4),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True),
            jit_compile=xla,
        )
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch, size, size, 1)).astype(np.float32)
    y = rng.dirichlet(np.ones(N_BINS), (batch, size // 4, size // 4)).astype(np.float32)
    for _ in range(2):
        model.train_on_batch(x, y)
    best = float("inf")
    for _ in range(steps):  # the fastest step: steadier on a machine doing other work too
        start = time.perf_counter()
        model.train_on_batch(x, y)
        best = min(best, time.perf_counter() - start)
    return batch / best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    size, batch = (96, 8) if args.quick else (args.size, args.batch_size)
    cases = [
        (policy, tuned, xla)
        for tuned in ((False,) if args.quick else (False, True))
        for policy in ("float32", "mixed_bfloat16")
        for xla in (False, True)
    ]
    print(f"{cpu_name()}, {os.cpu_count()} cores; features at {size} px, batch {batch}")
    results, base = [], None
    for policy, tuned, xla in cases:
        speed = step_speed(policy, tuned, xla, size, batch, args.steps)
        base = base or speed  # the first case: frozen, float32, no XLA
        results.append({"policy": policy, "encoder": "fine-tuned" if tuned else "frozen", "xla": xla,
                        "img_per_s": speed, "ratio": speed / base})  # fmt: skip
        print(f"  {results[-1]['encoder']:10} {policy:15} XLA {'on ' if xla else 'off'}  {speed:7.1f} img/s  "
              f"{speed / base:5.2f}x", flush=True)  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_name(), "size": size, "batch": batch, "cases": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
