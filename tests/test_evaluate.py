"""`python -m colornet evaluate` on a folder of small photos with tiny Beta models."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from colornet import cli, evaluate
from colornet.models import build_model
from colornet.weights import save_config

from conftest import save_tiny_beta

SIZE = 32


def zero_weights(model):
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    return {
        "tiny": save_tiny_beta(folder / "tiny.weights.h5", seed=0),
        "other": save_tiny_beta(folder / "other.weights.h5", seed=1),
        "zero": save_tiny_beta(folder / "zero.weights.h5", edit=zero_weights),
    }


def run_cli(*args) -> int:
    return cli.main(["evaluate", "--size", str(SIZE), *map(str, args)])


@pytest.mark.slow
def test_evaluate_writes_table_json_and_grid(photo_folder, weights, tmp_path, capsys):
    out_json, out_grid = tmp_path / "out" / "eval.json", tmp_path / "out" / "grid.png"
    code = run_cli("--model", weights["tiny"], "--data", photo_folder, "--json", out_json, "--grid", out_grid)
    assert code == 0
    printed = capsys.readouterr().out
    assert "12 photos from" in printed and "(0 of 12 files skipped)" in printed
    for label in ("PSNR (dB)", "SSIM", "AuC ab", "colorfulness gap", "tiny - gray"):
        assert label in printed

    results = json.loads(out_json.read_text())
    assert results["columns"] == ["gray", "tiny"]
    assert results["evaluated"] == len(results["images"]) == 12
    assert results["skipped"] == []
    for col in ("gray", "tiny"):
        for metric in ("psnr", "ssim", "ab_auc", "colorfulness"):
            values = [row[col][metric] for row in results["images"]]
            assert results["summary"][col][metric]["mean"] == pytest.approx(np.mean(values))
            assert results["summary"][col][metric]["median"] == pytest.approx(np.median(values))
    truth_cf = np.mean([row["truth"]["colorfulness"] for row in results["images"]])
    gray = results["summary"]["gray"]
    assert truth_cf > 5  # real photo crops have color ...
    assert gray["colorfulness"]["mean"] < 1  # ... the gray baseline has none
    assert gray["colorfulness_gap"]["mean"] == pytest.approx(truth_cf - gray["colorfulness"]["mean"])
    assert 10 < gray["psnr"]["mean"] < 60 and 0 < gray["ab_auc"]["mean"] < 1
    # the paper's AuC rebalanced over the set: the rare, saturated colors left gray count more
    assert 0 < gray["ab_auc_rebalanced_set"]["mean"] < gray["ab_auc"]["mean"]
    assert 0 < gray["ab_auc_rebalanced"]["mean"] < 1  # within each photo: its own few colors
    assert "AuC ab rebalanced, set" in printed and "of the set" in printed

    with Image.open(out_grid) as grid:
        assert grid.format == "PNG"
        assert grid.size[1] > grid.size[0]  # 6 rows (3 best, 3 worst) of 3 panels (gray | tiny | truth)

    best, worst = evaluate.pick_examples(results, n=3)
    gains = sorted(row["tiny"]["psnr"] - row["gray"]["psnr"] for row in results["images"])
    assert [row["tiny"]["psnr"] - row["gray"]["psnr"] for row in best] == gains[::-1][:3]
    assert [row["tiny"]["psnr"] - row["gray"]["psnr"] for row in worst] == gains[:3]


def test_zero_output_model_scores_as_the_gray_baseline(photo_folder, weights):
    results = evaluate.evaluate([weights["zero"]], photo_folder, size=SIZE)
    assert results["columns"] == ["gray", "zero"]
    for gray_row in results["images"]:
        assert gray_row["zero"] == gray_row["gray"]


@pytest.mark.slow
def test_bad_files_are_skipped_and_counted(photo_folder, weights, tmp_path, capsys):
    open(os.path.join(photo_folder, "empty.jpg"), "wb").close()
    with open(os.path.join(photo_folder, "group0", "notes.png"), "w") as f:
        f.write("not a photo")
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(os.path.join(photo_folder, "gray.png"))
    out_json = tmp_path / "eval.json"
    assert run_cli("--model", weights["tiny"], "--data", photo_folder, "--json", out_json) == 0
    captured = capsys.readouterr()
    assert "(3 of 15 files skipped)" in captured.out
    assert "skipped 3 of 15 file(s)" in captured.err and "empty.jpg" in captured.err
    results = json.loads(out_json.read_text())
    assert results["evaluated"] == 12
    reasons = {os.path.basename(s["path"]): s["reason"] for s in results["skipped"]}
    assert set(reasons) == {"empty.jpg", "notes.png", "gray.png"}
    assert "empty file" in reasons["empty.jpg"] and "no color" in reasons["gray.png"]


@pytest.mark.slow
def test_two_models_give_two_columns(photo_folder, weights, tmp_path, capsys):
    out_json, out_grid = tmp_path / "eval.json", tmp_path / "grid.png"
    args = ["--data", photo_folder, "--limit", 4, "--json", out_json, "--grid", out_grid]
    assert run_cli("--model", weights["tiny"], weights["other"], *args) == 0
    header = [line for line in capsys.readouterr().out.splitlines() if line.startswith("metric")][0]
    assert header.split() == [
        "metric",
        "stat",
        "truth",
        "gray",
        "tiny",
        "other",
        "tiny",
        "-",
        "gray",
        "other",
        "-",
        "gray",
    ]
    results = json.loads(out_json.read_text())
    assert results["columns"] == ["gray", "tiny", "other"]
    assert results["models"] == {"tiny": weights["tiny"], "other": weights["other"]}
    assert results["evaluated"] == 4
    psnr = results["summary"]
    assert (
        psnr["tiny"]["psnr"]["mean"] != psnr["other"]["psnr"]["mean"]
    )  # different weights, different scores
    # --limit spreads the picks over the sorted files: both subfolders are represented
    assert {os.path.basename(os.path.dirname(r["path"])) for r in results["images"]} == {"group0", "group1"}
    with Image.open(out_grid) as grid:
        two_models = grid.size
    assert (
        run_cli("--model", weights["tiny"], *args, "--overwrite") == 0
    )  # existing files are kept without it
    with Image.open(out_grid) as grid:
        one_model = grid.size
    # 4 photos -> 2 best and 2 worst rows; gray | tiny | other | truth against gray | tiny | truth
    assert two_models[0] / one_model[0] == pytest.approx(4 / 3, rel=0.02)
    assert two_models[1] == one_model[1]
    capsys.readouterr()

    # the same weights twice, with --model repeated, get distinct names
    assert (
        run_cli("--model", weights["tiny"], "--model", weights["tiny"], "--data", photo_folder, "--limit", 2)
        == 0
    )
    assert "tiny-2 - gray" in capsys.readouterr().out


def test_format_table_from_the_api(photo_folder):
    model = build_model("beta", width=0.125)
    results = evaluate.evaluate({"mine": model}, photo_folder, size=SIZE, limit=3, batch_size=2)
    table = evaluate.format_table(results)
    assert results["evaluated"] == 3 and "mine - gray" in table
    rows = evaluate.summary_rows(results)
    psnr_mean = rows[0]
    assert (psnr_mean["metric"], psnr_mean["stat"]) == ("psnr", "mean")
    assert psnr_mean["mine - gray"] == pytest.approx(psnr_mean["mine"] - psnr_mean["gray"])
    assert f"{psnr_mean['mine']:.2f}" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "missing.weights.h5"], "missing.weights.h5: weights file not found"),
        (["--size", "12"], "--size 12: use a whole number from 16 to 8192"),
        (["--limit", "0"], "--limit 0: use a whole number of at least 1"),
        (["--json", "."], "--json .: is a folder"),
    ],
)
def test_user_errors_are_one_line(photo_folder, weights, capsys, args, message):
    argv = ["evaluate", "--model", weights["tiny"], "--data", photo_folder, "--size", str(SIZE), *args]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_folder_without_usable_photos(tmp_path, weights, capsys):
    assert run_cli("--model", weights["tiny"], "--data", tmp_path) == 2
    assert "no images" in capsys.readouterr().err
    open(tmp_path / "empty.png", "wb").close()
    assert run_cli("--model", weights["tiny"], "--data", tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert (
        "none of the 1 images could be evaluated" in err and "empty.png" in err and len(err.splitlines()) == 1
    )


@pytest.mark.slow
def test_colors_are_predicted_at_the_models_training_size(photo_folder, tmp_path):
    """A model that knows its training size is evaluated as colorize runs it: colors at that
    size, upsampled; --work-size overrides it; L stays at full resolution either way."""
    from colornet.evaluate import colorize_crops, evaluate, load_crop
    from colornet.images import find_images
    from colornet.models import build_model
    from colornet.predict import load_colorizer

    model = build_model("beta", width=0.125)
    path = tmp_path / "sized.weights.h5"
    model.save_weights(path)
    save_config(path, "beta", {"width": 0.125}, size=16)
    loaded = load_colorizer(str(path))
    assert loaded.training_size == 16
    report = evaluate({"sized": loaded}, photo_folder, size=32, limit=4)
    assert report["work_sizes"] == {"sized": 16}
    assert evaluate({"sized": loaded}, photo_folder, size=32, limit=4, work_size=32)["work_sizes"] == {
        "sized": 32
    }
    crops = np.stack([load_crop(p, 32) for p in find_images(photo_folder)[:2]])
    small = colorize_crops(loaded, crops, work_size=16)
    full = colorize_crops(loaded, crops, work_size=32)
    assert small.shape == full.shape == crops.shape and not np.array_equal(small, full)
    np.testing.assert_array_equal(colorize_crops(loaded, crops), small)  # as colorize: the training size


@pytest.mark.slow
def test_evaluate_scores_exactly_what_colorize_writes(tmp_path):
    """One inference path: the image evaluate scores for a photo is, pixel for pixel, the PNG that
    `colorize` writes for it, out-of-gamut colors included (a model that predicts strong colors)."""
    from colornet.images import find_images, load_image
    from colornet.infer import colorize_files
    from colornet.metrics import psnr

    from conftest import bundled_photo

    def vivid(model):  # strong colors, many of them outside the sRGB gamut
        kernel, bias = model.get_layer("beta_ab").get_weights()
        model.get_layer("beta_ab").set_weights([kernel, bias + np.array([2.0, -2.0], np.float32)])

    path = save_tiny_beta(tmp_path / "vivid.weights.h5", edit=vivid)
    save_config(path, "beta", {"width": 0.125}, size=16)
    folder = tmp_path / "one"
    folder.mkdir()
    Image.fromarray(bundled_photo("coffee")[100:164, 200:264]).save(
        folder / "coffee.png"
    )  # 64 x 64: the crop
    report = evaluate.evaluate({"vivid": path}, folder, size=64)
    assert colorize_files(folder, tmp_path / "out", path).failed == []
    written = np.round(load_image(tmp_path / "out" / "coffee.png").rgb * 255).astype(np.uint8)
    crop = evaluate.load_crop(folder / "coffee.png", 64)
    scored = evaluate.colorize_crops(evaluate.load_models({"vivid": path})["vivid"], crop[None])[0]
    np.testing.assert_array_equal(scored, written)
    assert report["images"][0]["vivid"]["psnr"] == pytest.approx(psnr(written, crop))
    assert find_images(tmp_path / "out") == [str(tmp_path / "out" / "coffee.png")]
