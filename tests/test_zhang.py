"""Zhang et al. 2016: the network, the bins codec, the rebalanced loss, and training with a prior."""

import json

import keras
import numpy as np
import pytest

from colornet import bins as B
from colornet import cli
from colornet.codecs import BinsCodec
from colornet.losses import soft_cross_entropy
from colornet.models import get_design
from colornet.models.zhang import build_zhang
from colornet.prior import load_prior, save_prior

TINY = {"width": 0.03125}


def lab_batch(b, h, w, seed=0):
    rng = np.random.default_rng(seed)
    L = rng.uniform(0, 100, (b, h, w, 1))
    ab = rng.uniform(-60, 60, (b, h, w, 2))
    return np.concatenate([L, ab], axis=-1).astype(np.float32)


def test_the_paper_layer_table():
    model = build_zhang()
    convs = [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
    ]
    filters = [layer.filters for layer in convs]
    assert filters == [64, 64, 128, 128, 256, 256, 256] + [512] * 12 + [256, 256, 256, B.N_BINS]
    dilated = {layer.name for layer in convs if layer.dilation_rate == (2, 2)}
    assert dilated == {f"zhang_conv{block}_{i}" for block in (5, 6) for i in (1, 2, 3)}
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 7
    assert model.get_layer("zhang_bins").kernel.shape == (1, 1, 256, B.N_BINS)
    out = build_zhang(**TINY)(np.zeros((2, 32, 48, 1), np.float32))
    assert out.shape == (2, 8, 12, B.N_BINS)  # logits at 1/4


def test_codec_targets_are_soft_at_a_quarter_with_weights_from_the_prior():
    lab = lab_batch(2, 16, 24)
    inputs, targets, weights = BinsCodec().encode(lab)
    assert (
        inputs.shape == (2, 16, 24, 1) and targets.shape == (2, 4, 6, B.N_BINS) and weights.shape == (2, 4, 6)
    )
    np.testing.assert_allclose(np.sum(targets, -1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(weights, 1.0)  # no prior: no rebalancing
    rng = np.random.default_rng(0)
    prior = rng.gamma(0.3, size=B.N_BINS)
    prior /= prior.sum()
    codec = BinsCodec().with_prior(prior)
    _, targets, weights = codec.encode(lab)
    expected = B.rebalancing_weights(prior)[np.argmax(targets, -1)]
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    # the mean of each 4x4 block's ab, decoded back from its soft target
    block_ab = lab[..., 1:].reshape(2, 4, 4, 6, 4, 2).mean(axis=(2, 4))
    assert np.abs(np.asarray(targets) @ B.ab_bins() - block_ab).max() < 5
    with pytest.raises(ValueError, match="the prior has 3 values"):
        BinsCodec(prior=(0.2, 0.3, 0.5))
    with pytest.raises(ValueError, match="temperature must be above 0"):
        BinsCodec(temperature=0)


def test_decoding_enlarges_the_annealed_mean_to_the_input_size():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (1, 4, 6, B.N_BINS)).astype(np.float32)
    for t in (1.0, 0.38):
        ab = np.asarray(BinsCodec(temperature=t).decode(logits, np.zeros((1, 16, 24, 1), np.float32)))
        assert ab.shape == (1, 16, 24, 2)
        small = np.asarray(B.annealed_mean(logits, temperature=t))[0]
        assert np.abs(ab[0].mean(axis=(0, 1)) - small.mean(axis=(0, 1))).max() < 2.0
    low, high = BinsCodec().ab_range()
    assert (low, high) == (-110.0, 100.0)


def test_the_loss_is_the_cross_entropy_weighted_per_pixel():
    keras.utils.set_random_seed(0)
    design = get_design("zhang")
    model = design.build(**TINY)
    model.compile(optimizer="adam", loss=soft_cross_entropy)
    rng = np.random.default_rng(2)
    prior = rng.gamma(0.3, size=B.N_BINS)
    prior /= prior.sum()
    inputs, targets, weights = BinsCodec().with_prior(prior).encode(lab_batch(2, 16, 16))
    loss = model.evaluate(inputs, targets, sample_weight=weights, verbose=0)
    log_p = np.asarray(keras.ops.log_softmax(model(inputs), axis=-1))
    per_pixel = -np.sum(np.asarray(targets) * log_p, axis=-1)
    assert loss == pytest.approx(float(np.mean(per_pixel * np.asarray(weights))), rel=1e-4)
    assert model.evaluate(inputs, targets, verbose=0) == pytest.approx(float(per_pixel.mean()), rel=1e-4)


def train_cli(data, out, *extra) -> int:
    argv = ["train", "zhang", "--data", str(data), "--width", "0.03125", "--size", "16", "--epochs", "1"]
    return cli.main(
        [
            *argv,
            "--batch-size",
            "4",
            "--verbose",
            "0",
            "--precision",
            "float32",
            "--out",
            str(out),
            *map(str, extra),
        ]
    )


def test_train_computes_the_prior_or_takes_one_and_keeps_it(photo_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli(photo_folder, out) == 0
    printed = capsys.readouterr().out
    assert "Computing the prior over the ab bins from" in printed
    prior = load_prior(out / "prior.npy")
    state = json.loads((out / "state.json").read_text())
    assert state["prior"].startswith("computed from the") and "val_loss" in state["history"]
    assert json.loads((out / "best.json").read_text())["prior"] == "prior.npy"
    # a given prior is used and kept; a resumed run refuses another one
    uniform = save_prior(tmp_path / "uniform.npy", np.full(B.N_BINS, 1 / B.N_BINS))
    assert train_cli(photo_folder, tmp_path / "given", "--prior", uniform) == 0
    np.testing.assert_allclose(load_prior(tmp_path / "given" / "prior.npy"), 1 / B.N_BINS)
    capsys.readouterr()
    assert train_cli(photo_folder, out, "--epochs", "2", "--prior", uniform) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not " + str(uniform) in err
    assert train_cli(photo_folder, out, "--epochs", "2") == 0  # resumes with its own prior
    np.testing.assert_allclose(load_prior(out / "prior.npy"), prior)


def test_bad_priors_and_losses_are_refused_in_one_line(photo_folder, tmp_path, capsys):
    np.save(tmp_path / "flat.npy", np.full(B.N_BINS, 1 / B.N_BINS))
    assert train_cli(photo_folder, tmp_path / "a", "--prior", tmp_path / "flat.npy") == 2
    assert train_cli(photo_folder, tmp_path / "b", "--loss", "mse") == 2
    argv = ["train", "beta", "--data", photo_folder, "--width", "0.125", "--size", "16", "--epochs", "1"]
    assert cli.main([*argv, "--prior", str(tmp_path / "flat.npy"), "--out", str(tmp_path / "c")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3
    assert "has shape (261,)" in errors[0]
    assert "--loss does not apply to zhang" in errors[1]
    assert "--prior applies to bin heads" in errors[2]
