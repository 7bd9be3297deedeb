"""Outputs of export, evaluate, prior and video: nothing a user has is written over, sizes and options
that cannot work are one line before any work, and networks whose outputs are not numbers are refused.
Every file is made here, tiny, in tmp_path; a full or read-only disk is simulated where it is needed."""

import errno
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colornet import cli
from colornet.errors import ColornetError

from conftest import save_tiny_beta

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32


@pytest.fixture
def tiny(tmp_path):
    return save_tiny_beta(tmp_path / "tiny.weights.h5")


def nan_weights(model):
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])


def color_photos(folder, n: int = 2) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rgb = (np.random.default_rng(i).random((40, 48, 3)) * 255).astype(np.uint8)
        paths.append(folder / f"photo{i}.png")
        Image.fromarray(rgb).save(paths[-1])
    return paths


def one_line_error(capsys, code, expected: int = 2) -> str:
    err = capsys.readouterr().err.strip()
    assert code == expected, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leftovers(folder) -> list[str]:
    """Temporary files or folders of ours left in `folder`."""
    return [p.name for p in Path(folder).iterdir() if ".partial" in p.name or ".tmp" in p.name]


# --- export -----------------------------------------------------------------------------


def test_item02_export_overwrite_replaces_only_an_earlier_export(tiny, tmp_path, capsys, monkeypatch):
    import colornet.export

    def saved_model(colorizer, folder, size, work_size):  # the conversion is tested in test_export
        (folder / "saved_model.pb").write_bytes(b"a new model")

    monkeypatch.setitem(colornet.export.WRITERS, "saved_model", saved_model)
    photos = tmp_path / "photos"
    color_photos(photos)
    before = {p.name: digest(p) for p in photos.iterdir()}
    export = ["export", "--model", tiny, "--overwrite", "--out"]
    err = one_line_error(capsys, cli.main([*export, str(photos)]))
    assert str(photos) in err and "colornet_export.json" in err
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    err = one_line_error(capsys, cli.main([*export, str(notes)]))
    assert str(notes) in err and notes.read_text() == "mine"
    # an earlier export that a photo was put into is not replaced either
    earlier = tmp_path / "exported"
    earlier.mkdir()
    (earlier / "colornet_export.json").write_text(json.dumps({"format": "tflite", "file": "model.tflite"}))
    (earlier / "model.tflite").write_bytes(b"old model")
    (earlier / "holiday.jpg").write_bytes(b"a photo")
    err = one_line_error(capsys, cli.main([*export, str(earlier)]))
    assert "holiday.jpg" in err and (earlier / "holiday.jpg").read_bytes() == b"a photo"
    # the current folder, even when it holds an earlier export
    monkeypatch.chdir(photos)
    (photos / "colornet_export.json").write_text("{}")
    err = one_line_error(capsys, cli.main([*export, "."]))
    assert "current folder" in err
    (photos / "colornet_export.json").unlink()
    assert {p.name: digest(p) for p in photos.iterdir()} == before
    # an earlier export alone is replaced
    (earlier / "holiday.jpg").unlink()
    assert cli.main([*export, str(earlier)]) == 0
    assert (earlier / "saved_model.pb").read_bytes() == b"a new model" and not (
        earlier / "model.tflite"
    ).exists()
    assert json.loads((earlier / "colornet_export.json").read_text())["format"] == "saved_model"
    assert not leftovers(tmp_path)


def test_item19_export_out_current_folder_and_an_unwritable_out_are_one_line(
    tiny, tmp_path, capsys, monkeypatch
):
    import colornet.export

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    for out in (".", "./", str(here), ".."):
        err = one_line_error(capsys, cli.main(["export", "--model", tiny, "--out", out, "--overwrite"]))
        assert "current folder" in err
    assert list(here.iterdir()) == []

    def read_only(colorizer, folder, size, work_size):
        raise OSError(errno.EROFS, "Read-only file system", str(folder))

    monkeypatch.setitem(colornet.export.WRITERS, "saved_model", read_only)
    err = one_line_error(capsys, cli.main(["export", "--model", tiny, "--out", str(tmp_path / "ro")]))
    assert "ro" in err and "cannot be written" in err and "Read-only file system" in err
    assert not (tmp_path / "ro").exists() and not leftovers(tmp_path)


