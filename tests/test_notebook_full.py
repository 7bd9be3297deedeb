"""The Full notebook runs top to bottom in quick mode, with random Inception weights, and produces what it promises."""

import json

import figure_audit
import numpy as np
from PIL import Image

from colornet.color import rgb_to_lab
from colornet.images import find_images, load_image

from conftest import RERUN, make_photo_folder, notebook_text, run_notebook


@RERUN
def test_full_notebook_trains_compares_colorizes_and_runs_again_with_another_size(tmp_path, rerun):
    train_dir, val_dir, test_dir, out = (tmp_path / n for n in ("train", "val", "test", "out"))
    make_photo_folder(train_dir, n=10, size=64, seed=1)
    make_photo_folder(val_dir, n=4, size=64, seed=2)
    env = {
        "COLORNET_OUT": out,
        "COLORNET_TRAIN": train_dir,
        "COLORNET_VAL": val_dir,
        "COLORNET_TEST": test_dir,
        "COLORNET_EMBED_WEIGHTS": "none",  # no 215 MB download in the tests, even with internet
    }
    figures = tmp_path / "figures.json"
    nb = run_notebook("03_full.ipynb", {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles and labels that never overlap, whole epochs
    assert text.count("RANDOM weights") == 1 and "UserWarning" not in text  # it says so, once
    assert "L1 distance" not in text  # distances between random embeddings would mean nothing
    assert "def build_fusion(" in text  # the network's code is shown
    assert f"4 photos from {val_dir} (a list of 4) at 64 px" in text  # not a Python list
    assert f"held-out photos used from {val_dir}" in text

    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["embed_weights"] == "random"

    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == summary["epochs"] == 2 and len(history["val_loss"]) == 2
    assert all(np.isfinite(history["loss"]))
    run = out / "run_64px_random_quick"  # named by its settings
    assert (run / "best.weights.h5").exists() and (run / "last.keras").exists()
    config = json.loads((run / "best.json").read_text())
    assert config["model"] == "full"
    # The run used the notebook's own embedder: one cache folder holds the photos the notebook
    # embedded (8) and those the run trained on (8) and held out (4), some of them the same.
    counts = [len(list(folder.glob("*.npy"))) for folder in (run / "embeddings").iterdir()]
    assert len(counts) == 1 and 8 + 4 <= counts[0] <= 8 + 8 + 4

    compare = json.loads((out / "compare.json").read_text())
    assert "full" in compare and "gray" in compare
    assert ("beta" in compare) == ("beta" in summary["compared"])

    # Every test photo colorized at its own size, with its own lightness.
    inputs = find_images(test_dir)
    assert len(inputs) >= 6 and summary["test_colorized"] == len(inputs)
    for path in inputs:
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        result = load_image(out / "test_colorized" / f"{stem}.png").rgb
        with Image.open(path) as im:
            assert result.shape[:2] == (im.height, im.width)
        source = load_image(path).rgb
        lab = rgb_to_lab(result).numpy()
        assert np.abs(lab[..., 0] - rgb_to_lab(source).numpy()[..., 0]).mean() < 1.0
    assert len(list((out / "test_colorized").glob("*_compare.png"))) == len(inputs)

    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    # Again with another SIZE, as the notebook suggests, and without data/Val: a new run in its own folder,
    # with its own cache, the first run as it was; a tenth of the training photos held out, never trained on.
    env["COLORNET_VAL"] = tmp_path / "no_val"
    nb = run_notebook("03_full.ipynb", env, edits={"SIZE = 64 if QUICK": "SIZE = 32 if QUICK"})
    text = notebook_text(nb)
    assert "Resuming" not in text
    assert "9 training photos; 1 held-out photos used (10% of" in text and "optimistic" not in text
    assert "Training full on 8 photos, validating on 1," in text
    second = out / "run_32px_random_quick"
    assert json.loads((second / "best.json").read_text())["size"] == 32
    assert json.loads((out / "summary.json").read_text())["size"] == 32
    assert len(json.loads((run / "state.json").read_text())["history"]["loss"]) == 2
