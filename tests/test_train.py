"""Training runs on tiny models and tiny photos: loss goes down, runs resume, fine-tuning starts from weights."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from colornet.cli import main as cli_main
from colornet.errors import WeightsError
from colornet.train import RunError, train
from colornet.weights import load_model

TINY = {"width": 0.125}


def tiny_run(folder, out, epochs, **kwargs):
    options = dict(size=32, batch_size=4, epochs=epochs, out=str(out), model_options=TINY, verbose=0, lr=2e-3)
    options.update(kwargs)
    return train("beta", data=folder, **options)


@pytest.mark.slow
def test_two_epochs_lower_the_loss_and_write_the_run(photo_folder, tmp_path):
    result = tiny_run(photo_folder, tmp_path / "run", epochs=2, augment=False)
    loss = result.history["loss"]
    assert len(loss) == 2 and loss[1] < loss[0]
    assert len(result.history["val_loss"]) == 2
    run = tmp_path / "run"
    for name in ("last.keras", "best.weights.h5", "best.json", "state.json", "history.csv"):
        assert (run / name).exists(), name
    assert sorted(os.listdir(run / "samples")) == ["epoch_001.png", "epoch_002.png"]
    assert len((run / "history.csv").read_text().strip().splitlines()) == 3
    assert os.listdir(run / "logs")  # TensorBoard
    assert json.loads((run / "best.json").read_text())["options"] == {
        **TINY,
        "batch_norm": False,
        "head": "ab",
    }  # every option


@pytest.mark.slow
def test_resume_continues_at_the_next_epoch(photo_folder, tmp_path):
    first = tiny_run(photo_folder, tmp_path / "run", epochs=1)
    weights_after_1 = [w.copy() for w in first.model.get_weights()]
    again = tiny_run(photo_folder, tmp_path / "run", epochs=3)
    assert again.epochs_run == 2
    assert len(again.history["loss"]) == 3
    assert json.loads((tmp_path / "run" / "state.json").read_text())["epoch"] == 3
    assert (tmp_path / "run" / "history.csv").read_text().count("\n") == 4  # header + 3 epochs
    assert any(not np.array_equal(a, b) for a, b in zip(weights_after_1, again.model.get_weights()))
    done = tiny_run(photo_folder, tmp_path / "run", epochs=3)
    assert done.epochs_run == 0


@pytest.mark.slow
def test_resume_after_kill_9(photo_folder, tmp_path):
    """A run killed mid-training restarts from its last finished epoch."""
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "colornet",
        "train",
        "beta",
        "--data",
        photo_folder,
        "--size",
        "32",
        "--batch-size",
        "2",
        "--epochs",
        "50",
        "--width",
        "0.125",
        "--out",
        str(out),
        "--verbose",
        "0",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "state.json").exists():
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = json.loads((out / "state.json").read_text())["epoch"]
    assert 1 <= finished < 50
    result = tiny_run(photo_folder, out, epochs=finished + 1, batch_size=2)
    assert result.epochs_run == 1
    assert json.loads((out / "state.json").read_text())["epoch"] == finished + 1


@pytest.mark.slow
def test_init_fine_tunes_from_weights_and_refuses_other_models(photo_folder, tmp_path):
    base = tiny_run(photo_folder, tmp_path / "base", epochs=1)
    tuned = tiny_run(photo_folder, tmp_path / "tuned", epochs=1, init=str(base.best_weights))
    assert tuned.epochs_run == 1
    with pytest.raises(WeightsError, match="best.weights.h5"):
        tiny_run(
            photo_folder,
            tmp_path / "wide",
            epochs=1,
            init=str(base.best_weights),
            model_options={"width": 0.25},
        )


@pytest.mark.slow
def test_resuming_another_model_is_refused(photo_folder, tmp_path):
    tiny_run(photo_folder, tmp_path / "run", epochs=1)
    with pytest.raises(RunError, match="use another --out"):
        tiny_run(photo_folder, tmp_path / "run", epochs=2, model_options={"width": 0.25})


@pytest.mark.slow
def test_cosine_schedule_lowers_the_learning_rate(photo_folder, tmp_path):
    result = tiny_run(photo_folder, tmp_path / "cos", epochs=2, schedule="cosine", loss="mae")
    lr = result.history["learning_rate"]
    assert len(lr) == 2 and lr[1] < lr[0]


@pytest.mark.slow
def test_early_stopping_stops_a_run_that_does_not_improve(photo_folder, tmp_path):
    # A learning rate of zero cannot improve the validation loss: patience 1 stops after epoch 2.
    result = tiny_run(photo_folder, tmp_path / "stop", epochs=6, lr=0.0, early_stopping=1)
    assert len(result.history["loss"]) == 2


@pytest.mark.slow
def test_average_epochs_writes_the_mean_of_the_last_epochs_and_resumes_it(photo_folder, tmp_path):
    out = tmp_path / "avg"
    first = tiny_run(photo_folder, out, epochs=2, average_epochs=1, augment=False)
    after_2 = first.model.get_weights()
    assert first.averaged_weights == out / "averaged.weights.h5"
    assert json.loads((out / "averaged.json").read_text())["averaged_epochs"] == [2]
    model, _ = load_model(out / "averaged.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), after_2))  # one epoch: its weights
    # Two more epochs asked, the last two averaged: the mean of epoch 2 (kept from before) and epoch 3.
    second = tiny_run(photo_folder, out, epochs=3, average_epochs=2, augment=False)
    after_3 = second.model.get_weights()
    assert json.loads((out / "averaged.json").read_text())["averaged_epochs"] == [2, 3]
    model, config = load_model(out / "averaged.weights.h5")
    assert config["model"] == "beta" and config["size"] == 32
    moved = [b for a, b in zip(after_2, after_3) if not np.array_equal(a, b)]
    assert moved  # epoch 3 trained: its weights differ, so the mean is neither
    for averaged, a, b in zip(model.get_weights(), after_2, after_3):
        np.testing.assert_allclose(averaged, (a + b) / 2, rtol=1e-5, atol=1e-6)
    # Two more epochs, the last one averaged: epochs 2 and 3 are not among the last ones now.
    third = tiny_run(photo_folder, out, epochs=5, average_epochs=1, augment=False)
    assert json.loads((out / "averaged.json").read_text())["averaged_epochs"] == [5]
    model, _ = load_model(out / "averaged.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), third.model.get_weights()))


def test_average_epochs_beyond_the_run_is_one_line(photo_folder, tmp_path, capsys):
    argv = ["train", "beta", "--data", photo_folder, "--epochs", "2", "--average-epochs", "3"]
    code = cli_main([*argv, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--average-epochs 3" in err and "at most 2" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_command_line_errors_are_one_line(photo_folder, tmp_path, capsys):
    code = cli_main(["train", "beta", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "missing" in err and len(err.splitlines()) == 1
    code = cli_main(["train", "beta", "--data", photo_folder, "--size", "30", "--out", str(tmp_path / "r")])
    assert code == 2 and "multiple of 8" in capsys.readouterr().err