def test_item15_weights_that_give_nan_fail_export_and_evaluate_in_one_line(tmp_path, capsys):
    bad = save_tiny_beta(tmp_path / "nan.weights.h5", edit=nan_weights)
    err = one_line_error(capsys, cli.main(["export", "--model", bad, "--out", str(tmp_path / "out")]))
    assert "nan.weights.h5" in err and "NaN" in err
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)
    photos = tmp_path / "photos"
    color_photos(photos)
    argv = ["evaluate", "--model", bad, "--data", str(photos), "--size", str(SIZE), "--no-semantic"]
    err = one_line_error(capsys, cli.main([*argv, "--json", str(tmp_path / "e.json")]))
    assert "nan.weights.h5" in err and "NaN" in err
    assert not (tmp_path / "e.json").exists()
    from colornet.evaluate import evaluate

    with pytest.raises(ColornetError, match="NaN"):
        evaluate(bad, str(photos), size=SIZE, semantic=False)


# --- evaluate ---------------------------------------------------------------------------


def test_item03_evaluate_refuses_outputs_that_are_input_photos(tiny, tmp_path, capsys):
    photos = color_photos(tmp_path / "photos")
    before = [digest(p) for p in photos]
    argv = ["evaluate", "--model", tiny, "--data", str(tmp_path / "photos"), "--size", str(SIZE)]
    for flag, photo in (("--json", photos[0]), ("--grid", photos[1])):
        for overwrite in ([], ["--overwrite"]):
            err = one_line_error(capsys, cli.main([*argv, "--no-semantic", flag, str(photo), *overwrite]))
            assert f"{flag} {photo}: is one of the input photos" in err
    err = one_line_error(
        capsys, cli.main([*argv, "--json", str(tmp_path / "a.png"), "--grid", str(tmp_path / "a.png")])
    )
    assert "--json" in err and "--grid" in err
    assert [digest(p) for p in photos] == before


def test_item16_evaluate_and_prior_cap_the_size_before_any_work(tiny, tmp_path, capsys, monkeypatch):
    import colornet.evaluate
    import colornet.prior

    def no_work(*args, **kwargs):
        raise AssertionError("the work started")

    for module, name in ((colornet.evaluate, "load_models"), (colornet.prior, "make_lab_dataset")):
        monkeypatch.setattr(module, name, no_work)
    color_photos(tmp_path / "photos")
    data = str(tmp_path / "photos")
    argv = ["evaluate", "--model", tiny, "--data", data, "--no-semantic", "--size", "100000"]
    assert "8192" in one_line_error(capsys, cli.main(argv))
    out = tmp_path / "prior.npy"
    assert "8192" in one_line_error(capsys, cli.main(["prior", data, "--size", "100000", "--out", str(out)]))
    assert not out.exists()
    with pytest.raises(ColornetError, match="8192"):
        colornet.evaluate.evaluate(tiny, data, size=100000)
    with pytest.raises(ColornetError, match="8192"):
        colornet.prior.compute_prior(data, size=100000)


def test_item23_evaluate_checks_its_arguments_as_the_command_line_does(tiny, tmp_path):
    from colornet.evaluate import evaluate

    color_photos(tmp_path / "photos")
    for name, value in (("size", "a"), ("size", 32.5), ("batch_size", "8"), ("limit", "all")):
        with pytest.raises(ColornetError, match=f"^{name} {value!r}: "):
            evaluate(tiny, str(tmp_path / "photos"), **{name: value})


# --- prior ------------------------------------------------------------------------------


