"""Training efficiency: how close a Beta training step comes to this machine's matmul speed, per precision.

Measures, in one process:
  - dense matmul GFLOP/s (`tf.linalg.matmul`, n x n, 2 n^3 FLOPs) in float32 and
    bfloat16, and float16 when a GPU is present, each through TensorFlow's own kernel
    and through XLA, before and after the training steps: the largest of the four is
    the practical limit of this machine for that precision (on a CPU without AMX,
    TensorFlow's bfloat16 kernel can be much slower than XLA's, so both are taken);
  - images per second of `train_on_batch` on the Beta model (Adam(5e-4), MSE) at
    128 and 256 px under each Keras precision policy (float32, mixed_bfloat16, and
    mixed_float16 on a GPU; each model built inside `colornet.precision.precision_scope`),
    each compiled once without XLA (`jit_compile=False`, what `colornet train` gets
    on a CPU) and once with it (`jit_compile=True`);
  - each step's achieved GFLOP/s, from an analytic count of its convolutions:
    2 * k * k * c_in * c_out * H_out * W_out per Conv2D forward, times 3 for
    forward + backward (biases, activations, upsampling and Adam are left out),
    and its ratio to the matmul speed of its own precision (a float32 step to the
    float32 matmul, a mixed_bfloat16 step to the bfloat16 matmul, ...).
It also prints the CPU, the bfloat16 units its flags show (amx_bf16, avx512_bf16;
without either, bfloat16 is emulated) and what `--precision auto` picks here.

Top-level ratios: `ratio_128`, `ratio_256` (best float32 step / float32 matmul,
target 0.6 on a CPU), `ratio_bf16_vs_f32_128` (best mixed_bfloat16 img/s / best
float32 img/s at 128 px, target 3.0) and `ratio_bf16_peak_128` (best
mixed_bfloat16 step / bfloat16 matmul, target 0.5); "best" is over the XLA settings.
Steps and matmuls are taken at their best (the fastest step, the fastest matmul
window), which makes the ratios steadier on a machine that is doing other work too.

    python bench/train_step.py            # 8 cases, about 5 minutes on 2 cores
    python bench/train_step.py --quick    # 4 cases at 128 px, batch 8: about 1 minute
    python bench/train_step.py --sizes 128 --policies mixed_bfloat16 --jit off --steps 10
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

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from colornet.models import build_model  # noqa: E402
from colornet.precision import bf16_units, choose_precision, cpu_name, precision_scope  # noqa: E402

POLICY_DTYPE = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
JIT = {"off": [False], "on": [True], "both": [False, True]}
TARGET_RATIO = 0.6  # ratio_<size>: float32 step / float32 matmul, on a CPU
TARGETS = {
    "ratio_bf16_vs_f32_128": 3.0,  # mixed_bfloat16 img/s / float32 img/s
    "ratio_bf16_peak_128": 0.5,  # mixed_bfloat16 step / bfloat16 matmul
}


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
    return f"CPU {cpu_name()}"


def matmul_gflops(
    n: int, dtype: str = "float32", jit: bool = False, seconds: float = 2.0, windows: int = 4
) -> float:
    """Dense matmul speed in `dtype`, `n` x `n` times `n` x `n`, through TensorFlow's kernel or
    XLA (`jit`): the best of `windows` windows that share about `seconds` (on a shared machine
    the best is the closest to its capacity)."""
    a = tf.cast(tf.random.normal([n, n], seed=1), dtype)
    b = tf.cast(tf.random.normal([n, n], seed=2), dtype)
    matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y), jit_compile=jit)
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


def train_step_speed(
    size: int, batch_size: int, steps: int, warmup: int, width: float, policy: str, jit: bool
) -> dict:
    """Time `steps` Beta training steps at `size` px under the dtype policy `policy`,
    compiled with or without XLA, after `warmup` untimed ones."""
    keras.backend.clear_session()  # outside the scope: it also resets the global dtype policy
    keras.utils.set_random_seed(0)
    with precision_scope(policy):
        model = build_model("beta", input_size=size, width=width)
        # As `colornet train` (which leaves jit_compile to Keras: off on a CPU, on on a GPU);
        # Keras adds loss scaling to the optimizer of a mixed_float16 model.
        model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="mse", jit_compile=jit)
    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-1, 1, (batch_size, size, size, 1)).astype(np.float32)
    ab_norm = rng.uniform(-0.5, 0.5, (batch_size, size, size, 2)).astype(np.float32)
    start = time.perf_counter()
    for _ in range(warmup):
        model.train_on_batch(l_norm, ab_norm)
    warmup_s = time.perf_counter() - start
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(l_norm, ab_norm)  # returns the loss: waits for the step to finish
        times.append(time.perf_counter() - start)
    step = min(times)  # the fastest step, as the matmul's best window: both at their best
    gflop_per_image = 3 * conv_flops(model) / 1e9
    return {
        "size": size,
        "policy": policy,
        "jit_compile": jit,
        "compute_dtype": model.dtype_policy.compute_dtype,
        "batch_size": batch_size,
        "steps": steps,
        "warmup_s": round(warmup_s, 2),
        "step_s": round(step, 4),
        "step_s_median": round(float(np.median(times)), 4),
        "img_s": round(batch_size / step, 2),
        "train_gflop_per_img": round(gflop_per_image, 3),
        "achieved_gflops": round(gflop_per_image * batch_size / step, 1),
    }


def best_case(cases: list[dict], policy: str, size: int) -> dict | None:
    """The fastest case (over the XLA settings) of `policy` at `size` px, or None."""
    found = [c for c in cases if c["policy"] == policy and c["size"] == size and "img_s" in c]
    return max(found, key=lambda c: c["img_s"], default=None)


def main(argv=None) -> dict:
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    default_policies = ["float32", "mixed_bfloat16"] + (["mixed_float16"] if on_gpu else [])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="default: 128 256")
    parser.add_argument("--batch-size", type=int, default=16, help="default: 16, as `colornet train`")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per case (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--width", type=float, default=1.0, help="Beta width multiplier (default 1.0)")
    parser.add_argument("--matmul-size", type=int, help="n of the n x n matmul (default 2048, 8192 on a GPU)")
    parser.add_argument(
        "--policies",
        nargs="+",
        choices=list(POLICY_DTYPE),
        default=default_policies,
        help=f"Keras dtype policies (default: {' '.join(default_policies)})",
    )
    parser.add_argument(
        "--jit", choices=list(JIT), default="both", help="XLA: jit_compile off, on, or both (default)"
    )
    parser.add_argument("--quick", action="store_true", help="128 px only, batch 8, 2 timed steps, 1 warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.batch_size, args.steps, args.warmup = [128], 8, 2, 1
    n = args.matmul_size or (8192 if on_gpu else 2048)
    policies = list(dict.fromkeys(args.policies))
    dtypes = list(dict.fromkeys(POLICY_DTYPE[p] for p in ["float32", *policies]))
    load_before = os.getloadavg()[0]
    units = bf16_units()
    auto_policy, auto_reason = choose_precision("auto")

    before = {d: [matmul_gflops(n, d, jit) for jit in (False, True)] for d in dtypes}  # [plain, XLA]
    cases = []
    for size in args.sizes:
        for policy in policies:
            for jit in JIT[args.jit]:
                try:
                    case = train_step_speed(
                        size, args.batch_size, args.steps, args.warmup, args.width, policy, jit
                    )
                except Exception as err:  # one failing case (say XLA with a dtype) leaves the others
                    case = {
                        "size": size,
                        "policy": policy,
                        "jit_compile": jit,
                        "error": f"{type(err).__name__}: {err}",
                    }
                cases.append(case)
    after = {
        d: [matmul_gflops(n, d, jit) for jit in (False, True)] for d in dtypes
    }  # the machine may be shared
    peak = {d: max(*before[d], *after[d]) for d in dtypes}
    for case in cases:
        dtype = POLICY_DTYPE[case["policy"]]
        case["matmul_dtype"] = dtype
        if "achieved_gflops" in case:
            case["ratio"] = round(case["achieved_gflops"] / peak[dtype], 3)

    ratios, targets = {}, {}
    for size in args.sizes:
        f32 = best_case(cases, "float32", size)
        if f32:
            ratios[f"ratio_{size}"] = f32["ratio"]
            targets[f"ratio_{size}"] = TARGET_RATIO
    f32, bf16 = best_case(cases, "float32", 128), best_case(cases, "mixed_bfloat16", 128)
    if f32 and bf16:
        ratios["ratio_bf16_vs_f32_128"] = round(bf16["img_s"] / f32["img_s"], 3)
    if bf16:
        ratios["ratio_bf16_peak_128"] = bf16["ratio"]
    targets.update({k: v for k, v in TARGETS.items() if k in ratios})
    best = {
        p: {
            str(s): {"img_s": c["img_s"], "jit_compile": c["jit_compile"]}
            for s in args.sizes
            if (c := best_case(cases, p, s))
        }
        for p in policies
    }

    result = {
        "benchmark": "train_step",
        "device": device_name(),
        "cpu": cpu_name(),
        "bf16_units": units,
        "auto_precision": {"policy": auto_policy, "reason": auto_reason},
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "model": f"beta width {args.width}",
        "load_average_before": round(load_before, 2),
        "matmul_n": n,
        "matmul_gflops": {d: round(v, 1) for d, v in peak.items()},
        "matmul_gflops_plain_before_after": {
            d: [round(before[d][0], 1), round(after[d][0], 1)] for d in dtypes
        },
        "matmul_gflops_xla_before_after": {
            d: [round(before[d][1], 1), round(after[d][1], 1)] for d in dtypes
        },
        "cases": cases,
        "best_img_s": best,
        **ratios,
        "targets": targets,
    }

    print(
        f"train_step: Beta (width {args.width}), Adam + MSE, batch {args.batch_size}, "
        f"{args.steps} timed steps after {args.warmup} warm-up, load average {load_before:.1f} before"
    )
    print(f"device: {result['device']}; TensorFlow {tf.__version__}, Keras {keras.__version__}")
    if on_gpu:
        print(f"host CPU: {result['cpu']}")
    if units:
        print(f"CPU bfloat16 units (flags): {', '.join(units)}")
    else:
        print(
            "CPU bfloat16 units (flags): NONE (no amx_bf16 or avx512_bf16 flag): "
            + ("on the CPU " if on_gpu else "")
            + "bfloat16 is emulated, the bfloat16 figures are not this CPU's bfloat16 speed"
        )
    print(f"--precision auto picks {auto_policy}: {auto_reason}")
    print(f"matmul {n}x{n}, GFLOP/s  before the steps (plain, XLA)  after (plain, XLA)    peak used")
    for d in dtypes:
        print(
            f"{d:>25}  {before[d][0]:13.1f} {before[d][1]:6.1f}  {after[d][0]:13.1f} {after[d][1]:6.1f}"
            f"  {peak[d]:11.1f}"
        )
    header = ("size", "policy", "XLA", "GFLOP/img", "warm-up s", "step s", "median s", "img/s", "GFLOP/s")
    header += ("matmul", "of matmul")
    widths = (5, 15, 4, 10, 10, 8, 9, 8, 9, 18, 10)
    print("".join(f"{h:>{w}}" for h, w in zip(header, widths)))
    for c in cases:
        row = (c["size"], c["policy"], "on" if c["jit_compile"] else "off")
        if "error" in c:
            print("".join(f"{v:>{w}}" for v, w in zip(row, widths)) + f"   failed: {c['error'][:200]}")
            continue
        row += (c["train_gflop_per_img"], c["warmup_s"], c["step_s"], c["step_s_median"], c["img_s"])
        row += (c["achieved_gflops"], f"{c['matmul_dtype']} {peak[c['matmul_dtype']]:.1f}", c["ratio"])
        print("".join(f"{v:>{w}}" for v, w in zip(row, widths)))
    print("step s, img/s, GFLOP/s: the fastest timed step; median s: the median step; warm-up s: all warm-up")
    print(
        "steps (the first traces and compiles); of matmul: GFLOP/s / matmul GFLOP/s of the step's precision"
    )
    for key, value in ratios.items():
        print(f"{key}: {value} (target {targets[key]})")
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
