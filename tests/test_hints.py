"""Color hints (Zhang et al. 2017): simulated hints, a person's hints on the working canvas, the
network's hint input, and every way hints reach it (API, command line, evaluate)."""

import json
from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colornet.color import AB_SCALE, lab_to_rgb, rgb_to_lab
from colornet.errors import HintError
from colornet.hints import (
    PATCH,
    HintBinsCodec,
    ab_under,
    hint_map,
    near_hints,
    parse_color,
    parse_hint,
    read_hints,
    sample_hints,
    simulate_hints,
    spread_hints,
)
from colornet.images import Photo
from colornet.predict import prepare

from conftest import save_tiny_hints


def _prepared(h=60, w=90, work_size=30, L=50.0):
    rgb = np.full((h, w, 3), L / 100.0, np.float32)
    return prepare(Photo(rgb=rgb), work_size=work_size, multiple=8)


def test_simulated_hints_are_patch_means_of_the_truth_and_many_photos_get_none():
    tf.random.set_seed(0)
    lab = np.zeros((64, 32, 32, 3), np.float32)
    lab[..., 0] = 50.0
    lab[:, :, :16, 1] = 40.0  # left half a = 40, right half a = -30
    lab[:, :, 16:, 1] = -30.0
    lab[..., 2] = 10.0
    hints = simulate_hints(tf.constant(lab)).numpy()
    mask = hints[..., 2]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    counts = (mask > 0).reshape(64, -1).sum(axis=1)
    assert (counts == 0).mean() >= 0.2  # a share of photos without hints (the automatic mode)
    assert (counts > 0).mean() >= 0.4
    a = hints[..., 0][mask > 0] * AB_SCALE
    b = hints[..., 1][mask > 0] * AB_SCALE
    assert np.allclose(b, 10.0, atol=1e-3)  # the true b everywhere
    assert a.min() >= -30.0 - 1e-3 and a.max() <= 40.0 + 1e-3  # means of true a's, nothing else
    assert np.all(hints[..., :2][mask == 0] == 0.0)  # nothing where there is no hint


def test_the_codec_gives_the_hint_input_simulated_in_training_and_empty_without_hints():
    codec = HintBinsCodec()
    lab = tf.concat([tf.fill([2, 32, 32, 1], 50.0), tf.fill([2, 32, 32, 2], 20.0)], axis=-1)
    (l_norm, hints), targets, weights = codec.encode(lab)
    assert hints.shape == (2, 32, 32, 3) and targets.shape[:3] == (2, 8, 8)
    l_again, empty = codec.encode_inputs(lab[..., :1])
    assert np.all(empty.numpy() == 0.0)
    given = np.ones((2, 32, 32, 3), np.float32)
    assert np.all(codec.encode_inputs(lab[..., :1], {"hints": given})[1].numpy() == 1.0)


