"""The pretrained features notebook runs top to bottom in quick mode and produces what it promises: Lite0 still
sees a cat in the gray cat, its four taps at 1/4 to 1/32, fewer weights learning with the encoder frozen, a
corpus counted by source, a `features` run, decodings from safe to vivid and the table against the provided
models; and it runs again after a reader changes a setting."""

import json
import math
import os

import figure_audit

from conftest import RERUN, WEIGHTS, make_photo_folder, notebook_text, provided_weights, run_notebook

MOBILENET = os.path.join(WEIGHTS, "mobilenet_v2_0.35_imagenet_notop.weights.h5")  # committed, for offline use
CATS = range(281, 288)  # ImageNet's domestic and wild cats: tabby ... Egyptian cat, and cougar, lynx


@RERUN
def test_pretrained_features_notebook_trains_decodes_from_safe_to_vivid_and_runs_again(tmp_path, rerun):
    train_dir, val_dir, corpus, out = (tmp_path / n for n in ("train", "val", "corpus", "out"))
    make_photo_folder(train_dir, n=16, size=64, seed=1)
    make_photo_folder(val_dir, n=6, size=64, seed=2)
    for split, n in (("train", 3), ("val", 2)):  # a corpus of two sources, as build.py lays it out
        for source in ("imagenette", "clothing"):
            make_photo_folder(corpus / split / source, n=n, size=48, seed=n)
    env = {
        "COLORNET_OUT": out,
        "COLORNET_TRAIN": train_dir,
        "COLORNET_VAL": val_dir,
        "COLORNET_CORPUS": corpus,
    }
    figures = tmp_path / "figures.json"
    nb = run_notebook("08_pretrained_features.ipynb", {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles and labels that never overlap, whole epochs
    assert "WARNING:tensorflow" not in text
    assert "EfficientNet-Lite0 encoder from ImageNet (frozen)" in text
    assert f"16 training photos; 6 held-out photos in {val_dir}" in text

    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["size"] == 32 and summary["width"] == 0.125
    assert set(summary["top3"]["chelsea"]["color"]) & set(CATS)  # a cat in color
    assert set(summary["top3"]["chelsea"]["gray"]) & set(CATS)  # and in gray
    assert summary["taps"] == {
        "block2_add": [56, 56, 24],  # 1/4 of 224 px
        "block4_add": [28, 28, 40],
        "block10_add": [14, 14, 112],
        "top_activation": [7, 7, 1280],  # 1/32
    }
    assert summary["weights"]["efficientnet_lite0"] == 4_694_024 - (1280 + 1) * 1000  # without the classifier
    if os.path.exists(MOBILENET):
        assert os.path.samefile(summary["mobilenet_file"], MOBILENET)
        assert summary["mobilenet_taps"] == {
            "block_3_expand_relu": [56, 56, 48],  # 1/4
            "block_6_expand_relu": [28, 28, 96],
            "block_13_expand_relu": [14, 14, 192],
            "block_16_project": [7, 7, 112],  # 1/32
        }
        assert summary["weights"]["mobilenet_v2_0.35"] == 410_208
    frozen, fine_tuned = summary["trainable"]["frozen"], summary["trainable"]["fine-tuned"]
    assert 0 < frozen < fine_tuned
    assert summary["corpus"] == {
        "train": {"clothing": 3, "imagenette": 3},
        "val": {"clothing": 2, "imagenette": 2},
    }

    run = out / "features_32px_w0.125_quick"  # quick mode trains on TRAIN_DIR, not the corpus
    assert summary["runs"] == {"features": str(run)}
    best = json.loads((run / "best.json").read_text())
    assert best["model"] == "features" and best["options"]["width"] == 0.125
    assert best["options"]["train_encoder"] is False and best["prior"] == "prior.npy"
    state = json.loads((run / "state.json").read_text())
    assert state["data"] == [str(train_dir)] and len(state["history"]["val_loss"]) == 2

    decoding = summary["decoding"]
    assert json.loads((out / "decoding.json").read_text()) == decoding
    assert all(math.isfinite(v["psnr"]) and v["colorfulness"] >= 0 for v in decoding.values())
    by_temperature = [v for v in decoding.values() if v["undo_rebalancing"] == 0.0]
    assert [v["temperature"] for v in by_temperature] == [1.0, 0.6, 0.38, 0.2, 0.01]
    colorfulness = [v["colorfulness"] for v in by_temperature]
    assert colorfulness == sorted(colorfulness)  # more colorful as the temperature falls
    at_038 = {v["undo_rebalancing"]: v["colorfulness"] for v in decoding.values() if v["temperature"] == 0.38}
    assert list(at_038) == [0.0, 0.5, 1.0] and at_038[0.0] > at_038[1.0]  # less colorful, taken back
    provided = provided_weights("zhang", "features")
    assert summary["decoded_by"] == (
        "the provided features model" if "features" in provided else "this notebook's run"
    )
    evaluation = json.loads((out / "evaluation.json").read_text())["summary"]
    assert set(summary["compared"]) == {"this notebook"} | {f"provided {n}" for n in provided}
    assert set(evaluation) - {"gray", "truth"} == set(summary["compared"])

    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    # Again with a wider decoder and without the corpus: a new run in a folder named by the settings, one line
    # for the missing corpus, and the first run as it was.
    env = {**env, "COLORNET_CORPUS": "", "COLORNET_VAL": tmp_path / "no_val"}
    nb = run_notebook(
        "08_pretrained_features.ipynb", env, edits={"WIDTH = 0.125 if QUICK": "WIDTH = 0.25 if QUICK"}
    )
    text = notebook_text(nb)
    assert "Resuming" not in text
    assert "No corpus here" in text
    assert "the scores below are on training photos, which flatters every model" in text  # said plainly
    assert "held-out photos in" not in text
    again = json.loads((out / "summary.json").read_text())
    assert again["width"] == 0.25 and again["corpus"] == {}
    assert again["trainable"]["frozen"] > frozen  # a wider decoder; the encoder's weights stay frozen
    wide = out / "features_32px_w0.25_quick"
    assert again["runs"] == {"features": str(wide)}
    assert json.loads((wide / "best.json").read_text())["options"]["width"] == 0.25
    assert json.loads((run / "state.json").read_text())["history"] == state["history"]
