"""Numeric precision of training and inference: float32, or Keras' mixed precision policies.

    policy, reason = choose_precision("auto")   # e.g. ("mixed_bfloat16", "CPU with AVX512-BF16")
    with precision_scope(policy):
        model = design.build()                  # layers compute in bfloat16, variables stay float32

`auto` picks mixed_float16 on a GPU (tensor cores), mixed_bfloat16 on a CPU with
AMX tiles (`amx_bf16`: about 4x the float32 speed of a training step there), and
float32 on a CPU without bfloat16 units. On a CPU with AVX512-BF16 but no AMX it
depends on the CPU, so `auto` measures (`matmul_speeds`, a fraction of a second):
`bench/train_step.py` found TensorFlow's bfloat16 matmul at half the float32 speed
on a 2-core Intel Xeon (XLA's at 0.86x; the Beta step at 0.68x), and at 1.9x on a
2-core AMD EPYC (the Beta step at 1.9x, without XLA). bfloat16 is picked where its
faster matmul (TensorFlow's or XLA's) beats float32's by `BF16_MARGIN`, and a
training step on a CPU uses XLA when XLA's bfloat16 matmul is the faster one
(`bf16_wants_xla`). Forcing mixed_bfloat16 where it is slower still works, with a
warning. Variables (the weights) are float32 under every policy, so
weights files and checkpoints move freely between precisions; each design keeps
its output layers in float32, and mixed_float16 trains with loss scaling
(Keras wraps the optimizer when the model's policy is mixed_float16).

This is training's `auto`. When colorizing (`colorize`, `evaluate`, `video`), `auto` is decided
per network, by timing its bfloat16 twin and comparing the colors of a fixed photo
(`colornet.inference_precision`): a training step's speed-up says little about a network's at
inference, which on a CPU depends on its layers.
"""

import contextlib
import functools
import os
import warnings

from colornet.errors import PrecisionError

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs with bfloat16 units
BF16_MARGIN = 1.2  # bfloat16 must measure this much faster than float32 for `auto` to pick it


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo cannot be read)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_name(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name, e.g. 'Intel(R) Xeon(R) Platinum 8480+', and its core count."""
    import platform

    name = platform.processor() or platform.machine()
    try:
        with open(cpuinfo) as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name} ({os.cpu_count()} cores)"


def bf16_units(flags: set[str] | None = None) -> list[str]:
    """The bfloat16 units this CPU has, by their flag names (`amx_bf16`, `avx512_bf16`)."""
    flags = cpu_flags() if flags is None else flags
    return [f for f in BF16_CPU_FLAGS if f in flags]


def gpu_count() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


@functools.cache
def matmul_speeds(n: int = 1024, repeats: int = 5) -> dict[str, float]:
    """This machine's dense n x n matmul speed in GFLOP/s, the best of `repeats`: `float32`,
    `bfloat16` (TensorFlow's kernel) and `bfloat16_xla`. A fact about the hardware, measured
    once per process (about 0.5 s on 2 cores)."""
    import time

    import tensorflow as tf

    def best(fn, a, b):
        fn(a, b).numpy()  # trace, compile, warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(a, b).numpy()
            times.append(time.perf_counter() - start)
        return 2 * n**3 / min(times) / 1e9

    with tf.device("/CPU:0"):
        x = tf.random.stateless_normal((n, n), seed=(1, 2))
        plain = tf.function(tf.linalg.matmul, jit_compile=False)
        xla = tf.function(tf.linalg.matmul, jit_compile=True)
        x16 = tf.cast(x, tf.bfloat16)
        return {
            "float32": best(plain, x, x),
            "bfloat16": best(plain, x16, x16),
            "bfloat16_xla": best(xla, x16, x16),
        }


def bf16_speedup(speeds: dict[str, float]) -> float:
    """The faster bfloat16 matmul (TensorFlow's or XLA's) over the float32 one."""
    return max(speeds["bfloat16"], speeds["bfloat16_xla"]) / speeds["float32"]


def bf16_wants_xla(speeds: dict[str, float] | None = None) -> bool:
    """Whether bfloat16 steps on this CPU run faster through XLA than through TensorFlow's kernels."""
    speeds = matmul_speeds() if speeds is None else speeds
    return speeds["bfloat16_xla"] > speeds["bfloat16"]


def choose_precision(
    name: str = "auto",
    *,
    gpus: int | None = None,
    flags: set[str] | None = None,
    speeds: dict[str, float] | None = None,
):
    """A precision name -> `(policy, reason)`, the Keras dtype policy and why it was chosen.

    Args:
        name: `auto`, `float32`, `mixed_bfloat16` or `mixed_float16`.
        gpus: number of GPUs (default: what TensorFlow sees).
        flags: CPU flags (default: this machine's).
        speeds: matmul GFLOP/s as `matmul_speeds` gives them (default: measured here, only on
            a CPU with AVX512-BF16 and no AMX, where they decide).

    Raises:
        PrecisionError: an unknown name.

    Warns:
        UserWarning: mixed_bfloat16 forced on a CPU without bfloat16 units (it runs,
            several times slower than float32), or mixed_float16 without a GPU.
    """
    name = str(name).strip().lower().replace("-", "_")
    if name not in PRECISIONS:
        raise PrecisionError(f"unknown precision {name!r}; use one of {', '.join(PRECISIONS)}.")
    gpus = gpu_count() if gpus is None else gpus
    units = bf16_units(flags)
    if name == "auto":
        if gpus:
            return "mixed_float16", f"{gpus} GPU(s)"
        if "amx_bf16" in units:
            return "mixed_bfloat16", "CPU with AMX bfloat16 tiles"
        if units:
            speedup = bf16_speedup(matmul_speeds() if speeds is None else speeds)
            if speedup >= BF16_MARGIN:
                return (
                    "mixed_bfloat16",
                    f"CPU with AVX512-BF16, no AMX: bfloat16 matmul measured {speedup:.1f}x float32",
                )
            return (
                "float32",
                f"CPU with AVX512-BF16 but no AMX: bfloat16 matmul measured {speedup:.2f}x float32",
            )
        return "float32", "CPU without bfloat16 units"
    if name == "mixed_bfloat16" and not gpus and "amx_bf16" not in units:
        if not units:
            what = "no bfloat16 units (no AMX or AVX512-BF16 flag) is slower than float32"
        else:
            speedup = bf16_speedup(matmul_speeds() if speeds is None else speeds)
            what = f"AVX512-BF16 but no AMX is slower than float32 here (matmul {speedup:.2f}x)"
            if speedup >= 1:
                what = ""
        if what:
            warnings.warn(
                f"mixed_bfloat16 on a CPU with {what} (measure with bench/train_step.py); "
                "use --precision float32 or auto.",
                UserWarning,
                stacklevel=2,
            )
    if name == "mixed_float16" and not gpus:
        warnings.warn(
            "mixed_float16 without a GPU is emulated on the CPU and slow; use --precision auto.",
            UserWarning,
            stacklevel=2,
        )
    return name, "as asked"


@contextlib.contextmanager
def precision_scope(policy: str):
    """Build models under the Keras dtype policy `policy`, then restore the previous one."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
