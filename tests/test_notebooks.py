"""The Alpha and Beta notebooks run top to bottom in quick mode and produce what they promise."""

import json

import numpy as np
from PIL import Image

from colornet.color import rgb_to_lab
from colornet.images import load_image

from conftest import NOTEBOOKS, bundled_photo, make_photo_folder, run_notebook


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
    run_notebook("01_alpha.ipynb", {"COLORNET_OUT": out, "COLORNET_PHOTO": tmp_path / "odd.png"})

    result = load_image(out / "alpha_colorized.png").rgb
    assert result.shape == (299, 451, 3)
    l_result = rgb_to_lab(result).numpy()[..., 0]
    l_input = rgb_to_lab(photo / 255.0).numpy()[..., 0]
    assert np.abs(l_result - l_input).max() <= 1.0
    assert np.abs(rgb_to_lab(result).numpy()[..., 1:]).mean() > 1.0  # it has color
    log = json.loads((out / "alpha_loss.json").read_text())
    assert log["loss"][-1] < log["loss"][0]


def test_beta_notebook_trains_colorizes_and_evaluates(tmp_path):
    train_dir, val_dir, test_dir, out = (tmp_path / n for n in ("train", "val", "test", "out"))
    make_photo_folder(train_dir, n=16, size=64, seed=1)
    make_photo_folder(val_dir, n=6, size=64, seed=2)
    run_notebook(
        "02_beta.ipynb",
        {
            "COLORNET_OUT": out,
            "COLORNET_TRAIN": train_dir,
            "COLORNET_VAL": val_dir,
            "COLORNET_TEST": test_dir,
        },
    )
    history = json.loads((out / "run" / "state.json").read_text())["history"]
    assert len(history["loss"]) == 2 and len(history["val_loss"]) == 2
    assert (out / "run" / "best.weights.h5").exists()
    assert len(list((out / "run" / "samples").glob("epoch_*.png"))) == 2
    assert len(list(test_dir.glob("*.*"))) >= 6  # the test folder was filled
    summary = json.loads((out / "evaluation.json").read_text())
    assert {"gray", "this notebook"} <= set(summary)
    for column in ("gray", "this notebook"):
        assert 5 < summary[column]["psnr"]["mean"] < 60
    assert summary["gray"]["colorfulness"]["mean"] < 1  # the baseline has no color