def test_a_point_is_scaled_from_the_photo_to_the_working_canvas():
    prepared = _prepared(h=60, w=90, work_size=30)  # 90x60 -> 30x20 on a 32x24 canvas
    assert prepared.content == (20, 30)
    out = hint_map(prepared, [(89, 0, "#c62828"), (45, 30, (46, 125, 50))])
    mask = out[..., 2]
    ys, xs = np.nonzero(mask)
    # (89, 0) is the last column of the first row of the photo: the canvas' (29, 0), a patch clipped
    assert mask[0, 29] == 1 and mask[:, 30:].sum() == 0 and mask[20:].sum() == 0
    assert mask[10, 15] == 1  # the middle of the photo is the middle of the content
    assert mask.sum() == (PATCH // 2 + 1) ** 2 + PATCH**2
    red, green = out[0, 29, :2] * AB_SCALE, out[10, 15, :2] * AB_SCALE
    assert red[0] > 30 and green[0] < -20  # red has a > 0, green a < 0


def test_colors_become_ab_under_the_photos_own_lightness():
    # a saturated red at L 50 keeps its chroma; at L 95 only what sRGB holds there, with its hue
    red = (220, 20, 20)
    ab_mid, ab_light = ab_under(50.0, red), ab_under(95.0, red)
    lab_red = np.asarray(rgb_to_lab(np.array(red, np.float32) / 255.0))
    hue = np.arctan2(lab_red[2], lab_red[1])
    assert np.isclose(np.arctan2(ab_light[1], ab_light[0]), hue, atol=1e-3)
    assert np.hypot(*ab_light) < np.hypot(*ab_mid) - 20
    lab = np.array([95.0, *ab_light], np.float32)
    back = np.asarray(rgb_to_lab(lab_to_rgb(lab)))
    assert np.abs(back - lab).max() < 0.6  # inside the gamut at that lightness
    # the lightness that decides is the photo's at the point, not the color's own
    dark = _prepared(L=20.0)
    light = _prepared(L=90.0)
    a_dark = hint_map(dark, [(45, 30, red)])[10, 15, :2]
    a_light = hint_map(light, [(45, 30, red)])[10, 15, :2]
    assert not np.allclose(a_dark, a_light)


def test_a_scribble_of_the_photos_size_gives_hints_where_it_is_not_transparent():
    prepared = _prepared(h=60, w=90, work_size=30)
    scribble = np.zeros((60, 90, 4), np.uint8)
    scribble[30:33, 10:80] = (30, 90, 200, 255)  # a blue stroke
    out = hint_map(prepared, scribble)
    assert out[10, 5:25, 2].all() and out[:8, :, 2].sum() == 0
    assert out[10, 15, 1] * AB_SCALE < -20  # blue: b < 0
    as_image = hint_map(prepared, Image.fromarray(scribble, "RGBA"))
    assert np.allclose(as_image, out)


@pytest.mark.parametrize(
    "hints, words",
    [
        ([(90, 10, "red")], "outside the photo (90x60 pixels)"),
        ([(-1, 10, "red")], "outside the photo"),
        ([(10, 10, "#12345z")], "cannot read the color '#12345z'"),
        ([(10, 10, (300, 0, 0))], "outside 0-255"),
        ([(10, 10)], "is not (x, y, color)"),
        (np.zeros((30, 45, 4), np.uint8), "the scribble image is 45x30 pixels, the photo 90x60"),
        (np.zeros((60, 90, 3), np.uint8), "no transparency"),
    ],
)
def test_bad_hints_are_one_line(hints, words):
    with pytest.raises(HintError) as err:
        hint_map(_prepared(h=60, w=90), hints, "photo.png")
    message = str(err.value)
    assert words in message and "\n" not in message


def test_hints_from_the_command_line_and_from_files(tmp_path):
    assert parse_hint("120,80=#2e7d32") == (120.0, 80.0, (46, 125, 50))
    assert parse_hint("1,2=46,125,50")[2] == (46, 125, 50)
    assert parse_color("forestgreen") == (34, 139, 34)
    assert parse_color((0.0, 0.5, 1.0)) == (0, 128, 255)
    for bad in ("120=#2e7d32", "a,b=red", "120,80"):
        with pytest.raises(HintError, match="X,Y=COLOR"):
            parse_hint(bad)
    points = tmp_path / "hints.json"
    points.write_text(json.dumps([{"x": 3, "y": 4, "color": "#ff0000"}, [5, 6, [0, 0, 255]]]))
    assert read_hints(points) == [(3.0, 4.0, (255, 0, 0)), (5.0, 6.0, (0, 0, 255))]
    scribble = tmp_path / "scribble.png"
    Image.fromarray(np.zeros((6, 8, 4), np.uint8), "RGBA").save(scribble)
    assert read_hints(scribble).shape == (6, 8, 4)
    for text, words in (("{", "not readable as JSON"), ('[{"x": 1}]', "point 1 is not"), ("{}", "a list")):
        points.write_text(text)
        with pytest.raises(HintError, match=words):
            read_hints(points)
    with pytest.raises(HintError, match="no such hints file"):
        read_hints(tmp_path / "missing.json")
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / "flat.png")
    with pytest.raises(HintError, match="no transparency"):
        read_hints(tmp_path / "flat.png")


