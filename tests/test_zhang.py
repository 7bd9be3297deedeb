"""Zhang et al. 2016: the network, the bins codec, the rebalanced loss, and training with a prior."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from colornet import bins as B
from colornet import cli
from colornet.codecs import BinsCodec
from colornet.errors import ColornetError
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


@pytest.mark.slow
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


# --- the temperature, everywhere ------------------------------------------------------


def save_tiny_zhang(path, seed: int = 0, prior=None) -> str:
    """Weights of a tiny zhang whose last layer is scaled up, so that its distributions are
    far from flat and the temperature shows; its .json beside them, naming `prior` (saved
    beside them too) when one is given."""
    from colornet.weights import save_config

    keras.utils.set_random_seed(seed)
    model = build_zhang(**TINY)
    layer = model.get_layer("zhang_bins")
    rng = np.random.default_rng(seed)
    layer.kernel.assign(rng.normal(0, 2.0, layer.kernel.shape).astype(np.float32))
    layer.bias.assign(rng.normal(0, 2.0, layer.bias.shape).astype(np.float32))
    model.save_weights(str(path))
    extra = {}
    if prior is not None:
        save_prior(Path(path).parent / "prior.npy", prior)
        extra["prior"] = "prior.npy"
    save_config(str(path), "zhang", TINY, size=32, **extra)
    return str(path)


def colorful_photo(path, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path)
    return str(path)


@pytest.mark.slow
def test_temperature_in_the_api_changes_vividness(tmp_path):
    import colornet
    from colornet.color import to_uint8
    from colornet.metrics import colorfulness

    weights = save_tiny_zhang(tmp_path / "z.weights.h5")
    photo = colorful_photo(tmp_path / "p.png")
    vivid = {
        t: colorfulness(to_uint8(colornet.colorize(photo, model=weights, temperature=t))) for t in (1.0, 0.2)
    }
    default = colornet.colorize(photo, model=weights)
    np.testing.assert_array_equal(default, colornet.colorize(photo, model=weights, temperature=0.38))
    assert vivid[0.2] > vivid[1.0]
    with pytest.raises(ColornetError, match="temperature must be above 0"):
        colornet.colorize(photo, model=weights, temperature=-1)


def test_temperature_on_the_command_line_is_recorded_refused_or_ignored(tmp_path, capsys):
    from conftest import save_tiny_beta

    weights = save_tiny_zhang(tmp_path / "z.weights.h5")
    photo = colorful_photo(tmp_path / "p.png")
    argv = ["colorize", photo, "--model", weights]
    assert cli.main([*argv, "--out", str(tmp_path / "a"), "--temperature", "0.2"]) == 0
    assert "1 colorized into" in (out := capsys.readouterr().out) and "(zhang, temperature 0.2)." in out
    assert cli.main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert "(zhang, temperature 0.38)." in capsys.readouterr().out
    for bad in ("0", "-1", "100"):
        assert cli.main([*argv, "--out", str(tmp_path / "c"), "--temperature", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "temperature must be above 0 and at most 10" in err
    beta = save_tiny_beta(tmp_path / "beta.weights.h5")
    assert (
        cli.main(["colorize", photo, "--model", beta, "--out", str(tmp_path / "d"), "--temperature", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "note: --temperature is ignored: beta predicts colors directly" in out
    assert "1 colorized into" in out and "0 failed." in out


@pytest.mark.slow
def test_evaluate_reports_the_temperature(tmp_path, capsys):
    from colornet.evaluate import evaluate, format_table

    from conftest import save_tiny_beta

    weights = save_tiny_zhang(tmp_path / "z.weights.h5")
    beta = save_tiny_beta(tmp_path / "beta.weights.h5")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        colorful_photo(folder / f"{i}.png", seed=i)
    results = evaluate({"z": weights, "b": beta}, folder, size=32, temperature=0.5)
    assert results["decoding"] == {"z": {"temperature": 0.5}, "b": {}}
    assert results["notes"] and results["notes"][0].startswith("b: note: --temperature is ignored")
    table = format_table(results)
    assert "z: colors decoded as the annealed mean at temperature 0.5." in table
    args = ["evaluate", "--model", weights, "--data", str(folder), "--size", "32"]
    assert cli.main([*args, "--temperature", "1"]) == 0
    assert "at temperature 1." in capsys.readouterr().out
    assert cli.main([*args, "--temperature", "0"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def gray_heavy_prior():
    """A prior with 90 % of the pixels gray: saturated bins get the large rebalancing weights."""
    prior = np.full(B.N_BINS, 0.1 / (B.N_BINS - 1))
    prior[int(np.asarray(B.nearest_bin(np.zeros(2, np.float32))))] = 0.9
    return prior


@pytest.mark.slow
def test_undoing_the_rebalancing_uses_the_weights_prior_everywhere(tmp_path, capsys):
    import colornet
    from colornet.color import to_uint8
    from colornet.evaluate import evaluate, format_table
    from colornet.metrics import colorfulness

    weights = save_tiny_zhang(tmp_path / "z.weights.h5", prior=gray_heavy_prior())
    photo = colorful_photo(tmp_path / "p.png")
    vivid = {
        s: colorfulness(to_uint8(colornet.colorize(photo, model=weights, undo_rebalancing=s)))
        for s in (0.0, 0.2, 1.0)
    }
    assert vivid[0.0] > vivid[0.2] > vivid[1.0]  # taking the tilt toward rare colors back dulls them
    default = colornet.colorize(photo, model=weights)
    np.testing.assert_array_equal(default, colornet.colorize(photo, model=weights, undo_rebalancing=0))
    argv = ["colorize", photo, "--model", weights]
    assert cli.main([*argv, "--out", str(tmp_path / "a"), "--undo-rebalancing", "1"]) == 0
    assert "(zhang, temperature 0.38, undo rebalancing 1)." in capsys.readouterr().out
    for bad in ("-0.1", "1.5", "nan"):
        assert cli.main([*argv, "--out", str(tmp_path / "b"), "--undo-rebalancing", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "undo-rebalancing must be from 0 to 1" in err
    folder = tmp_path / "photos"
    folder.mkdir()
    colorful_photo(folder / "0.png")
    default = evaluate({"z": weights}, folder, size=32)["decoding"]  # the paper's decoding, said
    assert default == {"z": {"temperature": 0.38, "undo_rebalancing": 0.0}}
    results = evaluate({"z": weights}, folder, size=32, undo_rebalancing=0.2)
    assert results["decoding"] == {"z": {"temperature": 0.38, "undo_rebalancing": 0.2}}
    assert "at temperature 0.38, 0.2 of the rebalancing undone." in format_table(results)
    # without a known prior there is nothing to undo: the default decodes as the paper does, a request fails
    (tmp_path / "bare").mkdir()
    bare = save_tiny_zhang(tmp_path / "bare" / "z.weights.h5")
    np.testing.assert_array_equal(
        colornet.colorize(photo, model=bare), colornet.colorize(photo, model=bare, undo_rebalancing=0)
    )
    with pytest.raises(ColornetError, match="prior over the bins it was trained with is unknown"):
        colornet.colorize(photo, model=bare, undo_rebalancing=0.5)
    (tmp_path / "prior.npy").write_bytes(b"not a prior")
    with pytest.raises(ColornetError, match="prior.npy: not a prior file"):
        colornet.colorize(photo, model=weights)


# --- the bin head on Beta ------------------------------------------------------------


def test_beta_with_a_bin_head_is_the_same_network_with_another_ending():
    from colornet.models.beta import build_beta

    design = get_design("beta")
    ab, bins = build_beta(width=0.125), build_beta(width=0.125, head="bins")
    assert bins.output_shape == (None, None, None, B.N_BINS)
    assert bins(np.zeros((1, 32, 24, 1), np.float32)).shape == (1, 8, 6, B.N_BINS)
    shared = [layer.name for layer in bins.layers if layer.weights]
    assert shared[:-1] == [layer.name for layer in ab.layers if layer.weights][: len(shared) - 1]
    assert isinstance(design.make_codec({"head": "bins"}), BinsCodec)
    assert not isinstance(design.make_codec({}), BinsCodec)  # the provided beta.json has no head
    assert design.make_loss({"head": "bins"})[0] == "soft_cross_entropy"
    assert design.make_loss({"head": "ab"}, "mae")[0] == "mae"
    with pytest.raises(ValueError, match="head must be one of ab, bins"):
        build_beta(head="classes")


@pytest.mark.slow
def test_train_beta_with_the_bin_head_and_colorize_at_a_temperature(photo_folder, tmp_path, capsys):
    out = tmp_path / "beta-bins"
    argv = ["train", "beta", "--head", "bins", "--data", photo_folder, "--width", "0.125", "--size", "16"]
    argv += ["--epochs", "1", "--batch-size", "4", "--verbose", "0", "--precision", "float32"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    config = json.loads((out / "best.json").read_text())
    assert config["options"]["head"] == "bins" and config["prior"] == "prior.npy"
    assert (out / "prior.npy").exists()
    photo = colorful_photo(tmp_path / "p.png")
    capsys.readouterr()
    weights = str(out / "best.weights.h5")
    assert (
        cli.main(["colorize", photo, "--model", weights, "--out", str(tmp_path / "c"), "--temperature", "1"])
        == 0
    )
    assert "(beta, temperature 1, undo rebalancing 0)." in capsys.readouterr().out  # its run kept the prior
    # the regression head's runs resume as before: a run without `head` recorded has head ab
    plain = tmp_path / "beta-ab"
    argv_ab = [a for a in argv if a not in ("--head", "bins")]
    assert cli.main([*argv_ab, "--out", str(plain)]) == 0
    state = json.loads((plain / "state.json").read_text())
    state["options"].pop("head")
    (plain / "state.json").write_text(json.dumps(state))
    assert cli.main([*argv_ab, "--epochs", "2", "--out", str(plain)]) == 0
