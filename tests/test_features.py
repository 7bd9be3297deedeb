"""The default model, `features`: EfficientNet-Lite0's taps decoded to ab bins; the encoder frozen or
fine-tuned, its ImageNet weights, any input size, and a run from the command line."""

import json

import keras
import numpy as np
import pytest

from colornet.bins import N_BINS
from colornet.lite0 import efficientnet_lite0
from colornet.models import get_design
from colornet.models.features import TAPS, build_features, load_encoder_weights

TINY = {"width": 0.125}


def test_logits_over_the_bins_at_a_quarter_of_any_size():
    model = build_features(**TINY)
    for h, w in ((64, 96), (160, 160), (50, 70)):  # 50 x 70: not a multiple of 32, rounded up inside
        out = model(np.zeros((1, h, w, 1), np.float32))
        assert out.shape == (1, -(-h // 4), -(-w // 4), N_BINS) and out.dtype == "float32"
    encoder = model.get_layer("features_encoder")
    shapes = [tuple(t.shape[1:]) for t in encoder(np.zeros((1, 64, 64, 3), np.float32))]
    assert shapes == [(16, 16, 24), (8, 8, 40), (4, 4, 112), (2, 2, 1280)]  # 1/4 ... 1/32
    assert TAPS[-1] == "top_activation"


def test_the_encoder_is_frozen_unless_asked_and_its_batch_norm_always():
    frozen = build_features(**TINY)
    assert frozen.get_layer("features_encoder").trainable_variables == []
    assert frozen.trainable_variables  # the decoder learns
    tuned = build_features(train_encoder=True, **TINY)
    encoder = tuned.get_layer("features_encoder")
    names = [v.path for v in encoder.trainable_variables]
    assert any("dwconv" in n for n in names) and not any("bn" in n.split("/")[-2] for n in names)
    assert len(tuned.trainable_variables) > len(frozen.trainable_variables)


@pytest.mark.slow
def test_imagenet_weights_go_into_the_encoder():
    model = build_features(**TINY)
    note = load_encoder_weights(model, "imagenet")
    assert note == "EfficientNet-Lite0 encoder from ImageNet (frozen)"
    lite0 = efficientnet_lite0("imagenet", include_top=False)
    for name in ("stem_conv", "block4_dwconv", "top_bn"):
        for a, b in zip(
            model.get_layer("features_encoder").get_layer(name).get_weights(),
            lite0.get_layer(name).get_weights(),
        ):
            np.testing.assert_array_equal(a, b)
    assert "random weights" in load_encoder_weights(build_features(**TINY), None)


@pytest.mark.slow
def test_one_step_learns_and_decodes_to_ab():
    keras.utils.set_random_seed(0)
    design = get_design("features")
    model = build_features(**TINY)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True)
    )
    rng = np.random.default_rng(0)
    lab = np.concatenate(
        [rng.uniform(20, 80, (2, 64, 64, 1)), rng.uniform(-40, 40, (2, 64, 64, 2))], axis=-1
    ).astype(np.float32)
    x, targets, weights = design.make_codec().encode(lab)
    before = [np.array(w) for w in model.trainable_weights]
    assert np.isfinite(model.train_on_batch(x, targets, sample_weight=weights))
    assert any(not np.array_equal(b, np.asarray(a)) for b, a in zip(before, model.trainable_weights))
    ab = np.asarray(design.make_codec().decode(model(x), x))
    assert ab.shape == (2, 64, 64, 2) and np.all(np.isfinite(ab))


def test_sizes_that_are_not_multiples_of_32_are_refused_for_training():
    with pytest.raises(ValueError, match="multiple of 32 for features, got 150; use 128 or 160"):
        get_design("features").check_size(150)


@pytest.mark.slow
def test_command_line_trains_with_imagenet_features_and_says_so(photo_folder, tmp_path, capsys):
    from colornet.cli import main

    out = tmp_path / "run"
    argv = ["train", "features", "--data", photo_folder, "--size", "32", "--epochs", "1", "--batch-size", "4"]
    argv += ["--width", "0.125", "--verbose", "0", "--precision", "float32", "--out", str(out)]
    assert main(argv) == 0
    first = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Training features")][0]
    assert "EfficientNet-Lite0 encoder from ImageNet (frozen)" in first
    config = json.loads((out / "best.json").read_text())
    assert config["options"] == {
        "width": 0.125,
        "train_encoder": False,
        "encoder": "efficientnet-lite0",
        "hints": False,
        "perceptual": 0.0,
    }
    assert config["prior"] == "prior.npy" and (out / "prior.npy").is_file()
