"""The Global and local notebook runs top to bottom in quick mode on three scene folders and produces
what it promises: both losses, scene classes from the folders, a style grid and the comparison."""

import json
import math
import os
import re

import figure_audit
import numpy as np
from PIL import Image

from conftest import NOTEBOOKS, RERUN, bundled_photo, provided_weights, run_notebook

CLASSES = {"forest": "astronaut", "sea": "chelsea", "street": "coffee"}  # class folder -> source photo


def make_scene_folder(root, per_class: int, seed: int) -> None:
    """`root/<class>/<i>.png`: `per_class` crops of 48 to 64 px of a different bundled photo per class."""
    rng = np.random.default_rng(seed)
    for name, source in CLASSES.items():
        photo = bundled_photo(source)
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            h, w = (int(v) for v in rng.integers(48, 65, size=2))
            top = int(rng.integers(0, photo.shape[0] - 2 * h))
            left = int(rng.integers(0, photo.shape[1] - 2 * w))
            crop = Image.fromarray(photo[top : top + 2 * h, left : left + 2 * w]).resize((w, h))
            crop.save(root / name / f"{i}.png")


def stream_text(nb) -> str:
    """What the cells print, each cell's pieces joined (one print can arrive in pieces)."""
    return "\n".join(
        "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
        for c in nb.cells
        if c.cell_type == "code"
    )


@RERUN
def test_global_local_notebook_trains_classes_styles_compares_and_runs_again(tmp_path, rerun):
    train_dir, val_dir, test_dir, out = (tmp_path / n for n in ("train", "val", "test", "out"))
    make_scene_folder(train_dir, per_class=6, seed=1)
    make_scene_folder(val_dir, per_class=2, seed=2)
    env = {
        "COLORNET_OUT": out,
        "COLORNET_TRAIN": train_dir,
        "COLORNET_VAL": val_dir,
        "COLORNET_TEST": test_dir,
    }
    figures = tmp_path / "figures.json"
    nb = run_notebook("04_global_local.ipynb", {**env, **figure_audit.env(figures)})
    text = stream_text(nb)
    assert not figure_audit.reported(figures)  # no untitled subplot, no overlapping titles, whole epochs
    assert "classes: forest, sea, street\n" in text  # not a Python list
    assert f"6 held-out photos used from {val_dir}" in text
    # What the notebook shows about the network holds for the network it built.
    assert "iizuka_low called on the output of iizuka_l\n" in text
    assert "iizuka_low called on the output of iizuka_global_resize" in text
    assert "every position of the repeat holds the global vector: True" in text
    # A pixel sees a window through Beta and the local path, and the whole photo through the global path
    # (with batch norm in inference mode: in training mode its batch statistics would reach everywhere).
    beta = re.search(r"Beta's center pixel sees a (\d+) x \d+ window of the (\d+) px photo", text)
    local = re.search(r"local path: a window (\d+) px high of the (\d+) px photo", text)
    assert beta and local and int(beta[1]) < int(beta[2]) and int(local[1]) < int(local[2])
    assert int(re.search(r"global path: (\d+)% of the photo's pixels", text)[1]) >= 90

    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["classes"] == ["forest", "sea", "street"]
    assert summary["epochs"] == 2 and summary["style_columns"] == 3

    history = json.loads((out / "history.json").read_text())
    for key in ("ab_loss", "class_loss", "val_ab_loss", "val_class_loss", "loss"):
        assert len(history[key]) == 2 and all(math.isfinite(v) for v in history[key]), key
    run = out / f"run_{summary['size']}px_w{summary['width']}_g{summary['global_size']}"
    config = json.loads((run / "best.json").read_text())
    assert config["model"] == "iizuka" and config["classes"] == summary["classes"]
    assert config["options"]["n_classes"] == 3

    evaluation = json.loads((out / "evaluation.json").read_text())
    assert {"gray", "this notebook"} <= set(evaluation["summary"])
    assert 5 < evaluation["summary"]["this notebook"]["psnr"]["mean"] < 60
    scene = evaluation["scene_accuracy"]["this notebook"]
    assert scene["photos"] == 6 and 0 <= scene["accuracy"] <= 1
    assert set(evaluation["summary"]) - {"gray", "truth"} == set(summary["compared"])
    beta_weights = os.path.join(os.path.dirname(NOTEBOOKS), "weights", "beta.weights.h5")
    assert ("provided beta" in summary["compared"]) == os.path.exists(beta_weights)
    assert ("provided iizuka" in summary["compared"]) == (summary["style_model"] == "provided iizuka")

    with Image.open(out / "style_grid.png") as grid:
        assert grid.width > grid.height > 200  # 1 + 2 rows, 2 + 3 columns
    if provided_weights("iizuka"):  # style photos it takes for three scenes: columns that differ
        assert len(set(summary["style_scenes"].values())) == 3, summary["style_scenes"]
        assert max(summary["style_change"].values()) > 3, summary["style_change"]
        assert "lawn: seen as forest" in text
    assert len(list(test_dir.glob("*.jpg"))) >= 6  # the test folder was filled

    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    # Again with a narrower network, as a reader changes a setting, and without data/Val: a new run in a
    # folder named by the settings, the first run as it was; a tenth of the training photos held out, never
    # trained on, instead of the training photos.
    env["COLORNET_VAL"] = tmp_path / "no_val"
    nb = run_notebook(
        "04_global_local.ipynb", env, edits={"WIDTH = 0.125 if QUICK": "WIDTH = 0.0625 if QUICK"}
    )
    text = stream_text(nb)
    assert "Resuming" not in text
    assert "11 training photos; 1 held-out photos used (10% of them, never trained on)" in text
    assert "Training iizuka on 11 photos, validating on 1," in text
    second = json.loads((out / "summary.json").read_text())
    assert second["width"] == 0.0625
    narrow = out / f"run_{second['size']}px_w0.0625_g{second['global_size']}"
    assert json.loads((narrow / "best.json").read_text())["options"]["width"] == 0.0625
    assert json.loads((run / "state.json").read_text())["history"]["loss"] == history["loss"]