def test_item04_prior_default_output_is_the_current_folder_and_kept(tmp_path, capsys, monkeypatch):
    import colornet.prior
    from colornet.bins import N_BINS

    def uniform(*args, **kwargs):  # the counting is tested in test_bins
        return np.full(N_BINS, 1 / N_BINS)

    monkeypatch.setattr(colornet.prior, "compute_prior", uniform)
    color_photos(tmp_path / "photos")
    monkeypatch.chdir(tmp_path)
    argv = ["prior", "photos", "--size", "16"]
    assert cli.main(argv) == 0
    assert "Wrote prior.npy" in capsys.readouterr().out
    assert (tmp_path / "prior.npy").exists() and not (tmp_path / "weights").exists()
    (tmp_path / "prior.npy").write_bytes(b"a prior of mine")
    err = one_line_error(capsys, cli.main(argv))
    assert "prior.npy" in err and "--overwrite" in err
    assert (tmp_path / "prior.npy").read_bytes() == b"a prior of mine"
    assert cli.main([*argv, "--overwrite"]) == 0
    from colornet.prior import load_prior

    assert load_prior(tmp_path / "prior.npy").shape == (261,)


def test_item04_a_provided_prior_is_never_written_over_and_verified_when_loaded(tmp_path, capsys):
    from colornet.bins import N_BINS
    from colornet.prior import load_prior, save_prior

    color_photos(tmp_path / "photos")
    provided = tmp_path / "provided"
    provided.mkdir()
    prior = save_prior(provided / "prior.npy", np.full(N_BINS, 1 / N_BINS))
    (provided / "SHA256SUMS").write_text(f"{digest(prior)}  prior.npy\n")
    before = digest(prior)
    argv = ["prior", str(tmp_path / "photos"), "--size", "16", "--out", str(prior), "--overwrite"]
    err = one_line_error(capsys, cli.main(argv))
    assert str(prior) in err and "SHA256SUMS" in err and digest(prior) == before
    np.testing.assert_allclose(load_prior(prior), 1 / N_BINS)  # as recorded: loads
    changed = np.full(N_BINS, 0.5 / (N_BINS - 1))
    changed[0] = 0.5
    save_prior(prior, changed)
    with pytest.raises(ColornetError, match=r"prior.npy: .*SHA256SUMS.*restore"):
        load_prior(prior)
    load_prior(ROOT / "weights" / "prior.npy")  # the provided prior is as recorded


def test_item04_zhang_weights_load_their_prior_only_as_recorded(tmp_path):
    """What `zhang --undo-rebalancing` decodes with: the prior named beside the weights, checked."""
    import keras

    from colornet.bins import N_BINS
    from colornet.models.zhang import build_zhang
    from colornet.predict import load_colorizer
    from colornet.prior import save_prior
    from colornet.weights import save_config

    folder = tmp_path / "weights"
    folder.mkdir()
    keras.utils.set_random_seed(0)
    build_zhang(width=0.03125).save_weights(str(folder / "zhang.weights.h5"))
    save_config(folder / "zhang.weights.h5", "zhang", {"width": 0.03125}, size=16, prior="prior.npy")
    prior = save_prior(folder / "prior.npy", np.full(N_BINS, 1 / N_BINS))
    sums = [f"{digest(folder / name)}  {name}" for name in ("zhang.weights.h5", "prior.npy")]
    (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    assert load_colorizer("zhang", folder).prior is not None
    changed = np.full(N_BINS, 0.5 / (N_BINS - 1))
    changed[0] = 0.5
    save_prior(prior, changed)
    with pytest.raises(ColornetError, match="prior.npy: .*SHA256SUMS"):
        load_colorizer("zhang", folder)


def test_item04_the_readme_computes_priors_outside_weights():
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if "python -m colornet prior" in line]
    assert commands and not any("weights/" in line for line in commands)


