"""The U-Net and PatchGAN notebook runs top to bottom in quick mode and produces what it promises: the
U-Net's shapes, the 70 px patch one discriminator output judges, both training stages with the GAN's
losses, the comparison with Beta and a YCrCb U-Net; and runs again after a reader changes a setting."""

import json
import math
import os
import re

import figure_audit
from PIL import Image

from conftest import RERUN, make_photo_folder, notebook_text, provided_weights, run_notebook


@RERUN
def test_unet_gan_notebook_trains_both_stages_compares_and_runs_again(tmp_path, rerun):
    train_dir, val_dir, test_dir, out = (tmp_path / n for n in ("train", "val", "test", "out"))
    make_photo_folder(train_dir, n=16, size=64, seed=1)
    make_photo_folder(val_dir, n=6, size=64, seed=2)
    env = {
        "COLORNET_OUT": out,
        "COLORNET_TRAIN": train_dir,
        "COLORNET_VAL": val_dir,
        "COLORNET_TEST": test_dir,
    }
    figures = tmp_path / "figures.json"
    nb = run_notebook("05_unet_gan.ipynb", {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles and labels that never overlap, whole epochs
    assert "def build_unet(" in text and "def build_patchgan(" in text  # the networks' code is shown
    assert "keras.layers.LeakyReLU() negative slope: 0.3 (pix2pix: 0.2)" in text
    assert "WARNING:tensorflow" not in text

    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["size"] == 32 and summary["depth"] == 5  # 32 px: 1x1 after 5 halvings
    assert summary["epochs"] == {"l1": 2, "gan": 2, "ycrcb": 2}
    # The shapes shown are the network's: halved down to 1x1, each skip doubling the decoder's channels.
    assert re.search(r"encoder unet_down5 +\(1, 1, 1, 32\)", text)  # width 1/16 of 512 filters
    assert re.search(
        r"decoder unet_up4 +\(1, 16, 16, 4\) +unet_skip4 = unet_up4 \+ unet_down1 +\(1, 16, 16, 8\)", text
    )

    # The patch drawn is the 70 x 70 window of one output, and the gradient stays inside it.
    top, left, bottom, right = summary["patch"]["window"]
    assert bottom - top == right - left == 70
    rows, cols = summary["gradient"]["rows"], summary["gradient"]["cols"]
    assert top <= rows[0] <= rows[1] < bottom and left <= cols[0] <= cols[1] < right
    assert rows[1] - rows[0] + 1 > 60  # it reaches across most of the window
    assert "the patch is 70 x 70 px" in text and "inside the patch: True" in text
    with Image.open(out / "patch.png") as patch:
        assert patch.width > patch.height > 200
    assert summary["skips_zeroed_change"] > 0  # the skips carry something

    # Stage 1 (L1), then stage 2 (GAN) from stage 1's best weights, with both networks' losses per epoch.
    l1 = json.loads((out / "history_l1.json").read_text())
    assert len(l1["loss"]) == len(l1["val_loss"]) == 2
    gan = json.loads((out / "history_gan.json").read_text())
    for key in ("d_loss", "g_gan", "g_loss", "loss", "val_loss"):
        assert len(gan[key]) == 2 and all(math.isfinite(v) for v in gan[key]), key
    for g_loss, g_gan, l1_term in zip(gan["g_loss"], gan["g_gan"], gan["loss"]):
        assert math.isclose(g_loss, g_gan + 100 * l1_term, rel_tol=1e-4)  # lambda = 100
    gan_run = out / "unet-gan_32px_w0.0625_quick_from2"
    assert summary["runs"]["gan"] == str(gan_run)
    state = json.loads((gan_run / "state.json").read_text())
    assert state["init"] == os.path.join(summary["runs"]["l1"], "best.weights.h5")
    best = json.loads((gan_run / "best.json").read_text())
    assert best["model"] == "unet-gan" and best["options"]["l1_weight"] == 100.0
    assert best["options"]["depth"] == 5 and best["size"] == 32

    # The table: gray, Beta when its weights exist, both stages, the provided U-Nets when they exist.
    evaluation = json.loads((out / "evaluation.json").read_text())["summary"]
    assert {"gray", "U-Net L1", "U-Net GAN"} <= set(evaluation)
    assert set(evaluation) - {"gray", "truth"} == set(summary["compared"])
    for name in ("beta", "unet", "unet-gan"):
        assert (f"provided {name}" in summary["compared"]) == bool(provided_weights(name)), name
    for column in ("U-Net L1", "U-Net GAN"):
        assert 5 < evaluation[column]["psnr"]["mean"] < 60
        assert {"ab_auc", "colorfulness"} <= set(evaluation[column])
    with Image.open(out / "stages.png") as stages:
        assert stages.width > 400  # gray | stage 1 | stage 2 | truth
    # Quick U-Nets color almost nothing and the quick discriminator says 0.50 everywhere: the provided weights
    # show the two stages, and the notebook says why no discriminator map is drawn.
    provided_stages = ["provided unet (stage 1)", "provided unet-gan (stage 2)"]
    shows_provided = provided_weights("unet", "unet-gan") == {"unet", "unet-gan"}
    assert (summary["stage_columns"][-2:] == provided_stages) == shows_provided
    assert "no discriminator weights are provided; its map shows after a full run" in text
    assert "held-out photos in " + str(val_dir) in text  # data/Val is used when it has photos

    # The YCrCb U-Net wrote weights that say so, and was scored next to the Lab one.
    ycrcb_run = out / "unet-ycrcb_32px_w0.0625_quick"
    config = json.loads((ycrcb_run / "best.json").read_text())
    assert config["model"] == "unet" and config["options"]["color_space"] == "ycrcb"
    assert (ycrcb_run / "best.weights.h5").stat().st_size > 0
    spaces = json.loads((out / "evaluation_ycrcb.json").read_text())["summary"]
    assert {"gray", "Lab", "YCrCb"} <= set(spaces)

    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    # Again with a wider network, as a reader changes a setting, and without data/Val: new runs in folders
    # named by the settings, the first runs stay as they were; a tenth of the training photos held out,
    # never trained on, instead of scores on the training photos.
    env["COLORNET_VAL"] = tmp_path / "no_val"
    nb = run_notebook("05_unet_gan.ipynb", env, edits={"WIDTH = 0.0625 if QUICK": "WIDTH = 0.125 if QUICK"})
    text = notebook_text(nb)
    assert "Resuming" not in text
    held_out = re.search(
        r"(\d+) training photos; (\d+) held-out photos \(10% of .*, never trained on\)", text
    )
    assert held_out and held_out[1] == "14" and held_out[2] == "2", text[:2000]
    assert f"Training unet on 14 photos, validating on {held_out[2]}," in text
    assert "held-out photos in" not in text
    second = json.loads((out / "summary.json").read_text())
    assert second["width"] == 0.125
    wide = out / "unet-gan_32px_w0.125_quick_from2"
    assert json.loads((wide / "best.json").read_text())["options"]["width"] == 0.125
    assert (
        json.loads((out / "unet-ycrcb_32px_w0.125_quick" / "best.json").read_text())["options"]["width"]
        == 0.125
    )
    assert json.loads((gan_run / "state.json").read_text())["history"] == state["history"]
