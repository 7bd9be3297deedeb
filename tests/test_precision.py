"""Precision: the auto choice, mixed bfloat16/float16 training that matches float32, resuming across precisions."""

import json
import warnings

import keras
import numpy as np
import pytest

from colornet.errors import ColornetError
from colornet.models import build_model
from colornet.precision import (
    PrecisionError,
    bf16_units,
    bf16_wants_xla,
    choose_precision,
    cpu_name,
    matmul_speeds,
    precision_scope,
)

AMX = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
AVX512_BF16 = {"avx512f", "avx512_bf16"}
PLAIN = {"avx2", "fma"}


def test_auto_follows_the_hardware():
    assert choose_precision("auto", gpus=1, flags=PLAIN)[0] == "mixed_float16"
    assert choose_precision("auto", gpus=0, flags=AMX) == ("mixed_bfloat16", "CPU with AMX bfloat16 tiles")
    # AVX512-BF16 without AMX: the measured matmul decides (an Intel Xeon's and an AMD EPYC's figures)
    xeon = {"float32": 313.6, "bfloat16": 165.0, "bfloat16_xla": 268.7}
    epyc = {"float32": 201.2, "bfloat16": 389.5, "bfloat16_xla": 176.0}
    policy, reason = choose_precision("auto", gpus=0, flags=AVX512_BF16, speeds=xeon)
    assert policy == "float32" and "no AMX" in reason and "0.86x" in reason
    policy, reason = choose_precision("auto", gpus=0, flags=AVX512_BF16, speeds=epyc)
    assert policy == "mixed_bfloat16" and "1.9x" in reason
    assert bf16_wants_xla(xeon) and not bf16_wants_xla(epyc)
    measured = matmul_speeds(n=256, repeats=2)
    assert set(measured) == {"float32", "bfloat16", "bfloat16_xla"} and min(measured.values()) > 0
    assert choose_precision("auto", gpus=0, flags=PLAIN) == ("float32", "CPU without bfloat16 units")
    assert bf16_units(AMX) == ["amx_bf16", "avx512_bf16"] and bf16_units(PLAIN) == []
    assert "cores" in cpu_name()


def test_names_are_checked_and_forced_bf16_warns():
    assert choose_precision("float32", gpus=0, flags=PLAIN) == ("float32", "as asked")
    assert choose_precision("Mixed-BFloat16", gpus=0, flags=AMX)[0] == "mixed_bfloat16"
    with pytest.raises(PrecisionError, match="unknown precision 'half'; use one of auto, float32"):
        choose_precision("half")
    assert issubclass(PrecisionError, ColornetError)
    with pytest.warns(UserWarning, match="slower than float32"):
        assert choose_precision("mixed_bfloat16", gpus=0, flags=PLAIN)[0] == "mixed_bfloat16"
    with pytest.warns(UserWarning, match="AVX512-BF16 but no AMX is slower than float32 here"):
        choose_precision(
            "mixed_bfloat16",
            gpus=0,
            flags=AVX512_BF16,
            speeds={"float32": 2, "bfloat16": 1, "bfloat16_xla": 1},
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # where it measures faster, forcing it is no mistake
        choose_precision(
            "mixed_bfloat16",
            gpus=0,
            flags=AVX512_BF16,
            speeds={"float32": 1, "bfloat16": 2, "bfloat16_xla": 1},
        )
    with pytest.warns(UserWarning, match="without a GPU"):
        choose_precision("mixed_float16", gpus=0, flags=AMX)


def fit_tiny_beta(policy: str, steps: int = 6):
    """Train a tiny Beta `steps` steps on fixed batches under `policy`; the losses, step by step."""
    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32)
    ab = (0.3 * np.tanh(2 * l_norm) * np.ones((1, 1, 1, 2))).astype(np.float32)  # learnable from L
    keras.utils.set_random_seed(1)
    with precision_scope(policy):
        model = build_model("beta", width=0.25)
        model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    return model, [float(model.train_on_batch(l_norm, ab)) for _ in range(steps)]


@pytest.mark.slow
def test_bfloat16_training_reaches_the_float32_loss():
    _, f32 = fit_tiny_beta("float32")
    model, bf16 = fit_tiny_beta("mixed_bfloat16")
    assert np.all(np.isfinite(bf16))
    assert bf16[-1] < bf16[0]  # it learns
    np.testing.assert_allclose(bf16, f32, rtol=0.1)  # same batches, same start: close losses
    assert model.layers[1].compute_dtype == "bfloat16" and model.layers[1].kernel.dtype == "float32"


@pytest.mark.slow
def test_float16_uses_loss_scaling():
    model, f16 = fit_tiny_beta("mixed_float16", steps=3)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert np.all(np.isfinite(f16))


@pytest.mark.slow
def test_a_run_resumes_in_another_precision(photo_folder, tmp_path):
    from colornet.train import train
    from colornet.weights import load_model

    out = tmp_path / "run"
    common = dict(data=photo_folder, size=16, batch_size=4, out=str(out), model_options={"width": 0.125})
    common.update(verbose=0, samples=1, strategy="one")
    first = train("beta", epochs=1, precision="float32", **common)
    assert first.precision == "float32"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # bfloat16 forced on a CPU that may lack AMX
        second = train("beta", epochs=2, precision="mixed_bfloat16", **common)
    assert second.epochs_run == 1 and second.precision == "mixed_bfloat16"
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 2 and state["precision"] == "mixed_bfloat16"
    assert len(state["history"]["loss"]) == 2 and np.all(np.isfinite(state["history"]["loss"]))
    # The optimizer went on from where it stopped: Adam's step count is that of both epochs.
    assert int(second.model.optimizer.iterations.numpy()) == 2 * first.model.optimizer.iterations.numpy()
    model, config = load_model(out / "best.weights.h5")  # float32 weights, whatever the run's precision
    assert config["size"] == 16 and all(w.dtype == "float32" for w in model.weights)
