"""Iizuka et al. 2016: shapes, the shared low-level network, the class head and its loss weight,
style transfer, scene classes from folders, and what bad input gets."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from colornet import cli
from colornet.models import get_design
from colornet.models.iizuka import CLASS_LOSS_WEIGHT, IizukaCodec, build_iizuka
from colornet.predict import load_colorizer

from conftest import bundled_photo

TINY = {"width": 0.0625, "global_size": 32}


def l_batch(b, h, w, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (b, h, w, 1)).astype(np.float32)


@pytest.mark.parametrize("h, w", [(16, 16), (24, 40), (64, 8)])
def test_local_path_takes_any_size_and_global_path_any_photo(h, w):
    model = build_iizuka(n_classes=5, **TINY)
    out = model([l_batch(2, h, w), l_batch(2, 50, 30)])
    assert out["ab"].shape == (2, h, w, 2) and out["class"].shape == (2, 5)
    assert 0 <= float(np.min(out["ab"])) and float(np.max(out["ab"])) <= 1  # sigmoid
    plain = build_iizuka(**TINY)
    assert plain([l_batch(1, h, w), l_batch(1, h, w)]).shape == (1, h, w, 2)


def test_a_plain_call_runs_batch_norm_in_inference_mode():
    model = build_iizuka(n_classes=3, **TINY)
    for layer in model.layers + model.get_layer("iizuka_low").layers:  # statistics far from a batch's
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(layer.moving_mean + 0.5)
    inputs = [l_batch(2, 16, 16), l_batch(2, 40, 24, seed=1)]
    plain, inference, training = model(inputs), model(inputs, training=False), model(inputs, training=True)
    np.testing.assert_allclose(plain["ab"], inference["ab"], atol=1e-6)
    assert np.abs(np.asarray(training["ab"]) - np.asarray(inference["ab"])).max() > 1e-3


def test_the_paper_layer_table():
    model = build_iizuka(n_classes=6)
    filters = [layer.filters for layer in model.get_layer("iizuka_low").layers if hasattr(layer, "filters")]
    assert filters == [64, 128, 128, 256, 256, 512]
    units = [model.get_layer(f"iizuka_glob_fc{i}").units for i in (1, 2, 3)]
    assert units == [1024, 512, 256] and model.get_layer("iizuka_class").units == 6
    assert model.get_layer("iizuka_fusion").kernel.shape == (1, 1, 512, 256)
    with pytest.raises(ValueError, match="n_classes must be 0"):
        build_iizuka(n_classes=1)
    with pytest.raises(ValueError, match="global_size must be a multiple of 32"):
        build_iizuka(global_size=100)


def test_one_low_level_network_serves_both_paths():
    model = build_iizuka(**TINY)
    low = model.get_layer("iizuka_low")
    assert len(low._inbound_nodes) == 2  # called on the local and on the global input
    names = [w.path for w in model.weights]
    assert len(names) == len(set(names))
    assert sum("low" in n for n in names) == len(low.weights)  # one set of variables


def test_the_class_loss_has_its_weight():
    design = get_design("iizuka")
    options = {**TINY, "n_classes": 3}
    loss, weights = design.make_loss(options)
    assert weights == {"ab": 1.0, "class": CLASS_LOSS_WEIGHT} and CLASS_LOSS_WEIGHT == pytest.approx(1 / 300)
    keras.utils.set_random_seed(0)
    model = design.build(**options)
    model.compile(optimizer="adam", loss=loss, loss_weights=weights)
    codec = design.make_codec(options)
    rng = np.random.default_rng(0)
    lab = np.concatenate([rng.uniform(0, 100, (4, 16, 16, 1)), rng.uniform(-50, 50, (4, 16, 16, 2))], -1)
    inputs, targets = codec.encode(lab.astype(np.float32), {"label": np.array([0, 1, 2, 1])})
    logs = model.evaluate(inputs, targets, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["ab_loss"] + logs["class_loss"] / 300, rel=1e-4)
    assert design.make_loss({**TINY, "n_classes": 0}) == ("mse", None)
    assert design.make_loss(options, "mae")[0]["ab"] == "mae"
    assert design.make_loss({**options, "class_weight": 0.1})[1] == {"ab": 1.0, "class": 0.1}
    with pytest.raises(ValueError, match="class_weight must be a number >= 0"):
        build_iizuka(class_weight=-1.0)


def test_codec_maps_ab_to_the_sigmoid_range_and_back():
    codec = IizukaCodec(classes=False)
    lab = np.zeros((1, 8, 8, 3), np.float32)
    lab[..., 1], lab[..., 2] = -100.0, 60.0
    target = np.asarray(codec.encode_targets(lab))
    assert target.min() >= 0 and target.max() <= 1
    np.testing.assert_allclose(np.asarray(codec.decode(target)), lab[..., 1:], atol=1e-4)


def test_style_transfer_changes_the_colors():
    keras.utils.set_random_seed(3)
    colorizer = load_colorizer(build_iizuka(width=0.25, global_size=32), design="iizuka")
    rng = np.random.default_rng(1)
    L = rng.uniform(0, 100, (1, 32, 32, 1)).astype(np.float32)
    style = np.clip(100 - L[:, ::-1], 0, 100)  # another photo: its global features differ
    own = colorizer.predict_ab(L)
    np.testing.assert_allclose(colorizer.predict_ab(L, style=L), own, atol=1e-5)  # its own L: the same
    styled = colorizer.predict_ab(L, style=style)
    # A network with random weights colors faintly (ab about 0.05), but the style moves every pixel.
    assert np.abs(styled - own).mean() > 1e-4 and np.all(np.abs(styled - own).max(axis=-1) > 0)


@pytest.fixture
def scene_folder(tmp_path):
    """Three class folders of crops of different photos."""
    root = tmp_path / "scenes"
    for k, (name, source) in enumerate([("forest", "astronaut"), ("sea", "chelsea"), ("street", "coffee")]):
        (root / name).mkdir(parents=True)
        photo = bundled_photo(source)
        for i in range(5):
            Image.fromarray(photo[15 * i : 15 * i + 40, 20 * i + k : 20 * i + k + 40]).save(
                root / name / f"{i}.png"
            )
    return root


def train_cli(*args) -> int:
    argv = ["train", "iizuka", "--width", "0.0625", "--global-size", "32", "--size", "16", "--epochs", "1"]
    return cli.main([*argv, "--batch-size", "4", "--verbose", "0", "--precision", "float32", *map(str, args)])


@pytest.mark.slow
def test_train_learns_classes_from_folders_and_colorize_explains(scene_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli("--data", scene_folder, "--out", out, "--class-weight", "0.01") == 0
    config = json.loads((out / "best.json").read_text())
    assert config["classes"] == ["forest", "sea", "street"] and config["options"]["n_classes"] == 3
    assert config["options"]["global_size"] == 32 and config["options"]["class_weight"] == 0.01
    history = json.loads((out / "state.json").read_text())["history"]
    assert {"ab_loss", "class_loss", "val_class_loss"} <= set(history)
    capsys.readouterr()
    photo = scene_folder / "sea" / "1.png"
    code = cli.main(
        [
            "colorize",
            str(photo),
            "--model",
            str(out / "best.weights.h5"),
            "--out",
            str(tmp_path / "c"),
            "--explain",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and f"{photo}: " in printed and "%" in printed
    rgb, info = __import__("colornet").colorize(str(photo), model=str(out / "best.weights.h5"), explain=True)
    assert info["class"] in config["classes"] and 0 < info["probability"] <= 1
    # A style photo: other colors, same size; an unreadable one: one line naming it.
    styled = __import__("colornet").colorize(
        str(photo), model=str(out / "best.weights.h5"), style=scene_folder / "forest" / "0.png"
    )
    assert styled.shape == rgb.shape and not np.array_equal(styled, rgb)
    (tmp_path / "bad.jpg").write_bytes(b"not a photo")
    code = cli.main(
        [
            "colorize",
            str(photo),
            "--model",
            str(out / "best.weights.h5"),
            "--out",
            str(tmp_path / "d"),
            "--style",
            str(tmp_path / "bad.jpg"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "style photo" in err and "bad.jpg" in err and len(err.splitlines()) == 1
    # Scene accuracy in evaluate, for photos in class folders.
    from colornet.evaluate import evaluate, format_table

    report = evaluate({"iizuka": str(out / "best.weights.h5")}, scene_folder, size=32)
    assert report["scene_accuracy"]["iizuka"]["photos"] == 15
    assert "Scene class recognized from the gray photo by iizuka" in format_table(report)


@pytest.mark.slow
def test_weights_of_another_class_list_do_not_load_silently(scene_folder, tmp_path, capsys):
    assert train_cli("--data", scene_folder, "--out", tmp_path / "three") == 0
    two = tmp_path / "two"
    for name in ("forest", "sea"):
        (two / name).mkdir(parents=True)
        for path in (scene_folder / name).iterdir():
            os.link(path, two / name / path.name)
    capsys.readouterr()
    weights = tmp_path / "three" / "best.weights.h5"
    assert train_cli("--data", two, "--init", weights, "--out", tmp_path / "r") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(weights) in err, err


@pytest.mark.slow
def test_class_layouts_that_cannot_train_say_why(scene_folder, tmp_path, capsys):
    one = tmp_path / "one"
    (one / "forest").mkdir(parents=True)
    for path in (scene_folder / "forest").iterdir():
        os.link(path, one / "forest" / path.name)
    assert train_cli("--data", one / "forest", "--out", tmp_path / "r1") == 2
    assert "one class" in capsys.readouterr().err
    Image.fromarray(bundled_photo("rocket")[:40, :40]).save(scene_folder / "loose.png")
    assert train_cli("--data", scene_folder, "--out", tmp_path / "r2") == 2
    err = capsys.readouterr().err.strip()
    assert "loose.png: is in" in err and "has no class" in err and len(err.splitlines()) == 1
    # Without the head, the same folder trains.
    assert train_cli("--data", scene_folder, "--classes", "none", "--out", tmp_path / "r3") == 0
    assert json.loads((tmp_path / "r3" / "best.json").read_text())["options"]["n_classes"] == 0


def test_style_needs_a_global_path(tmp_path, capsys):
    from conftest import save_tiny_beta

    weights = save_tiny_beta(tmp_path / "tiny.weights.h5")
    Image.fromarray(bundled_photo("chelsea")[:40, :40]).save(tmp_path / "a.png")
    code = cli.main(
        [
            "colorize",
            str(tmp_path / "a.png"),
            "--model",
            weights,
            "--out",
            str(tmp_path / "o"),
            "--style",
            str(tmp_path / "a.png"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--style needs a model with global features (iizuka); beta has none" in err