def test_sampled_hints_are_seeded_and_nested():
    lab = np.zeros((24, 32, 3), np.float32)
    lab[..., 1] = np.linspace(-50, 50, 32)[None]
    one = sample_hints(lab, (20, 30), 5, np.random.default_rng(1))
    two = sample_hints(lab, (20, 30), 5, np.random.default_rng(1))
    more = sample_hints(lab, (20, 30), 10, np.random.default_rng(1))
    assert np.array_equal(one, two)
    assert np.all(more[..., 2] >= one[..., 2])  # the first 5 of 10 are the 5
    assert one[20:, :, 2].sum() == 0 and one[:, 30:, 2].sum() == 0  # inside the photo only


def test_a_network_built_with_hints_colors_as_before_until_its_branches_learn():
    from colornet.models import build_model
    from colornet.weights import transfer_weights

    plain = build_model("features", width=0.125)
    with_hints = build_model("features", width=0.125, hints=True)
    assert transfer_weights(plain, with_hints) == len(plain.weights)
    L = tf.random.uniform([1, 64, 64, 1], -1, 1, seed=1)
    hints = np.zeros((1, 64, 64, 3), np.float32)
    hints[0, 20:25, 20:25] = (0.3, -0.2, 1.0)
    assert np.array_equal(plain(L).numpy(), with_hints([L, tf.constant(hints)]).numpy())


