"""The vivid colors notebook runs top to bottom in quick mode and produces what it promises: the mean of the
colors at one lightness is duller than they are, the bins, the prior, a soft-encoding that sums to 1, weights of
expected value 1, a zhang run trained with the notebook's prior, the temperature sweep and the table against
Beta; and it runs again after a reader changes a setting."""

import json
import math

import figure_audit

from conftest import RERUN, make_photo_folder, notebook_text, provided_weights, run_notebook


@RERUN
def test_vivid_colors_notebook_trains_sweeps_the_temperature_and_runs_again(tmp_path, rerun):
    train_dir, val_dir, out = (tmp_path / n for n in ("train", "val", "out"))
    make_photo_folder(train_dir, n=16, size=64, seed=1)
    make_photo_folder(val_dir, n=6, size=64, seed=2)
    env = {"COLORNET_OUT": out, "COLORNET_TRAIN": train_dir, "COLORNET_VAL": val_dir}
    figures = tmp_path / "figures.json"
    nb = run_notebook("06_vivid_colors.ipynb", {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles and labels that never overlap, whole epochs
    assert "261 bins of 10 x 10" in text and "WARNING:tensorflow" not in text

    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["size"] == 32 and summary["bins"] == 261
    assert summary["chroma_of_mean"] < summary["mean_chroma"]  # the mean is duller than the colors
    assert math.isclose(summary["prior_sum"], 1.0, abs_tol=1e-9)
    assert math.isclose(summary["expected_weight"], 1.0, abs_tol=1e-4)
    assert math.isclose(summary["soft_encoding_sum"], 1.0, abs_tol=1e-5)

    run = out / "zhang_32px_w0.0625_quick"
    assert summary["run"] == str(run)
    best = json.loads((run / "best.json").read_text())
    assert best["model"] == "zhang" and best["prior"] == "prior.npy"
    state = json.loads((run / "state.json").read_text())
    assert state["prior"] == str(out / "prior.npy") and len(state["history"]["val_loss"]) == 2

    sweep = json.loads((out / "temperature.json").read_text())
    assert [v["temperature"] for v in sweep.values()] == [1.0, 0.6, 0.38, 0.2, 0.01]
    assert all(math.isfinite(v["psnr"]) and v["colorfulness"] >= 0 for v in sweep.values())
    # A quick run's temperatures all give the same tint: the sweep shows the provided zhang's, and says so.
    if provided_weights("zhang"):
        assert summary["decoded_by"] == "the provided zhang" and "decoded with the provided zhang" in text
        colorfulness = [v["colorfulness"] for v in sweep.values()]
        assert max(colorfulness[1:]) - colorfulness[0] > 2, colorfulness  # more vivid than the mean
    assert "held-out photos in " + str(val_dir) in text
    undo = json.loads((out / "undo.json").read_text())
    assert [v["undo_rebalancing"] for v in undo.values()] == [0.0, 0.2, 0.5, 1.0]
    # taking the tilt toward rare colors back leaves the common, dull ones: less colorful
    assert undo["paper (s = 0)"]["colorfulness"] > undo["s = 1"]["colorfulness"]
    evaluation = json.loads((out / "evaluation.json").read_text())["summary"]
    provided = {f"provided {name}" for name in provided_weights("beta", "zhang")}
    assert set(summary["compared"]) == {"zhang (T 0.38)"} | provided
    assert set(evaluation) - {"gray", "truth"} == set(summary["compared"])
    assert "ab_auc_rebalanced" in evaluation["zhang (T 0.38)"]

    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    # Again with a wider network, and without data/Val: a new run in a folder named by the settings, the first
    # as it was; a tenth of the training photos held out, never trained on, instead of the training photos.
    env["COLORNET_VAL"] = tmp_path / "no_val"
    nb = run_notebook(
        "06_vivid_colors.ipynb", env, edits={"WIDTH = 0.0625 if QUICK": "WIDTH = 0.125 if QUICK"}
    )
    text = notebook_text(nb)
    assert "Resuming" not in text
    assert "14 training photos; 2 held-out photos (10% of" in text and "held-out photos in" not in text
    assert "Training zhang on 14 photos, validating on 2," in text
    assert json.loads((out / "summary.json").read_text())["width"] == 0.125
    wide = out / "zhang_32px_w0.125_quick"
    assert json.loads((wide / "best.json").read_text())["options"]["width"] == 0.125
    assert json.loads((run / "state.json").read_text())["history"] == state["history"]
