"""Numeric precision of training and inference: float32, or Keras' mixed precision policies.

    policy, reason = choose_precision("auto")   # e.g. ("mixed_bfloat16", "CPU with AVX512-BF16")
    with precision_scope(policy):
        model = design.build()                  # layers compute in bfloat16, variables stay float32

`auto` picks mixed_float16 on a GPU (tensor cores), mixed_bfloat16 on a CPU with
AMX tiles (`amx_bf16`: about 4x the float32 speed of a training step there), and
float32 otherwise. A CPU with AVX512-BF16 but no AMX stays in float32: on such a
CPU (an Intel Xeon, 2 cores, no AMX exposed) `bench/train_step.py` measured
TensorFlow's bfloat16 matmul at half the float32 speed (XLA's at 0.86x) and the
Beta training step at 0.68x; there `--precision mixed_bfloat16` still works, with a
warning. Variables (the weights) are float32 under every policy, so
weights files and checkpoints move freely between precisions; each design keeps
its output layers in float32, and mixed_float16 trains with loss scaling
(Keras wraps the optimizer when the model's policy is mixed_float16).
"""

import contextlib
import os
import sys
import warnings

from colornet.errors import ColornetError

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs with bfloat16 units


class PrecisionError(ColornetError, ValueError):
    """An unknown precision name."""


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


def choose_precision(name: str = "auto", *, gpus: int | None = None, flags: set[str] | None = None):
    """A precision name -> `(policy, reason)`, the Keras dtype policy and why it was chosen.

    Args:
        name: `auto`, `float32`, `mixed_bfloat16` or `mixed_float16`.
        gpus: number of GPUs (default: what TensorFlow sees).
        flags: CPU flags (default: this machine's).

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
            return "float32", "CPU with AVX512-BF16 but no AMX: bfloat16 is slower than float32 there"
        return "float32", "CPU without bfloat16 units"
    if name == "mixed_bfloat16" and not gpus and "amx_bf16" not in units:
        what = "AVX512-BF16 but no AMX" if units else "no bfloat16 units (no AMX or AVX512-BF16 flag)"
        warnings.warn(
            f"mixed_bfloat16 on a CPU with {what} is slower than float32 (measure with "
            "bench/train_step.py); use --precision float32 or auto.",
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


# --- command line ------------------------------------------------------------------


def add_precision_argument(parser, default: str = "auto") -> None:
    """`--precision auto|float32|mixed_bfloat16|mixed_float16` (shared by train, colorize, evaluate)."""
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=default,
        help="numeric precision: auto picks mixed_float16 on a GPU, mixed_bfloat16 on a CPU with AMX, "
        f"else float32 (default: {default})",
    )


def resolve_precision_argument(name: str, command: str) -> str:
    """The dtype policy for `--precision NAME`, said in one line when it is not float32."""
    policy, reason = choose_precision(name)
    if name == "auto" or policy != "float32":
        print(f"colornet {command}: precision {policy} ({reason}).", file=sys.stderr)
    return policy
