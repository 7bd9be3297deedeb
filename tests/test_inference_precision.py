"""`--precision auto` when colorizing: bfloat16's colors stay within 1 level of float32's on a fixed
photo, the choice follows the measurements (made up here, never the machine's timings), and the
commands accept it."""

import json
import re

import keras
import numpy as np
import pytest

from colornet import cli
from colornet.errors import PrecisionError
from colornet.inference_precision import (
    COLOR_TOLERANCE,
    SPEED_MARGIN,
    choose_inference_precision,
    color_difference,
    colors_agree,
    fixed_photos,
    time_interleaved,
)
from colornet.precision import PRECISIONS
from colornet.predict import colorize_photos, load_colorizer, precision_twin, with_auto_precision

from conftest import save_tiny_beta

AMX = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
PLAIN = {"avx2", "fma"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny_beta(tmp_path_factory.mktemp("tiny") / "tiny.weights.h5", seed=3)


def colors(colorizer) -> np.ndarray:
    return np.stack(colorize_photos(colorizer, fixed_photos(), None, np.float32))


def test_bfloat16_colors_stay_within_one_level_on_fixed_photos():
    float32 = load_colorizer("beta")  # the provided weights: real colors, so the comparison means something
    bfloat16 = precision_twin(float32, "mixed_bfloat16")
    assert bfloat16.precision == "mixed_bfloat16" and float32.precision == "float32"
    assert bfloat16.model.get_layer("beta_conv1").compute_dtype == "bfloat16"
    reference, rgb = colors(float32), colors(bfloat16)
    assert rgb.shape == reference.shape == (4, 320, 320, 3)
    assert np.abs(reference - reference.mean(-1, keepdims=True)).mean() * 255 > 3  # not gray
    levels = color_difference(rgb, reference)
    assert 0 < levels <= COLOR_TOLERANCE  # bfloat16 did run, and stayed within 1 level of 255 on average
    assert colors_agree(rgb, reference)
    # the check can fail: the same colors moved by 2 levels, or NaN, are refused
    assert not colors_agree(np.clip(rgb + 2 / 255, 0, 1), reference)
    assert color_difference(np.full_like(rgb, np.nan), reference) == float("inf")
    with pytest.raises(ValueError, match="cannot compare colors of shapes"):
        color_difference(rgb[:, :10], reference)


def made_up(levels: float = 0.3, seconds=None, calls=None):
    """`colors_of` and `measure` that report what they are told: bfloat16's colors `levels` levels
    of 255 from float32's, and `seconds` per call of each policy. Each call is noted in `calls`."""
    calls = [] if calls is None else calls
    reference = np.asarray(fixed_photos()[0].rgb[:8, :8])

    def colors_of(policy):
        calls.append(("colors", policy))
        return reference if policy == "float32" else np.clip(reference + levels / 255, 0, 2)

    def measure(policies):
        calls.append(("measure", tuple(policies)))
        return {p: seconds[p] for p in policies}

    return colors_of, measure


def test_auto_picks_bfloat16_only_where_it_measures_faster_and_its_colors_agree():
    calls = []
    colors_of, measure = made_up(0.3, {"float32": 0.3, "mixed_bfloat16": 0.1}, calls)
    verdict = choose_inference_precision(gpus=0, flags=AMX, colors_of=colors_of, measure=measure)
    assert verdict.policy == "mixed_bfloat16" and verdict.speedup == pytest.approx(3.0)
    assert verdict.levels == pytest.approx(0.3, abs=1e-4)
    assert "measured 3.0x float32, colors 0.30 levels" in verdict.note
    assert calls == [
        ("colors", "mixed_bfloat16"),
        ("colors", "float32"),
        ("measure", ("float32", "mixed_bfloat16")),
    ]

    colors_of, measure = made_up(0.3, {"float32": 0.11, "mixed_bfloat16": 0.1})  # 1.1x: not enough
    verdict = choose_inference_precision(gpus=0, flags=AMX, colors_of=colors_of, measure=measure)
    assert (
        verdict.policy == "float32"
        and f"measured 1.10x float32 on this network, less than {SPEED_MARGIN:g}x" in verdict.note
    )

    calls = []  # faster, but the colors drift: float32, without timing anything
    colors_of, measure = made_up(2.0, {"float32": 1.0, "mixed_bfloat16": 0.1}, calls)
    verdict = choose_inference_precision(gpus=0, flags=AMX, colors_of=colors_of, measure=measure)
    assert (
        verdict.policy == "float32" and "moved the colors 2.00 levels of 255 from float32's" in verdict.note
    )
    assert ("measure", ("float32", "mixed_bfloat16")) not in calls

    calls = []  # no bfloat16 units: float32, nothing measured
    colors_of, measure = made_up(0.3, {"float32": 1.0, "mixed_bfloat16": 0.1}, calls)
    verdict = choose_inference_precision(gpus=0, flags=PLAIN, colors_of=colors_of, measure=measure)
    assert verdict.note == "precision float32 (CPU without bfloat16 units)." and calls == []

    calls = []  # a GPU: mixed_float16 once its colors are checked, not timed
    colors_of, measure = made_up(0.3, {}, calls)
    verdict = choose_inference_precision(gpus=1, flags=PLAIN, colors_of=colors_of, measure=measure)
    assert verdict.policy == "mixed_float16" and calls == [("colors", "mixed_float16"), ("colors", "float32")]

    def cannot(policy):
        raise ValueError(f"mine cannot be rebuilt in {policy} (no builder).")

    verdict = choose_inference_precision(gpus=0, flags=AMX, colors_of=cannot, measure=measure)
    assert verdict.policy == "float32" and verdict.reason.endswith(
        "cannot run in mixed_bfloat16: mine cannot be rebuilt in mixed_bfloat16 (no builder)"
    )


def test_timing_takes_turns_after_a_warm_up_each():
    order = []
    seconds = time_interleaved({name: lambda name=name: order.append(name) for name in ("a", "b")}, rounds=2)
    assert order == ["a", "b"] * 3  # one warm-up call each, then turns: load slows both alike
    order.clear()
    time_interleaved({name: lambda name=name: order.append(name) for name in ("a", "b")}, rounds=3, warmup=0)
    assert order == ["a", "b"] * 3
    assert set(seconds) == {"a", "b"} and all(0 <= s < 1 for s in seconds.values())


def test_load_colorizer_auto_uses_the_verdict_and_says_it_once(tiny, capsys):
    float32 = load_colorizer(tiny)
    fast = {"float32": 0.4, "mixed_bfloat16": 0.1}
    chosen = with_auto_precision(float32, 32, gpus=0, flags=AMX, measure=lambda ps: {p: fast[p] for p in ps})
    assert chosen.precision == "mixed_bfloat16" and chosen.model is not float32.model
    assert chosen.model.get_layer("beta_conv1").compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in chosen.model.weights)  # the same float32 weights
    note = capsys.readouterr().err.strip().splitlines()
    assert (
        len(note) == 1 and "at 32 px: precision mixed_bfloat16 (CPU with amx_bf16 and avx512_bf16" in note[0]
    )
    again = with_auto_precision(
        float32, 32, gpus=0, flags=AMX, measure=lambda ps: pytest.fail("measured twice")
    )
    assert again.precision == "mixed_bfloat16" and capsys.readouterr().err == ""  # decided once per size
    # without bfloat16 units the float32 network is kept as it is
    assert with_auto_precision(float32, 32, gpus=0, flags=PLAIN) is float32
    assert "precision float32 (CPU without bfloat16 units)" in capsys.readouterr().err


