"""Model builders on tiny inputs: shapes, sizes, names, weight loading that refuses the wrong file."""

import numpy as np
import pytest

from colornet.errors import WeightsError
from colornet.models import build_model
from colornet.models.alpha import build_alpha
from colornet.models.beta import build_beta
from colornet.weights import load_weights, model_from_weights, save_config


@pytest.mark.parametrize("builder", [build_alpha, lambda: build_beta(width=0.125)])
@pytest.mark.parametrize("h, w", [(16, 16), (24, 40), (64, 8)])
def test_any_size_divisible_by_8(builder, h, w):
    model = builder()
    out = model(np.zeros((2, h, w, 1), np.float32))
    assert out.shape == (2, h, w, 2)
    assert np.abs(np.asarray(out)).max() <= 1  # tanh


def test_fixed_size_must_be_multiple_of_8():
    with pytest.raises(ValueError, match="multiple of 8"):
        build_beta(input_size=100)
    assert build_beta(input_size=32, width=0.125).input_shape == (None, 32, 32, 1)


def test_beta_defaults_to_the_articles_network():
    model = build_beta()
    filters = [layer.filters for layer in model.layers if hasattr(layer, "filters")]
    assert filters == [64, 64, 128, 128, 256, 256, 512, 256, 128, 64, 32, 2]
    assert [
        layer.strides[0] for layer in model.layers if hasattr(layer, "strides") and layer.strides[0] == 2
    ] == [2, 2, 2]
    assert all(layer.name.startswith("beta_") for layer in model.layers)


def test_width_and_batch_norm_options():
    half = build_beta(width=0.5)
    assert max(layer.filters for layer in half.layers if hasattr(layer, "filters")) == 256
    bn = build_beta(width=0.125, batch_norm=True)
    assert any(layer.name.endswith("_bn") for layer in bn.layers)


@pytest.mark.slow
def test_weights_round_trip_and_mismatch_is_refused(tmp_path):
    model = build_beta(width=0.125)
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(path)
    save_config(path, "beta", {"width": 0.125})
    loaded = model_from_weights(path)
    x = np.random.default_rng(0).random((1, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    for other in (build_beta(width=0.25), build_alpha(), build_beta(width=0.125, batch_norm=True)):
        with pytest.raises(WeightsError, match="tiny.weights.h5"):
            load_weights(other, path)


def test_missing_empty_and_lfs_weights(tmp_path):
    model = build_alpha()
    with pytest.raises(WeightsError, match="not found"):
        load_weights(model, tmp_path / "nope.weights.h5")
    (tmp_path / "empty.weights.h5").write_bytes(b"")
    with pytest.raises(WeightsError, match="empty"):
        load_weights(model, tmp_path / "empty.weights.h5")
    (tmp_path / "lfs.weights.h5").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    with pytest.raises(WeightsError, match="git lfs pull"):
        load_weights(model, tmp_path / "lfs.weights.h5")
    (tmp_path / "junk.weights.h5").write_bytes(b"\0" * 100)
    with pytest.raises(WeightsError, match="junk.weights.h5"):
        load_weights(model, tmp_path / "junk.weights.h5")


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'gamma'"):
        build_model("gamma")
