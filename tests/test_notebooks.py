"""The Alpha and Beta notebooks run top to bottom in quick mode and produce what they promise, and run
again after a reader changes a setting."""

import json
import os
from pathlib import Path

import figure_audit
import numpy as np
import pytest
from PIL import Image

from colornet.color import rgb_to_lab
from colornet.images import find_images, load_image

from conftest import BUNDLED, NOTEBOOKS, RERUN, bundled_photo, make_photo_folder, notebook_text, run_notebook


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


def first_cell_as_python(path) -> str:
    """A notebook's first code cell as the Python that IPython runs (its `!` lines as calls)."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager

    nb = nbformat.read(path, as_version=4)
    return TransformerManager().transform_cell(next(c.source for c in nb.cells if c.cell_type == "code"))


def test_item27_quick_mode_is_a_setting_in_the_first_cell_of_every_notebook(monkeypatch, tmp_path, capsys):
    import glob
    import re

    import nbformat

    import colornet.notebook

    monkeypatch.setattr(colornet.notebook, "quiet_tensorflow", lambda: None)  # TensorFlow is not the point
    monkeypatch.setattr(colornet.notebook, "run_eagerly", lambda eager: None)  # nor how it runs
    monkeypatch.setenv("COLORNET_OUT", str(tmp_path / "out"))  # the folder the first cell makes
    paths = sorted(glob.glob(os.path.join(NOTEBOOKS, "*.ipynb")))
    assert len(paths) >= 10  # 00 to 09
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        setup = first_cell_as_python(path)
        assert re.search(r"^QUICK = None$", setup, re.MULTILINE), (
            f"{path}: no QUICK setting in the first cell"
        )
        assert "`QUICK`" in nb.cells[1].source, f"{path}: the setup's text does not say what QUICK does"
        # The setting wins; None leaves it to COLORNET_QUICK, which the tests set.
        for setting, variable, expected in (
            ("None", None, False),
            ("None", "1", True),
            ("True", None, True),
            ("False", "1", False),
        ):
            if variable is None:
                monkeypatch.delenv("COLORNET_QUICK", raising=False)
            else:
                monkeypatch.setenv("COLORNET_QUICK", variable)
            scope = {}
            exec(compile(setup.replace("QUICK = None", f"QUICK = {setting}", 1), path, "exec"), scope)
            assert scope["QUICK"] is expected, (path, setting, variable)
            said = capsys.readouterr().out.splitlines()
            assert said[-1] == ("quick mode" if expected else "full mode"), (path, said)


def overlapping_texts(fig) -> list:
    """Pairs of visible texts of `fig` (titles, labels, legends) whose drawn boxes overlap."""
    import itertools

    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]


def test_item26_column_titles_never_run_into_each_other():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colornet import plot

    photo = np.zeros((32, 32, 3))
    titles = ["gray", "U-Net L1 (stage 1)", "provided unet (stage 1, L1)", "provided unet-gan (stage 2, GAN)"]
    for size in (2.0, 2.5):
        fig = plot.show_strips([[photo] * 5] * 2, titles=[*titles, "truth"], size=size)
        fig.canvas.draw()
        assert not overlapping_texts(fig), size
        width = fig.get_window_extent().width
        assert all(
            0 <= ax.title.get_window_extent().x0 and ax.title.get_window_extent().x1 <= width
            for ax in fig.axes
        )
        plt.close(fig)


def test_item30_loss_plots_tick_whole_epochs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colornet import plot

    for epochs in (2, 3, 7):
        fig = plot.plot_history({"loss": list(np.linspace(1, 0.5, epochs)), "val_loss": [0.8] * epochs})
        ax = fig.axes[0]
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), (epochs, ticks)
        assert ax.get_xlabel() == "epoch"
        plt.close(fig)


@pytest.mark.slow
def test_item30_a_finished_run_says_which_setting_trains_more(tmp_path, capsys):
    from colornet.train import train

    make_photo_folder(tmp_path / "photos", n=4, size=24)
    settings = dict(data=str(tmp_path / "photos"), size=16, epochs=1, batch_size=4, steps_per_epoch=1)
    settings.update(model_options={"width": 0.125}, samples=1, precision="float32", jit_compile=False)
    settings.update(augment=False, verbose=0, out=str(tmp_path / "run"))  # one step: as cheap as a run gets
    train("beta", **settings)
    capsys.readouterr()
    train("beta", **settings)  # the same settings again, as a notebook cell run twice
    said = capsys.readouterr().out
    assert "already trained for 1 epochs" in said and "EPOCHS in the notebooks" in said
    assert "raise --epochs" not in said


def test_alpha_notebook_colors_a_photo_of_any_size(tmp_path):
    # An odd-sized photo (not a multiple of 8) swapped in, as the notebook tells readers to do.
    photo = bundled_photo("chelsea")[:299, :451]  # 299 x 451: neither side a multiple of 8
    Image.fromarray(photo).save(tmp_path / "odd.png")
    out = tmp_path / "out"
    figures = tmp_path / "figures.json"
    env = {"COLORNET_OUT": out, "COLORNET_PHOTO": tmp_path / "odd.png", **figure_audit.env(figures)}
    nb = run_notebook("01_alpha.ipynb", env)
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles and labels that never overlap, whole epochs
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


@pytest.mark.slow
def test_alpha_notebook_says_a_black_and_white_photo_has_no_color_to_learn(tmp_path):
    # The same notebook again, as a reader would: another photo, here a small black-and-white one.
    gray = np.asarray(Image.fromarray(bundled_photo("coffee")).convert("L").resize((96, 64)))
    Image.fromarray(gray).save(tmp_path / "gray.png")
    nb = run_notebook(
        "01_alpha.ipynb",
        {"COLORNET_OUT": tmp_path / "out", "COLORNET_PHOTO": tmp_path / "gray.png"},
        edits={"STAGES = [1, 10, 20, 40] if QUICK": "STAGES = [1, 10] if QUICK"},
    )
    text = notebook_text(nb)
    assert "This photo has no color" in text and "there is no color to learn" in text
    assert "The result is gray because the photo was" in text


@RERUN
def test_beta_notebook_trains_colorizes_evaluates_and_runs_again_with_other_settings(tmp_path, rerun):
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
    figures = tmp_path / "figures.json"
    nb = run_notebook("02_beta.ipynb", {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert "def build_beta(" in text  # the network's code is shown
    assert not figure_audit.reported(figures)  # whole epochs on the loss plot, titles that fit
    assert f"16 training photos; 6 held-out photos in {val_dir}" in text

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
    # And without data/Val: "Did it learn?" scores a tenth of the training photos, held out, never trained on.
    mine = tmp_path / "my_photos"
    make_photo_folder(mine, n=8, size=48, seed=3)
    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    env["COLORNET_VAL"] = tmp_path / "no_val"
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
    assert "14 training photos; 2 held-out photos (10% of" in text and "never trained on" in text
    assert "Training beta on 14 photos, validating on 2," in text
    scored = json.loads((out / "held_out.json").read_text())
    assert len(scored["held_out"]) == 2 and set(scored["scored"]) <= set(scored["held_out"])
    assert set(scored["held_out"]) < set(find_images(train_dir))
    second = json.loads((out / "run_32px_quick" / "state.json").read_text())
    assert second["size"] == 32 and len(second["history"]["loss"]) == 2
    assert json.loads((run / "state.json").read_text())["history"] == history
    if provided:
        tuned = json.loads((out / "finetune_my_photos_32px" / "state.json").read_text())
        assert tuned["epoch"] == 1 and tuned["init"].endswith("beta.weights.h5")
        assert "fine-tuned" in json.loads((out / "evaluation.json").read_text())
