"""The Alpha and Beta notebooks run top to bottom in quick mode and produce what they promise, and run
again after a reader changes a setting."""

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from colornet.color import rgb_to_lab
from colornet.images import load_image

from conftest import BUNDLED, NOTEBOOKS, bundled_photo, make_photo_folder, notebook_text, run_notebook


def test_committed_notebooks_have_no_outputs():
    import glob
    import os

    import nbformat

    paths = glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))
    assert len(paths) >= 3
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path


def test_alpha_notebook_colors_a_photo_of_any_size(tmp_path):
    # An odd-sized photo (not a multiple of 8) swapped in, as the notebook tells readers to do.
    photo = bundled_photo("chelsea")[:299, :451]  # 299 x 451: neither side a multiple of 8
    Image.fromarray(photo).save(tmp_path / "odd.png")
    out = tmp_path / "out"
    nb = run_notebook("01_alpha.ipynb", {"COLORNET_OUT": out, "COLORNET_PHOTO": tmp_path / "odd.png"})
    text = notebook_text(nb)
    assert "the same network as colornet.models.alpha.build_alpha: True" in text  # the network written out
    assert "no color to learn" not in text

    result = load_image(out / "alpha_colorized.png").rgb
    assert result.shape == (299, 451, 3)
    l_result = rgb_to_lab(result).numpy()[..., 0]
    l_input = rgb_to_lab(photo / 255.0).numpy()[..., 0]
    assert np.abs(l_result - l_input).max() <= 1.0
    assert np.abs(rgb_to_lab(result).numpy()[..., 1:]).mean() > 1.0  # it has color
    log = json.loads((out / "alpha_loss.json").read_text())
    assert log["loss"][-1] < log["loss"][0]


def test_alpha_notebook_says_a_black_and_white_photo_has_no_color_to_learn(tmp_path):
    # The same notebook again, as a reader would: another photo, here a small black-and-white one.
    gray = np.asarray(Image.fromarray(bundled_photo("coffee")).convert("L").resize((96, 64)))
    Image.fromarray(gray).save(tmp_path / "gray.png")
    nb = run_notebook(
        "01_alpha.ipynb",
        {"COLORNET_OUT": tmp_path / "out", "COLORNET_PHOTO": tmp_path / "gray.png"},
        edits={"STAGES = [1, 10, 50, 150] if QUICK": "STAGES = [1, 10] if QUICK"},
    )
    text = notebook_text(nb)
    assert "This photo has no color" in text and "there is no color to learn" in text
    assert "The result is gray because the photo was" in text


def test_beta_notebook_trains_colorizes_evaluates_and_runs_again_with_other_settings(tmp_path):
    train_dir, val_dir, test_dir, out = (tmp_path / n for n in ("train", "val", "test", "out"))
    make_photo_folder(train_dir, n=16, size=64, seed=1)
    make_photo_folder(val_dir, n=6, size=64, seed=2)
    env = {
        "COLORNET_OUT": out,
        "COLORNET_TRAIN": train_dir,
        "COLORNET_VAL": val_dir,
        "COLORNET_TEST": test_dir,
    }
    provided = os.path.exists(os.path.join(os.path.dirname(NOTEBOOKS), "weights", "beta.weights.h5"))
    nb = run_notebook("02_beta.ipynb", env)
    assert "def build_beta(" in notebook_text(nb)  # the network's code is shown

    run = out / "run_64px_quick"
    history = json.loads((run / "state.json").read_text())["history"]
    assert len(history["loss"]) == 2 and len(history["val_loss"]) == 2
    assert (run / "best.weights.h5").exists()
    assert len(list((run / "samples").glob("epoch_*.png"))) == 2
    assert len(list(test_dir.glob("*.*"))) >= 6  # the test folder was filled
    # The "new photos" are sample photos the training crops were not cut from.
    new = [Path(p).stem for p in json.loads((out / "new_photos.json").read_text())]
    assert new and not set(new) & set(BUNDLED)
    summary = json.loads((out / "evaluation.json").read_text())
    expected = {"gray", "this notebook"} | ({"provided beta", "fine-tuned"} if provided else set())
    assert expected <= set(summary)
    for column in expected:
        assert 5 < summary[column]["psnr"]["mean"] < 60
    assert summary["gray"]["colorfulness"]["mean"] < 1  # the baseline has no color

    # Run again after changing the settings, as the notebook suggests: another SIZE (cheaper here) and
    # another folder to fine-tune on. Both runs start fresh in their own folders; the first stays as it was.
    mine = tmp_path / "my_photos"
    make_photo_folder(mine, n=8, size=48, seed=3)
    nb = run_notebook(
        "02_beta.ipynb",
        env,
        edits={
            "SIZE = 64 if QUICK": "SIZE = 32 if QUICK",
            "MY_PHOTOS = TRAIN_DIR": f"MY_PHOTOS = Path({str(mine)!r})",
        },
    )
    text = notebook_text(nb)
    assert "Resuming" not in text and "--init is ignored" not in text
    second = json.loads((out / "run_32px_quick" / "state.json").read_text())
    assert second["size"] == 32 and len(second["history"]["loss"]) == 2
    assert json.loads((run / "state.json").read_text())["history"] == history
    if provided:
        tuned = json.loads((out / "finetune_my_photos_32px" / "state.json").read_text())
        assert tuned["epoch"] == 1 and tuned["init"].endswith("beta.weights.h5")
        assert "fine-tuned" in json.loads((out / "evaluation.json").read_text())