def _two_regions(h=64, w=128):
    """L of two regions side by side (40 on the left half, 80 on the right), network colors all gray."""
    L = np.full((1, h, w, 1), 40.0, np.float32)
    L[:, :, w // 2 :] = 80.0
    return L, np.zeros((1, h, w, 2), np.float32)


def test_spread_hints_changes_nothing_without_hints():
    L, ab = _two_regions()
    ab = ab + np.random.default_rng(0).normal(0, 10, ab.shape).astype(np.float32)
    out = spread_hints(ab, L, np.zeros(ab.shape[:3] + (3,), np.float32))
    assert np.array_equal(np.asarray(out), ab)


def test_a_hint_reaches_its_pixels_and_the_like_lightness_around_them_not_the_other_region():
    L, ab = _two_regions()
    hints = np.zeros(ab.shape[:3] + (3,), np.float32)
    hints[0, 30:35, 20:25] = (40 / AB_SCALE, 20 / AB_SCALE, 1.0)  # a 5-pixel square on the left region
    out = np.asarray(spread_hints(ab, L, hints, spread=0.2, spread_l=6.0))
    assert np.allclose(out[0, 30:35, 20:25], (40, 20), atol=1.0)  # the hint's own pixels take its color
    assert out[0, 10:54, 5:60, 0].mean() > 30  # its region around it nearly so
    assert np.abs(out[0, :, 68:]).max() < 0.5  # the other lightness, next to it too, barely at all
    L, ab = _two_regions(64, 512)
    far = np.asarray(spread_hints(ab, L, np.pad(hints, ((0, 0), (0, 0), (0, 384), (0, 0))), spread=0.05))
    assert np.abs(far[0, :, 200:256]).max() < 0.5  # 175 pixels (5 sigmas) away in the same region: nothing


def test_spread_hints_refuses_a_canvas_of_unknown_size():
    L, ab = _two_regions()
    spec = [tf.TensorSpec([1, None, None, c]) for c in (2, 1, 3)]  # ab, L, hints
    traced = tf.function(spread_hints, input_signature=spec)
    with pytest.raises(
        ValueError, match="spread_hints needs the canvas' size in the tensors' shape; call it"
    ):
        traced(ab, L, np.zeros(ab.shape[:3] + (3,), np.float32))


def test_near_hints_is_one_at_a_point_and_fades_to_nothing_far_from_it():
    hints = np.zeros((1, 64, 256, 3), np.float32)
    assert np.array_equal(np.asarray(near_hints(hints)), np.zeros((1, 64, 256, 1)))
    hints[0, 30:35, 20:25] = (0.3, 0.1, 1.0)  # a person's point: 5 x 5 on the canvas
    near = np.asarray(near_hints(hints, reach=0.1))[0, ..., 0]
    assert near[32, 22] > 0.9
    assert 0.05 < near[32, 22 + 26] < 0.9  # one sigma (25.6 px) away: partly
    assert near[:, 150:].max() < 1e-3  # five sigmas and more: nothing


def test_the_hints_codec_keeps_the_automatic_colors_far_from_the_hints():
    codec = HintBinsCodec(spread=0.0, reach=0.1)
    hinted, plain = tf.random.normal([1, 16, 64, 261], seed=3), tf.random.normal([1, 16, 64, 261], seed=4)
    hints = np.zeros((1, 64, 256, 3), np.float32)
    hints[0, 30:35, 20:25] = (40 / AB_SCALE, 20 / AB_SCALE, 1.0)
    inputs = (tf.zeros([1, 64, 256, 1]), tf.constant(hints))
    assert codec.automatic_inputs((inputs[0], tf.zeros_like(hints))) is None  # no hints: one pass
    assert replace(codec, reach=0.0).automatic_inputs(inputs) is None
    assert np.array_equal(np.asarray(codec.automatic_inputs(inputs)[1]), np.zeros_like(hints))
    kept = np.asarray(codec.decode(hinted, inputs, automatic=plain))
    assert np.allclose(
        kept[0, 30:35, 20:25], np.asarray(codec.decode(hinted, inputs))[0, 30:35, 20:25], atol=2
    )
    assert np.allclose(kept[0, :, 150:], np.asarray(codec.decode(plain, inputs))[0, :, 150:], atol=1e-2)


def test_the_hints_codec_spreads_hints_only_where_asked():
    codec = HintBinsCodec()
    logits = tf.random.normal([1, 16, 32, 261], seed=2)
    L, _ = _two_regions()
    hints = np.zeros((1, 64, 128, 3), np.float32)
    hints[0, 30:35, 20:25] = (40 / AB_SCALE, 20 / AB_SCALE, 1.0)
    inputs = (L / 50.0 - 1.0, tf.constant(hints))
    plain = np.asarray(replace(codec, spread=0.0).decode(logits, inputs))
    spread = np.asarray(codec.decode(logits, inputs))
    assert np.array_equal(np.asarray(codec.decode(logits, (inputs[0], tf.zeros_like(hints)))), plain)
    assert (
        np.abs(spread[0, 30:35, 20:25] - (40, 20)).mean()
        < np.abs(plain[0, 30:35, 20:25] - (40, 20)).mean() - 5
    )


@pytest.fixture
def tiny_hints(tmp_path):
    return save_tiny_hints(tmp_path / "hints.weights.h5")


def test_colorize_takes_hints_and_a_hint_changes_the_colors_near_it(tiny_hints):
    import colornet

    photo = (np.random.default_rng(0).random((64, 96)) * 255).astype(np.uint8)
    plain = colornet.colorize(photo, model=tiny_hints)
    hinted = colornet.colorize(photo, model=tiny_hints, hints=[(30, 20, "#2e7d32")])
    assert plain.shape == hinted.shape == (64, 96, 3)
    assert np.abs(plain - hinted).mean() > 1e-4
    again = colornet.colorize(photo, model=tiny_hints, hints=[])
    assert np.allclose(plain, again, atol=1e-6)  # no hints: the automatic colors
    with pytest.raises(HintError, match="trained without hint channels"):
        colornet.colorize(photo, model="beta", hints=[(30, 20, "red")])


def test_the_command_line_takes_hints_and_says_what_is_wrong_in_one_line(tiny_hints, tmp_path, capsys):
    from colornet import cli

    photo = tmp_path / "in.png"
    Image.fromarray((np.random.default_rng(0).random((40, 60)) * 255).astype(np.uint8)).save(photo)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(small)
    base = ["colorize", "--model", tiny_hints, "--out", str(tmp_path / "out")]
    assert cli.main([*base, str(photo), str(small), "--hint", "30,20=#c62828"]) == 1
    out = capsys.readouterr().out
    assert "1 colorized" in out and "hint 1 at (30, 20) is outside the photo (12x10 pixels)" in out
    assert (tmp_path / "out" / "in.png").exists()  # the photo the hint fits is colorized
    with pytest.raises(SystemExit) as exit_:
        cli.main([*base, str(photo), "--hint", "30,20=#zz0000"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "cannot read the color '#zz0000'" in err
    points = tmp_path / "points.json"
    points.write_text(json.dumps([[5, 5, "red"]]))
    assert cli.main([*base, str(photo), "--hints", str(points), "--overwrite"]) == 0
    capsys.readouterr()
    assert (
        cli.main(
            ["colorize", "--model", "beta", str(photo), "--hint", "3,2=red", "--out", str(tmp_path / "b")]
        )
        != 0
    )
    err = capsys.readouterr().err.strip()
    assert "trained without hint channels" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_evaluate_samples_the_same_hints_for_every_model_and_scores_each_count(tiny_hints, tmp_path):
    from colornet.errors import EvaluateError
    from colornet.evaluate import evaluate

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    results = evaluate({"tiny": tiny_hints}, str(folder), size=32, semantic=False, hints=[0, 5])
    assert results["columns"] == ["gray", "tiny 0 hints", "tiny 5 hints"]
    assert results["hints"] == {"tiny 0 hints": 0, "tiny 5 hints": 5}
    psnr = [r["tiny 5 hints"]["psnr"] - r["tiny 0 hints"]["psnr"] for r in results["images"]]
    assert any(abs(d) > 1e-6 for d in psnr)  # the hints reach the network
    again = evaluate({"tiny": tiny_hints}, str(folder), size=32, semantic=False, hints=5)
    assert [r["tiny 5 hints"]["psnr"] for r in again["images"]] == [
        r["tiny 5 hints"]["psnr"] for r in results["images"]
    ]
    with pytest.raises(EvaluateError, match="trained without hint channels"):
        evaluate({"beta": "beta"}, str(folder), size=32, semantic=False, hints=5)


def test_a_single_hint_colors_its_object_and_leaves_far_regions_within_a_level():
    """The provided features-hints on a synthetic photo of two regions: a dark square object on a
    light background. One red hint in the object changes the object's colors (by tens of levels of
    255) and the far side of the photo, more than 128 pixels from the object, by less than 1 level
    on average. (Measured with the provided weights: 60.7 levels in the object, 0.10 on the far side;
    64.2 and 1.78 with the network's change kept everywhere, `reach=0`.)"""
    import colornet

    L = np.full((256, 384), 78.0, np.float32)  # background
    L[64:192, 32:160] = 38.0  # the object
    gray = np.asarray(lab_to_rgb(np.stack([L, np.zeros_like(L), np.zeros_like(L)], axis=-1)))
    automatic = colornet.colorize(gray, model="features-hints")
    hinted = colornet.colorize(gray, model="features-hints", hints=[(96, 128, "#c62828")])
    change = np.abs(hinted - automatic).mean(axis=-1) * 255  # levels of 255, per pixel
    inside = change[72:184, 40:152].mean()
    far = change[:, 288:].mean()  # more than 128 pixels from the object
    assert inside > 20.0, f"the object changed by {inside:.2f} levels"
    assert far < 1.0, f"the far side changed by {far:.2f} levels of 255 (the object by {inside:.2f})"
    red = np.asarray(rgb_to_lab(hinted[96:160, 64:128]))[..., 1].mean()
    assert red > np.asarray(rgb_to_lab(automatic[96:160, 64:128]))[..., 1].mean() + 5  # redder (a up)