def test_item17_prior_refuses_bad_sigma_folders_and_unwritable_outputs(tmp_path, capsys, monkeypatch):
    color_photos(tmp_path / "photos")
    out = tmp_path / "out"
    out.mkdir()
    argv = ["prior", str(tmp_path / "photos"), "--size", "16"]
    for sigma in ("nan", "-5", "inf"):
        err = one_line_error(capsys, cli.main([*argv, "--sigma", sigma, "--out", str(out / "p.npy")]))
        assert "--sigma" in err
    err = one_line_error(capsys, cli.main([*argv, "--out", str(out)]))
    assert "is a folder" in err
    assert list(out.iterdir()) == []

    from colornet.prior import compute_prior, smooth

    for sigma in (float("nan"), -5.0):
        with pytest.raises(ColornetError, match="sigma"):
            compute_prior(str(tmp_path / "photos"), size=16, sigma=sigma)
    assert np.all(np.isfinite(smooth(np.full(261, 1 / 261), sigma=1e-300)))  # tiny: no smoothing, no NaN

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    import colornet.prior

    monkeypatch.setattr(colornet.prior, "compute_prior", lambda *args: np.full(261, 1 / 261))
    monkeypatch.setattr(np, "save", read_only)
    err = one_line_error(capsys, cli.main([*argv, "--out", str(out / "p.npy")]))
    assert "p.npy" in err and "Read-only file system" in err
    assert list(out.iterdir()) == []


# --- video ------------------------------------------------------------------------------


def write_clip(path, frames: int = 4):
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(frames):
            rgb = np.full((32, 32, 3), (40 * i, 120, 200), np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return str(path)


def test_item18_an_output_folder_is_refused_before_any_work(tiny, tmp_path, capsys, monkeypatch):
    import colornet.video

    clip = write_clip(tmp_path / "in.mp4")
    (tmp_path / "out_dir.mp4").mkdir()

    def no_work(*args, **kwargs):
        raise AssertionError("the work started")

    monkeypatch.setattr(colornet.video, "load_colorizer", no_work)
    for extra in ([], ["--overwrite"]):
        argv = ["video", clip, str(tmp_path / "out_dir.mp4"), "--model", tiny, *extra]
        err = one_line_error(capsys, cli.main(argv))
        assert "out_dir.mp4" in err and "is a folder" in err
    assert list((tmp_path / "out_dir.mp4").iterdir()) == []


def test_item18_a_full_or_read_only_output_disk_is_said_to_be_the_output(tiny, tmp_path, capsys, monkeypatch):
    av = pytest.importorskip("av")
    clip = write_clip(tmp_path / "in.mp4")
    real_open = av.open

    class FullDisk:
        """The output container, on a disk that fills up at the first packet."""

        def __init__(self, container):
            self._container = container

        def __getattr__(self, name):
            return getattr(self._container, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._container.close()

        def mux(self, packets):
            if packets:
                raise av.error.OSError(errno.ENOSPC, "No space left on device")

    def full_disk(path, mode="r", **kwargs):
        container = real_open(path, mode, **kwargs)
        return FullDisk(container) if mode == "w" else container

    def read_only(path, mode="r", **kwargs):
        if mode == "w":
            raise av.error.OSError(errno.EROFS, "Read-only file system")
        return real_open(path, mode, **kwargs)

    out = tmp_path / "out.mp4"
    for fake, reason in ((full_disk, "No space left on device"), (read_only, "Read-only file system")):
        monkeypatch.setattr(av, "open", fake)
        err = one_line_error(capsys, cli.main(["video", clip, str(out), "--model", tiny]))
        monkeypatch.setattr(av, "open", real_open)
        assert err.count(str(out)) == 1 and "in.mp4" not in err and reason in err, err
        assert "damaged" not in err and "output" in err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "tiny.json", "tiny.weights.h5"]


def test_item23_colorize_video_checks_the_work_size_as_colorize_does(tiny, tmp_path):
    pytest.importorskip("av")
    from colornet.video import colorize_video

    clip = write_clip(tmp_path / "in.mp4")
    for work_size in (3, 8193, 64.0, "64"):
        with pytest.raises(ColornetError, match="work_size"):
            colorize_video(clip, tmp_path / "out.mp4", tiny, work_size=work_size)
    assert not (tmp_path / "out.mp4").exists()
    assert not os.path.exists(tmp_path / "out.mp4")
