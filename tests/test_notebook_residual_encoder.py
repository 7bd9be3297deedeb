"""The residual encoder notebook runs top to bottom in quick mode and produces what it promises: VGG16's four
taps at full, 1/2, 1/4 and 1/8 size, YUV that comes back to Lab, a blurred distance that grows with a shift
more slowly than the plain one, both variants trained, and the table against the provided models; and it runs
again after a reader changes a setting."""

import json

import figure_audit

from conftest import RERUN, make_photo_folder, notebook_text, provided_weights, run_notebook


@RERUN
def test_residual_encoder_notebook_trains_both_variants_and_runs_again(tmp_path, rerun):
    train_dir, val_dir, out = (tmp_path / n for n in ("train", "val", "out"))
    make_photo_folder(train_dir, n=16, size=64, seed=1)
    make_photo_folder(val_dir, n=6, size=64, seed=2)
    env = {"COLORNET_OUT": out, "COLORNET_TRAIN": train_dir, "COLORNET_VAL": val_dir}
    figures = tmp_path / "figures.json"
    nb = run_notebook("07_residual_encoder.ipynb", {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles and labels that never overlap, whole epochs
    assert "def build_dahl(" in text and "WARNING:tensorflow" not in text
    assert "VGG16 encoder trained from scratch (no ImageNet weights), so it is trainable" in text

    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["size"] == 32 and summary["width"] == 0.125
    assert summary["taps"] == {
        "block1_conv2": [128, 128, 64],
        "block2_conv2": [64, 64, 128],
        "block3_conv3": [32, 32, 256],
        "block4_conv3": [16, 16, 512],
    }
    assert summary["yuv_error"] < 1.0
    shifted, plain = summary["shifted"], summary["plain"]
    assert shifted["0"] == 0.0 and shifted["1"] < shifted["2"] < shifted["4"] < shifted["8"]
    assert shifted["8"] < plain["8"]  # the blur forgives part of a shift

    runs = {variant: out / f"dahl_{variant}_32px_w0.125_quick" for variant in ("residual", "hypercolumn")}
    assert summary["runs"] == {variant: str(run) for variant, run in runs.items()}
    for variant, run in runs.items():
        best = json.loads((run / "best.json").read_text())
        assert best["model"] == "dahl" and best["options"]["variant"] == variant
        assert best["options"]["train_encoder"] is True  # no ImageNet weights: the encoder learns
        assert len(json.loads((run / "state.json").read_text())["history"]["val_loss"]) == 2

    evaluation = json.loads((out / "evaluation.json").read_text())["summary"]
    provided = provided_weights("beta", "dahl")  # quick mode's
    assert set(summary["compared"]) == {"dahl residual", "dahl hypercolumn"} | {
        f"provided {n}" for n in provided
    }
    assert set(evaluation) - {"gray", "truth"} == set(summary["compared"])
    # Two steps from random weights color noise: the strips show the provided weights instead, and say so.
    assert summary["shown"] == ["gray"] + [f"provided {n}" for n in ("dahl", "beta") if n in provided]
    assert "quick mode: this notebook's runs have taken two steps and color noise" in text
    assert "held-out photos in " + str(val_dir) in text

    # Again with a wider network, and without data/Val: new runs in folders named by the settings, the first
    # as they were; a tenth of the training photos held out, never trained on, instead of the training photos.
    state = json.loads((runs["residual"] / "state.json").read_text())
    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    env["COLORNET_VAL"] = tmp_path / "no_val"
    nb = run_notebook(
        "07_residual_encoder.ipynb", env, edits={"WIDTH = 0.125 if QUICK": "WIDTH = 0.25 if QUICK"}
    )
    text = notebook_text(nb)
    assert "Resuming" not in text
    assert "14 training photos; 2 held-out photos (10% of" in text and "held-out photos in" not in text
    assert "Training dahl on 14 photos, validating on 2," in text
    assert json.loads((out / "summary.json").read_text())["width"] == 0.25
    wide = out / "dahl_residual_32px_w0.25_quick"
    assert json.loads((wide / "best.json").read_text())["options"]["width"] == 0.25
    assert json.loads((runs["residual"] / "state.json").read_text())["history"] == state["history"]