def test_a_network_that_cannot_be_rebuilt_stays_float32_with_a_note(capsys):
    inputs = keras.Input((None, None, 1))
    mine = keras.Model(
        inputs, keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(inputs), name="mine"
    )
    colorizer = load_colorizer(mine)
    chosen = with_auto_precision(colorizer, 32, gpus=0, flags=AMX, measure=lambda ps: pytest.fail("timed"))
    assert chosen is colorizer and chosen.precision == "float32"
    err = capsys.readouterr().err
    assert (
        "precision float32 (CPU with amx_bf16 and avx512_bf16, but the network cannot run in mixed_bfloat16: "
        in err
    )
    assert "mine cannot be rebuilt in mixed_bfloat16" in err and len(err.strip().splitlines()) == 1


def test_load_colorizer_checks_the_precision(tiny, capsys):
    with pytest.raises(PrecisionError, match="unknown precision 'half'; use one of auto, float32"):
        load_colorizer(tiny, precision="half")
    assert load_colorizer(tiny, precision="Mixed-BFloat16").precision == "mixed_bfloat16"
    from colornet.models import build_model
    from colornet.precision import precision_scope

    with precision_scope("mixed_bfloat16"):
        trained = build_model("beta", width=0.125)  # as `train` builds it under mixed_bfloat16
    assert load_colorizer(trained).precision == "mixed_bfloat16"  # said as it is, run as it is
    # without its builder options it cannot be rebuilt in float32 to compare with: it stays as it is
    assert load_colorizer(trained, precision="auto").precision == "mixed_bfloat16"
    assert "cannot be rebuilt in float32" in capsys.readouterr().err
    assert load_colorizer(trained, precision="auto", options={"width": 0.125}).precision in PRECISIONS


@pytest.mark.parametrize("command", ["colorize", "evaluate", "video"])
def test_the_commands_take_precision_auto_and_default_to_float32(command, capsys):
    parser = cli.build_parser(command)
    args = {"video": ["in.mp4", "out.mp4"], "evaluate": ["--model", "beta", "--data", "photos"]}.get(
        command, []
    )
    assert parser.parse_args([command, *args]).precision == "float32"  # the same colors on every machine
    assert parser.parse_args([command, *args, "--precision", "auto"]).precision == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "mixed_bfloat16 where it measures 1.2x faster or more for this model" in help_text


@pytest.mark.slow
def test_commands_accept_precision_auto(tiny, photo_folder, tmp_path, capsys):
    from colornet.infer import colorize

    out = tmp_path / "out"
    assert (
        cli.main(["colorize", photo_folder, "--model", tiny, "--out", str(out), "--precision", "auto"]) == 0
    )
    assert len(list(out.rglob("*.png"))) == 12
    verdict = re.search(
        r"at 256 px: precision (\w+) \(", capsys.readouterr().err
    )  # one line, whichever it is
    assert verdict
    report = tmp_path / "report.json"
    argv = ["evaluate", "--model", tiny, "--data", photo_folder, "--size", "32", "--limit", "2"]
    assert cli.main([*argv, "--precision", "auto", "--json", str(report), "--no-semantic"]) == 0
    assert list(json.loads(report.read_text())["precisions"].values()) == [verdict.group(1)]  # decided once
    rgb = colorize(fixed_photos()[1], model=tiny, precision="auto")
    assert rgb.shape == (320, 320, 3)
    from test_video import write_clip

    write_clip(tmp_path / "clip.mp4", frames=4, audio=False)
    video = ["video", str(tmp_path / "clip.mp4"), str(tmp_path / "color.mp4"), "--model", tiny]
    assert cli.main([*video, "--precision", "auto"]) == 0 and (tmp_path / "color.mp4").stat().st_size > 0
