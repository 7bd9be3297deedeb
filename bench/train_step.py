"""Training efficiency: how close a Beta training step comes to this machine's matmul speed.

Measures, in one process:
  - images per second of `train_on_batch` on the Beta model (Adam, MSE, float32,
    compiled as `colornet train` compiles it) at 128 and 256 px;
  - the step's achieved GFLOP/s, from an analytic count of its convolutions:
    2 * k * k * c_in * c_out * H_out * W_out per Conv2D forward, times 3 for
    forward + backward (biases, activations, upsampling and Adam are left out);
  - dense float32 matmul GFLOP/s (`tf.linalg.matmul`, n x n, 2 n^3 FLOPs), the
    practical limit of this machine;
and prints their ratio. On a CPU a step that reaches 0.6 of the matmul speed is good.
Both are taken at their best (the fastest step, the fastest matmul window), which
makes the ratio steadier on a machine that is doing other work too.

    python bench/train_step.py            # about 3 minutes on 2 cores
    python bench/train_step.py --quick    # about 1 minute
    python bench/train_step.py --sizes 128 --steps 10 --batch-size 32
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from colornet.models import build_model  # noqa: E402

TARGET_RATIO = 0.6  # of the matmul speed, for a CPU


def conv_flops(model: keras.Model) -> int:
    """Forward multiply-add FLOPs of every Conv2D layer for one image (the model needs a fixed input size)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, h_out, w_out, _ = layer.output.shape
            total += 2 * kh * kw * cin * cout * h_out * w_out
    return int(total)


def device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU {details.get('device_name', gpus[0].name)}"
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU {name} ({os.cpu_count()} cores)"


def matmul_gflops(n: int, seconds: float = 2.0, windows: int = 4) -> float:
    """Dense float32 matmul speed, `n` x `n` times `n` x `n`: the best of `windows` windows
    that share about `seconds` (on a shared machine the best is the closest to its capacity)."""
    a = tf.random.normal([n, n], seed=1)
    b = tf.random.normal([n, n], seed=2)
    matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    for _ in range(2):  # warm up (first call traces, allocates)
        matmul(a, b).numpy()
    best = 0.0
    for _ in range(windows):
        reps, start = 0, time.perf_counter()
        while reps < 2 or time.perf_counter() - start < seconds / windows:
            c = matmul(a, b)
            reps += 1
        float(c[0, 0])  # wait for the device (GPU calls return before they finish)
        best = max(best, 2.0 * n**3 * reps / (time.perf_counter() - start) / 1e9)
    return best


def train_step_speed(size: int, batch_size: int, steps: int, warmup: int, width: float) -> dict:
    """Time `steps` Beta training steps at `size` px after `warmup` untimed ones."""
    keras.utils.set_random_seed(0)
    model = build_model("beta", input_size=size, width=width)
    model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="mse")  # as `colornet train`
    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-1, 1, (batch_size, size, size, 1)).astype(np.float32)
    ab_norm = rng.uniform(-0.5, 0.5, (batch_size, size, size, 2)).astype(np.float32)
    for _ in range(warmup):
        model.train_on_batch(l_norm, ab_norm)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(l_norm, ab_norm)  # returns the loss: waits for the step to finish
        times.append(time.perf_counter() - start)
    step = min(times)  # the fastest step, as the matmul's best window: both at their best
    gflop_per_image = 3 * conv_flops(model) / 1e9
    return {
        "size": size,
        "batch_size": batch_size,
        "steps": steps,
        "step_s": round(step, 4),
        "step_s_median": round(float(np.median(times)), 4),
        "img_s": round(batch_size / step, 2),
        "train_gflop_per_img": round(gflop_per_image, 3),
        "achieved_gflops": round(gflop_per_image * batch_size / step, 1),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="default: 128 256")
    parser.add_argument("--batch-size", type=int, default=16, help="default: 16, as `colornet train`")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per size (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--width", type=float, default=1.0, help="Beta width multiplier (default 1.0)")
    parser.add_argument("--matmul-size", type=int, help="n of the n x n matmul (default 2048, 8192 on a GPU)")
    parser.add_argument("--quick", action="store_true", help="batch 8, 2 timed steps, 1 warm-up step")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.steps, args.warmup = 8, 2, 1
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    n = args.matmul_size or (8192 if on_gpu else 2048)
    load_before = os.getloadavg()[0]

    peak = matmul_gflops(n)
    cases = [train_step_speed(s, args.batch_size, args.steps, args.warmup, args.width) for s in args.sizes]
    peak_after = matmul_gflops(n)  # measured again: the machine may be shared
    matmul = max(peak, peak_after)
    for case in cases:
        case["ratio"] = round(case["achieved_gflops"] / matmul, 3)

    result = {
        "benchmark": "train_step",
        "device": device_name(),
        "tensorflow": tf.__version__,
        "model": f"beta width {args.width}",
        "load_average_before": round(load_before, 2),
        "matmul_n": n,
        "matmul_gflops": round(matmul, 1),
        "matmul_gflops_before_after": [round(peak, 1), round(peak_after, 1)],
        "cases": cases,
        **{f"ratio_{c['size']}": c["ratio"] for c in cases},
        "targets": {f"ratio_{c['size']}": TARGET_RATIO for c in cases},
    }

    print(
        f"train_step: Beta (width {args.width}), Adam + MSE, float32, batch {args.batch_size}, "
        f"{result['device']}, load average {load_before:.1f} before"
    )
    print(
        f"matmul {n}x{n} float32: {peak:.1f} GFLOP/s before the steps, {peak_after:.1f} after (the larger is used)"
    )
    header = ("size", "GFLOP/img", "step s", "median s", "img/s", "GFLOP/s", "of matmul")
    print("".join(f"{h:>11}" for h in header))
    for c in cases:
        row = (c["size"], c["train_gflop_per_img"], c["step_s"], c["step_s_median"], c["img_s"])
        row += (c["achieved_gflops"], c["ratio"])
        print("".join(f"{v:>11}" for v in row))
    print("step s, img/s, GFLOP/s: the fastest timed step; median s: the median step")
    print(f"(target on a CPU: {TARGET_RATIO} of the matmul speed)")
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
