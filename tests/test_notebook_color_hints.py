"""The color hints notebook runs top to bottom in quick mode and produces what it promises: recolorings with one
gray, simulated hints with the share of photos without any, a `features --hints` run started from the default
model whose hint branches left zero, the portrait with 0, 1, 3 and 10 hints, one hint on the motorcycle's paint,
the PSNR-by-hints table with one row per count, and the hints files the command line reads; and it runs again
after a reader changes a setting."""

import json
import math
import re

import figure_audit

from conftest import RERUN, make_photo_folder, notebook_text, provided_weights, run_notebook

HINT_COUNTS = [0, 1, 2, 5, 10, 20, 50]
ROW = re.compile(r"^\s*(\d+) hints? +(-?\d+\.\d+) dB \( *([+-]\d+\.\d+) dB\)", re.MULTILINE)


@RERUN
def test_color_hints_notebook_trains_the_hint_channels_scores_each_count_and_runs_again(tmp_path, rerun):
    train_dir, val_dir, out = (tmp_path / n for n in ("train", "val", "out"))
    make_photo_folder(train_dir, n=16, size=64, seed=1)
    make_photo_folder(val_dir, n=4, size=64, seed=2)
    env = {"COLORNET_OUT": out, "COLORNET_TRAIN": train_dir, "COLORNET_VAL": val_dir}
    figures = tmp_path / "figures.json"
    nb = run_notebook("09_color_hints.ipynb", {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles and labels that never overlap, whole epochs
    assert "WARNING:tensorflow" not in text
    assert f"16 training photos; 4 held-out photos in {val_dir}" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["size"] == 32 and summary["epochs"] == 1

    # 1. The recolorings keep the photo's lightness: one gray, several colorings.
    assert summary["lightness_spread"] < 1.0

    # 2. Simulated hints: the share of photos without any is what the geometric and the none-share give.
    share = summary["no_hint_share"]
    assert 0.2 < share["expected"] < 0.6 and abs(share["simulated"] - share["expected"]) < 0.05

    # 3. The run started from the default model's weights, took hints, and its hint branches left zero.
    assert "its hint branches start at zero" in text
    run = out / "features-hints_32px_quick"
    assert summary["run"] == str(run)
    best = json.loads((run / "best.json").read_text())
    assert (
        best["model"] == "features" and best["options"]["hints"] is True and best["options"]["width"] == 1.0
    )
    state = json.loads((run / "state.json").read_text())
    assert len(state["history"]["val_loss"]) == 1
    assert state["init"].endswith("features.weights.h5")
    assert summary["hint_branches"] == 4 and summary["hint_branch_weights"] > 0
    assert summary["hint_branch_largest"] > 0  # trained: no longer the zeros they started at
    assert summary["run_change"] > 0  # so a hint reaches this run's colors

    # 4. The portrait with 0, 1, 3 and 10 hints, each scored; the figure has those panels.
    provided = "features-hints" in provided_weights("features-hints")
    assert summary["colorized_by"] == (
        "the provided features-hints model" if provided else "this notebook's run"
    )
    assert len(summary["hints"]) == 10 and all(
        re.fullmatch(r"#[0-9a-f]{6}", c) for _, _, c in summary["hints"]
    )
    assert list(summary["psnr_by_hints"]) == ["0", "1", "3", "10"]
    assert all(math.isfinite(v) for v in summary["psnr_by_hints"].values())
    panels = summary["panels"]
    assert [p.split(",")[0] for p in panels[:4]] == ["0 hints", "1 hint", "3 hints", "10 hints"]
    assert panels[4] == "original" and (out / "hints_0_1_3_10.png").stat().st_size > 0

    # 5. One hint on the paint: how far the colors moved inside it, around it and beyond.
    change = summary["object_change"]
    assert list(change) == ["inside the part", "within 10 px of it", "farther away"]
    assert all(math.isfinite(v) and v >= 0 for v in change.values())

    # 6. The PSNR-by-hints table: one row per count, in order, each against no hints.
    rows = ROW.findall(text)
    assert [int(n) for n, _, _ in rows] == HINT_COUNTS
    assert float(rows[0][2]) == 0.0
    curve = json.loads((out / "hints_curve.json").read_text())
    assert curve["hints"] == HINT_COUNTS and len(curve["psnr"]) == 1  # quick mode: one model
    (values,) = curve["psnr"].values()
    assert [round(v, 2) for v in values] == [float(p) for _, p, _ in rows]
    assert "3 photos from" in text  # VAL_LIMIT in quick mode

    # 7. The files `--hints` reads: three points as JSON, a transparent scribble with two strokes; the commands.
    assert json.loads((out / "hints.json").read_text()) == [
        {"x": x, "y": y, "color": c} for x, y, c in summary["hints"][:3]
    ]
    assert summary["scribble_pixels"] > 0 and (out / "scribbles.png").exists()
    assert f"python -m colornet colorize {out / 'portrait.png'} --hints {out / 'hints.json'}" in text

    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    # Again with larger training crops and without held-out photos: a new run in a folder named by the
    # settings, the earlier one as it was, and every output written again.
    env = {**env, "COLORNET_VAL": tmp_path / "no_val"}
    nb = run_notebook("09_color_hints.ipynb", env, edits={"SIZE = 32 if QUICK": "SIZE = 64 if QUICK"})
    text = notebook_text(nb)
    assert "Resuming" not in text
    assert "the scores below are on training photos, which flatters every model" in text
    again = json.loads((out / "summary.json").read_text())
    wide = out / "features-hints_64px_quick"
    assert again["size"] == 64 and again["run"] == str(wide)
    assert json.loads((wide / "state.json").read_text())["size"] == 64
    assert json.loads((run / "state.json").read_text())["history"] == state["history"]
    assert [int(n) for n, _, _ in ROW.findall(text)] == HINT_COUNTS
