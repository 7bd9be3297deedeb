"""Bad run folders, bad training arguments and kills end in one line, and never lose a run's work.
Every run folder is made here by hand, tiny, so that no test trains."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from colornet import cli
from colornet.errors import ColornetError, RunError

from conftest import save_tiny_beta

ROOT = Path(__file__).resolve().parents[1]
TINY = {"width": 0.125}


def tiny_run(data, out, epochs=1, **kwargs):
    from colornet.train import train

    options = dict(size=16, batch_size=2, epochs=epochs, out=str(out), model_options=TINY, verbose=0)
    options.update(kwargs)
    return train("beta", data=data, **options)


def tiny_command(data, out) -> int:
    """The command line's `train` for the same tiny run; returns the exit code."""
    return cli.main(
        ["train", "beta", "--data", str(data), "--out", str(out), "--size", "16", "--width", "0.125"]
    )


def one_line_error(capsys, code, expected: int = 2) -> str:
    err = capsys.readouterr().err.strip()
    assert code == expected, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def earlier_run(folder, epoch: int = 2, last: bool = False) -> dict:
    """A run folder as training leaves it after `epoch` epochs (without last.keras unless `last`):
    returns each file's bytes, to check that nothing was overwritten."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_tiny_beta(folder / "best.weights.h5")
    (folder / "history.csv").write_text(
        "epoch,loss,val_loss\n" + "".join(f"{i},0.5,0.6\n" for i in range(epoch))
    )
    (folder / "state.json").write_text(
        json.dumps({"model": "beta", "options": TINY, "size": 16, "epoch": epoch})
    )
    if last:
        (folder / "last.keras").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: no model in it
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def files_of(folder) -> dict:
    return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


def dead_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# --- 1. a run folder that cannot be resumed is refused, never overwritten ---------------------------


def test_item01_run_without_last_keras_is_not_overwritten(tmp_path, photo_folder, capsys):
    run = tmp_path / "run"
    before = earlier_run(run)
    with pytest.raises(RunError, match=r"no last\.keras.*--init .*run --out"):
        tiny_run(photo_folder, run, epochs=3)
    assert files_of(run) == before
    # also without state.json: its best weights and history are still a run's work
    (run / "state.json").unlink()
    before = files_of(run)
    code = tiny_command(photo_folder, run)
    assert "cannot be resumed" in one_line_error(capsys, code)
    assert files_of(run) == before
    # a run that never finished an epoch (it diverged at once) has nothing to keep: it starts over
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "state.json").write_text(json.dumps({"model": "beta", "epoch": 0}))
    from colornet.run_dir import open_run

    assert open_run(fresh) is None and open_run(tmp_path / "missing") is None


# --- 8. kill (SIGTERM) is Ctrl-C; what kill -9 left behind goes at the next start -------------------


def kill_myself(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)  # the signal arrives long before


@pytest.mark.parametrize("command", ["train", "colorize"])
def test_item08_sigterm_is_handled_like_ctrl_c(command, tmp_path, photo_folder, capsys, monkeypatch):
    from colornet import infer, train

    monkeypatch.setattr(train, "train", kill_myself)
    monkeypatch.setattr(infer, "colorize_files", kill_myself)

    class Unhandled(Exception):
        pass

    def unhandled(signum, frame):
        raise Unhandled  # SIGTERM's default would end the tests

    before = signal.signal(signal.SIGTERM, unhandled)
    try:
        args = (
            ["--data", photo_folder] if command == "train" else [photo_folder, "--out", str(tmp_path / "out")]
        )
        code = cli.main([command, *(["beta"] if command == "train" else []), *args])
        assert one_line_error(capsys, code, expected=130) == f"colornet {command}: interrupted."
        assert signal.getsignal(signal.SIGTERM) == unhandled
    finally:
        signal.signal(signal.SIGTERM, before)


def test_item08_an_interrupted_checkpoint_leaves_no_temporary_file(tmp_path):
    from colornet.train import RunCheckpoint

    class Interrupted:
        """A model whose save stops halfway, as Ctrl-C or kill does."""

        def get_weights(self):
            return []

        def set_weights(self, weights):
            pass

        def save(self, path):
            Path(path).write_bytes(b"half a checkpoint")
            raise KeyboardInterrupt

        save_weights = save

    (tmp_path / "last.keras").write_bytes(b"the last good checkpoint")
    (tmp_path / "best.weights.h5").write_bytes(b"the best weights")
    before = files_of(tmp_path)
    for best in (0.0, 1.0):  # saving last.keras, then best.weights.h5 (an improvement), interrupted
        checkpoint = RunCheckpoint(tmp_path, {"best": best}, Interrupted(), Interrupted())
        checkpoint.set_model(Interrupted())
        with pytest.raises(KeyboardInterrupt):
            checkpoint.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.5})
        assert files_of(tmp_path) == before


def test_item08_stale_temporaries_of_dead_processes_are_removed_at_start(tmp_path, photo_folder):
    from colornet.signals import remove_stale_temporaries

    run = tmp_path / "run"
    earlier_run(run)
    dead, alive = dead_pid(), os.getpid()
    (run / "samples").mkdir()
    stale = [
        run / f"last.{dead}.tmp.keras",
        run / f"best.{dead}.tmp.weights.h5",
        run / f".state.json.{dead}.partial",
        run / "samples" / f".epoch_001.{dead}.partial.png",
    ]
    kept = [run / f"last.{alive}.tmp.keras", run / "samples" / "epoch_001.png", run / "notes.partial.txt"]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert sorted(remove_stale_temporaries(run, recursive=True)) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)
    # training removes them before it looks at the run (here: refused, as it has no last.keras)
    stale[0].write_bytes(b"x")
    with pytest.raises(RunError):
        tiny_run(photo_folder, run)
    assert not stale[0].exists() and kept[0].exists()


def test_item08_colorize_removes_half_written_photos_of_a_killed_run(tmp_path, photo_folder):
    from colornet.infer import colorize_files

    weights = tmp_path / "w.weights.h5"
    save_tiny_beta(weights)
    out = tmp_path / "out"
    out.mkdir()
    dead, alive = dead_pid(), os.getpid()
    stale = out / f".a.png.{dead}.partial"
    kept = out / f".b.png.{alive}.partial"
    stale.write_bytes(b"x")
    kept.write_bytes(b"x")
    summary = colorize_files([photo_folder], out, model=str(weights), work_size=32)
    assert not summary.failed
    assert not stale.exists() and kept.exists()


# --- 10, 11. a damaged checkpoint or state.json is one line ---------------------------------------


def lambda_checkpoint(path) -> None:
    import keras

    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(path)


@pytest.mark.parametrize("damage", ["empty", "truncated", "lambda"])
def test_item10_a_damaged_last_keras_is_one_line(damage, tmp_path, photo_folder, capsys):
    run = tmp_path / "run"
    earlier_run(run, last=True)
    last = run / "last.keras"
    if damage == "empty":
        last.write_bytes(b"")
    elif damage == "truncated":
        save_tiny_beta(tmp_path / "w.weights.h5")
        import zipfile

        with zipfile.ZipFile(last, "w") as z:
            z.write(tmp_path / "w.weights.h5", "model.weights.h5")
        last.write_bytes(last.read_bytes()[:-30])  # the disk filled before its end
    else:
        lambda_checkpoint(last)
    before = files_of(run)
    expected = "Lambda layer" if damage == "lambda" else "is damaged"
    with pytest.raises(RunError, match=rf"last\.keras: .*{expected}"):
        tiny_run(photo_folder, run, epochs=3)
    code = tiny_command(photo_folder, run)
    assert "last.keras" in one_line_error(capsys, code)
    assert files_of(run) == before


def test_item10_a_checkpoint_that_fails_to_load_is_one_line(tmp_path, monkeypatch):
    import keras

    from colornet.train import _restore

    def fails(path, **kwargs):
        raise ValueError("File not found: filepath=last.keras. Please ensure the file is a zip file.")

    monkeypatch.setattr(keras.models, "load_model", fails)
    with pytest.raises(RunError, match=r"last\.keras: is damaged .*File not found"):
        _restore(None, tmp_path / "last.keras")


@pytest.mark.parametrize(
    "text", ['{"epoch": 1,', "[1, 2]", '{"model": "beta"}', '{"model": "beta", "epoch": "one"}', ""]
)
def test_item11_a_corrupt_state_json_is_one_line(text, tmp_path, photo_folder, capsys):
    run = tmp_path / "run"
    earlier_run(run, last=True)
    (run / "state.json").write_text(text)
    before = files_of(run)
    with pytest.raises(RunError, match=r"state\.json: is damaged"):
        tiny_run(photo_folder, run, epochs=3)
    code = tiny_command(photo_folder, run)
    assert "state.json" in one_line_error(capsys, code)
    assert files_of(run) == before


# --- 12, 23. train's arguments, from the command line and the Python API -------------------------


@pytest.mark.parametrize("seed", ["-1", str(2**32), "1.5"])
def test_item12_a_seed_out_of_range_is_one_line(seed, tmp_path, photo_folder, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "beta", "--data", photo_folder, "--seed", seed, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and f"--seed: '{seed}': use a whole number from 0 to {2**32 - 1}" in err
    with pytest.raises(ColornetError, match=r"^--seed .*: use a whole number from 0 to 4294967295"):
        tiny_run(photo_folder, tmp_path / "r", seed=int(float(seed)) if seed != "1.5" else 1.5)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "name, value, named",
    [
        ("size", None, "--size None"),
        ("size", "a", "--size 'a'"),
        ("size", 4, "--size 4"),
        ("epochs", 2.5, "--epochs 2.5"),
        ("batch_size", None, "--batch-size None"),
        ("val_split", "a", "--val-split 'a'"),
        ("samples", -1, "samples=-1"),
        ("verbose", 3, "--verbose 3"),
        ("on_error", "ignore", "on_error='ignore'"),
        ("embed_mode", "sometimes", "--embed-mode 'sometimes'"),
        ("connect_timeout", float("nan"), "--connect-timeout nan"),
        ("jit_compile", "yes", "jit_compile='yes'"),
        ("augment", "no", "augment='no'"),
        ("model_options", "width=0.5", "model_options='width=0.5'"),
        ("classes", "some", "--classes 'some'"),
        ("sise", 16, "train() has no argument 'sise'; did you mean 'size'?"),
    ],
)
def test_item23_train_checks_its_arguments_as_the_command_line_does(
    name, value, named, tmp_path, photo_folder
):
    with pytest.raises(ColornetError) as caught:
        tiny_run(photo_folder, tmp_path / "r", **{name: value})
    assert str(caught.value).startswith(named) and "\n" not in str(caught.value)
    assert not (tmp_path / "r").exists()


# --- 13. a run folder inside its --data folder ------------------------------------------------------


def test_item13_the_run_folder_inside_data_is_not_training_photos(photo_folder, tmp_path):
    from colornet.train import TrainConfig, list_run_photos, photos_digest

    for out in (Path(photo_folder) / "run", Path(photo_folder)):  # inside --data, and --data itself
        cfg = TrainConfig(data=photo_folder, out=str(out))
        before = list_run_photos(cfg)
        # what a first epoch writes there: sample strips (and, inside --data, anything else of the run)
        (out / "samples").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (48, 16)).save(out / "samples" / "epoch_001.png")
        after = list_run_photos(cfg)
        assert after == before and photos_digest(*after) == photos_digest(*before)
        assert not any("samples" in p for p in after[0] + after[1])
        shutil.rmtree(out / "samples")
    # a photo named explicitly is used, wherever it is
    strip = Path(photo_folder) / "samples" / "epoch_001.png"
    strip.parent.mkdir()
    Image.new("RGB", (48, 16)).save(strip)
    strip = str(strip)
    cfg = TrainConfig(data=[photo_folder, strip], out=photo_folder)
    assert strip in sum(list_run_photos(cfg), [])


# --- 20. a cluster that does not gather ends with an error status, not SIGKILL -----------------------


def test_item20_a_wait_stuck_in_native_code_ends_with_an_error_status(tmp_path):
    # TensorFlow waits for a cluster in native code that holds the GIL: no Python thread or signal
    # handler runs meanwhile. libc's sleep called through PyDLL holds it the same way.
    script = (
        "import ctypes\n"
        "from colornet.distribute import deadline\n"
        "with deadline(0.5, 'colornet train: error: the cluster did not gather'):\n"
        "    ctypes.PyDLL(None).sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.strip() == "colornet train: error: the cluster did not gather"
    # a wait that ends in time leaves the process alone
    script = script.replace("sleep(60)", "sleep(0)") + "print('gathered')\n"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode == 0 and done.stdout.strip() == "gathered" and not done.stderr.strip()
