"""Training the default model with a perceptual term (`train features --perceptual W`): what the term
measures, that it is added to the cross-entropy with its weight and reaches the decoder, and a run on
the command line that is refused where it does not apply and resumes where it stopped."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from colornet.color import lab_to_rgb, rgb_to_lab
from colornet.models import get_design
from colornet.models.features import build_features, training_model
from colornet.models.perceptual import PerceptualTrainer, build_judge, feature_distance
from tests.conftest import bundled_photo, make_photo_folder

TINY = {"width": 0.125}


def photos(size: int = 64) -> np.ndarray:
    """Two real photos as sRGB in [0, 1], `(2, size, size, 3)`."""
    out = []
    for name in ("chelsea", "coffee"):
        rgb = tf.image.resize(bundled_photo(name)[None].astype(np.float32) / 255.0, (size, size))
        out.append(rgb[0].numpy())
    return np.stack(out)


def test_the_distance_is_zero_for_the_true_colors_and_larger_for_gray_than_for_a_tint():
    judge = build_judge()  # the committed MobileNetV2 (alpha 0.35)
    rgb = tf.constant(photos())
    lab = rgb_to_lab(rgb)
    gray = lab_to_rgb(tf.concat([lab[..., :1], tf.zeros_like(lab[..., 1:])], axis=-1))
    half = lab_to_rgb(tf.concat([lab[..., :1], 0.5 * lab[..., 1:]], axis=-1))
    same = float(feature_distance(judge, rgb, rgb))
    to_gray, to_half = float(feature_distance(judge, gray, rgb)), float(feature_distance(judge, half, rgb))
    assert same < 1e-6
    assert to_gray > to_half > 0.005, (to_gray, to_half)
    assert judge.trainable_variables == []


def test_without_a_weight_the_network_trains_as_before():
    net = build_features(**TINY)
    assert training_model(net, {"perceptual": 0.0}) is net
    assert training_model(net, {}) is net


def test_the_loss_is_the_cross_entropy_plus_the_weighted_term_and_the_term_reaches_the_decoder():
    keras.utils.set_random_seed(0)
    design = get_design("features")
    codec = design.make_codec({})
    net = build_features(**TINY)
    trainer = training_model(net, {"perceptual": 3.0}, codec)
    assert isinstance(trainer, PerceptualTrainer) and trainer.weight == 3.0
    assert (trainer.temperature, trainer.undo) == (codec.temperature, codec.undo)  # what colorize shows
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    x, y, w = codec.encode(rgb_to_lab(tf.constant(photos())))
    logs = trainer.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["ce"] + 3.0 * logs["perceptual"], rel=1e-5)
    assert logs["perceptual"] > 0
    with tf.GradientTape() as tape:
        _, perceptual, _ = trainer._terms(x, y, w, training=False)
    grads = tape.gradient(perceptual, net.trainable_variables)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads if g is not None) > 0
    before = [v.numpy().copy() for v in net.trainable_variables]
    trainer.fit(x, y, sample_weight=w, epochs=1, verbose=0)
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before, net.trainable_variables))
    assert trainer(x).shape == net(x).shape  # calling the trainer calls the network


def test_it_is_saved_and_loaded_with_its_optimizer(tmp_path):
    net = build_features(**TINY)
    trainer = training_model(net, {"perceptual": 2.0}, get_design("features").make_codec({}))
    trainer.compile(optimizer=keras.optimizers.Adam(5e-4))
    trainer.save(tmp_path / "last.keras")
    loaded = keras.models.load_model(tmp_path / "last.keras", compile=True)
    assert isinstance(loaded, PerceptualTrainer) and loaded.weight == 2.0
    assert float(loaded.optimizer.learning_rate) == pytest.approx(5e-4)
    assert len(loaded.get_weights()) == len(trainer.get_weights())


def _train(*args):
    return subprocess.run(
        [sys.executable, "-m", "colornet", "train", "features", *args],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args, says",
    [
        (["--perceptual", "2", "--hints"], "--perceptual trains the network without hints"),
        (["--perceptual", "-1"], "--perceptual"),
    ],
)
def test_bad_uses_are_one_line(tmp_path, args, says):
    make_photo_folder(tmp_path / "photos", n=4, size=64)
    result = _train("--data", str(tmp_path / "photos"), "--size", "64", "--out", str(tmp_path / "run"), *args)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "colornet train: error" in line]
    assert len(errors) == 1 and says in errors[0], result.stderr[-2000:]
    assert not (tmp_path / "run" / "last.keras").exists()


def test_another_design_refuses_the_option(tmp_path):
    make_photo_folder(tmp_path / "photos", n=4, size=64)
    result = subprocess.run(
        [sys.executable, "-m", "colornet", "train", "beta", "--data", str(tmp_path / "photos"), "--perceptual", "1",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode != 0 and "--perceptual does not apply to beta" in result.stderr


@pytest.mark.slow
def test_a_run_records_the_weight_logs_the_terms_and_resumes(tmp_path):
    make_photo_folder(tmp_path / "photos", n=6, size=64)
    common = ["--width", "0.125", "--perceptual", "4", "--data", str(tmp_path / "photos"), "--val",
              str(tmp_path / "photos"), "--size", "64", "--batch-size", "3", "--out", str(tmp_path / "run"),
              "--xla", "off"]  # fmt: skip
    first = _train(*common, "--epochs", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    second = _train(*common, "--epochs", "2")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Resuming" in second.stdout
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert rows[0].split(",") == ["epoch", "ce", "loss", "perceptual", "val_ce", "val_loss", "val_perceptual"]
    assert len(rows) == 3
    import json

    recorded = json.loads((tmp_path / "run" / "best.json").read_text())
    assert recorded["options"]["perceptual"] == 4.0
