"""Bad input ends in one line that names the file and what to do, and the other files' work is kept
(issue 15, section 3). Every bad file is made here, tiny, in tmp_path."""

import csv
import itertools
import json
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colornet import cli
from colornet.errors import ColornetError, ImageError, ImageWarning, RunError
from colornet.images import FORMATS, IMAGE_EXTENSIONS, check_image, find_images, load_image

from conftest import make_photo_folder, save_tiny_beta

ROOT = Path(__file__).resolve().parents[1]
TINY = {"width": 0.125}


# --- bad files, made here --------------------------------------------------------


def png_header(path, w: int, h: int) -> Path:
    """A PNG whose header claims `w` x `h` pixels, with almost no data (a decompression bomb's start)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
    return Path(path)


def rgb8(h=40, w=48, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def truncated_jpeg(path) -> Path:
    Image.fromarray(rgb8()).save(path, quality=90)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    return Path(path)


def corrupt_exif_jpeg(path) -> Path:
    """A JPEG whose EXIF block says it has 5 tags and holds one (Pillow: "Corrupt EXIF data")."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 5) + struct.pack("<HHII", 0x0112, 3, 1, 1)
    Image.fromarray(rgb8()).save(path, exif=b"Exif\x00\x00" + tiff)
    return Path(path)


def one_line_error(capsys, code, expected: int = 2) -> str:
    err = capsys.readouterr().err.strip()
    assert code == expected, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def run_subprocess(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "colornet", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def tiny(tmp_path):
    return save_tiny_beta(tmp_path / "tiny.weights.h5")


def tiny_run(data, out, epochs=1, **kwargs):
    from colornet.train import train

    options = dict(size=32, batch_size=4, epochs=epochs, out=str(out), model_options=TINY, verbose=0, lr=2e-3)
    options.update(kwargs)
    return train("beta", data=data, **options)


# --- 1. decompression bombs and the pixel cap ---------------------------------------


def test_decompression_bomb_is_a_bad_file_in_colorize_end_to_end(tmp_path, tiny):
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(rgb8()).save(photos / "a_good.jpg")
    png_header(photos / "bomb.png", 30000, 30000)
    Image.fromarray(rgb8(seed=1)).save(photos / "z_good.png")
    done = run_subprocess("colorize", photos, "--model", tiny, "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "2 colorized" in done.stdout and "1 failed" in done.stdout
    failed = [line for line in done.stdout.splitlines() if "failed:" in line]
    assert len(failed) == 1 and "bomb.png" in failed[0] and "decompression bomb" in failed[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_good.png", "z_good.png"]


def test_decompression_bomb_in_the_api_evaluate_and_train(tmp_path, photo_folder, tiny):
    from colornet import colorize
    from colornet.data import list_images
    from colornet.evaluate import evaluate

    bomb = png_header(Path(photo_folder) / "bomb.png", 30000, 30000)
    with pytest.raises(ImageError, match="bomb.png: its header claims 900 million pixels"):
        colorize(str(bomb), model=tiny)
    results = evaluate(tiny, photo_folder, size=32)
    assert [s["path"] for s in results["skipped"]] == [str(bomb)] and results["evaluated"] == 12
    with pytest.warns(ImageWarning, match="skipped 1 unreadable file.*bomb.png"):
        assert str(bomb) not in list_images(photo_folder, on_error="skip")


def test_the_pixel_cap_is_checked_from_the_header_before_decoding(tmp_path):
    big = png_header(tmp_path / "big.png", 12000, 12000)  # 144 MP: 4.2 GB to decode before
    for read in (load_image, check_image):
        with pytest.raises(
            ImageError, match=r"big.png: 12000x12000 is more than 100 million pixels; downscale"
        ):
            read(big)


# --- 2. truncated and unusual training photos -----------------------------------------


@pytest.mark.slow
def test_a_truncated_training_photo_is_skipped_by_name_end_to_end(tmp_path):
    photos = tmp_path / "photos"
    make_photo_folder(photos, n=6, size=40)
    truncated_jpeg(photos / "cut.jpg")
    Image.new("1", (40, 40)).save(photos / "one_bit.bmp")  # TensorFlow's decoder refused these
    args = ["train", "beta", "--data", photos, "--size", "32", "--batch-size", "4", "--epochs", "1"]
    args += ["--width", "0.125", "--verbose", "0", "--out", tmp_path / "run"]
    done = run_subprocess(*args, cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    warned = [line for line in done.stderr.splitlines() if "cut.jpg" in line]
    assert len(warned) == 1 and "skipped 1 unreadable file(s) of 8" in warned[0] and "truncated" in warned[0]
    assert "on 6 photos" in done.stdout and (tmp_path / "run" / "best.weights.h5").exists()


def test_strict_and_a_folder_of_only_bad_photos_stop_in_one_line(tmp_path, photo_folder, capsys):
    truncated_jpeg(Path(photo_folder) / "cut.jpg")
    common = ["--size", "32", "--width", "0.125", "--epochs", "1", "--verbose", "0"]
    code = cli.main(
        ["train", "beta", "--data", photo_folder, "--strict", "--out", str(tmp_path / "r"), *common]
    )
    assert "cut.jpg: corrupt or truncated image data" in one_line_error(capsys, code)
    bad = tmp_path / "bad"
    bad.mkdir()
    truncated_jpeg(bad / "a.jpg")
    png_header(bad / "b.png", 30000, 30000)
    with pytest.warns(ImageWarning, match="skipped 2"):
        code = cli.main(["train", "beta", "--data", str(bad), "--out", str(tmp_path / "r2"), *common])
    assert "none of the images could be read" in one_line_error(capsys, code)


# --- 3. a run folder as --model or --init ---------------------------------------------


@pytest.mark.slow
def test_a_run_folder_means_its_best_weights(tmp_path, photo_folder, capsys):
    from colornet.predict import load_colorizer

    run = tmp_path / "runs" / "mine"
    run.mkdir(parents=True)
    save_tiny_beta(run / "best.weights.h5")
    assert load_colorizer(str(run)).name == "beta"
    code = cli.main(["colorize", photo_folder, "--model", str(run), "--out", str(tmp_path / "out")])
    assert code == 0 and "12 colorized" in capsys.readouterr().out
    result = tiny_run(photo_folder, tmp_path / "tuned", init=str(run), steps_per_epoch=1)
    assert result.best_weights.exists()
    empty = tmp_path / "runs" / "empty"
    empty.mkdir()
    code = cli.main(["colorize", photo_folder, "--model", str(empty), "--out", str(tmp_path / "o2")])
    assert "empty: is a folder without best.weights.h5" in one_line_error(capsys, code)


# --- 4. output names never collide ----------------------------------------------------


def test_output_names_never_collide(tmp_path, tiny, capsys):
    photos = tmp_path / "in"
    photos.mkdir()
    for name, seed in (("cat.jpg", 0), ("cat.png", 1), ("cat_compare.png", 2), ("Cat.bmp", 3)):
        Image.fromarray(rgb8(seed=seed)).save(photos / name)
    out = tmp_path / "out"
    assert cli.main(["colorize", str(photos), "--model", tiny, "--out", str(out), "--compare"]) == 0
    assert "4 colorized" in capsys.readouterr().out
    written = sorted(p.name.lower() for p in out.iterdir())
    assert len(written) == 8 and len(set(written)) == 8  # 4 results and 4 strips, none replaced


def test_output_names_are_tried_one_at_a_time(tmp_path, monkeypatch):
    # A folder of thousands of photos is planned in time linear in their number: each photo tries
    # the names `output_stems` gives until one is free, and those are made only as they are tried.
    from colornet import infer_jobs

    photos = tmp_path / "in"
    photos.mkdir()
    names = ["cat.jpg", "cat.png", "Cat.bmp", "cat_png.tif"] + [f"p{i:04d}.jpg" for i in range(1500)]
    for name in names:
        (photos / name).write_bytes(b"")  # planning reads names only
    tried = []

    def counted(rel):
        for stem in output_stems(rel):
            tried.append(stem)
            yield stem

    output_stems = infer_jobs.output_stems
    monkeypatch.setattr(infer_jobs, "output_stems", counted)
    jobs, failures = infer_jobs.plan_jobs(str(photos), tmp_path / "out", "png")
    assert failures == [] and len(jobs) == len(names)
    outputs = {Path(job.source).name: Path(job.output).name for job in jobs}
    assert len({o.lower() for o in outputs.values()}) == len(names)
    assert [outputs[n] for n in names[:4]] == ["cat_jpg.png", "cat_png.png", "Cat.png", "cat_png_tif.png"]
    assert len(tried) == len(names) + 3  # one name each, and three more for the photos named cat
    stems = output_stems(Path("a/cat.JPG"))
    assert iter(stems) is stems  # an iterator: no list of names made ahead
    assert list(itertools.islice(stems, 4)) == [
        Path("a/cat"),
        Path("a/cat_jpg"),
        Path("a/cat_2"),
        Path("a/cat_3"),
    ]


# --- 5. a loss that becomes NaN ---------------------------------------------------------


@pytest.mark.slow
def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, photo_folder, capsys):
    run = tmp_path / "run"
    tiny_run(photo_folder, run, epochs=1, steps_per_epoch=2)
    best = (run / "best.weights.h5").read_bytes()
    # resumed with a learning rate that blows the weights up: applied (and recorded), then refused
    with pytest.raises(
        RunError, match=r"NaN or infinite in epoch 2; the checkpoint of epoch 1 is kept.*lower --lr"
    ):
        tiny_run(photo_folder, run, epochs=3, steps_per_epoch=2, lr=1e30)
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 1 and state["lr"] == 1e30
    assert (run / "best.weights.h5").read_bytes() == best
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and all(np.isfinite(float(v)) for v in rows[0].values())
    with pytest.raises(SystemExit):
        cli.main(["train", "beta", "--data", photo_folder, "--lr", "nan"])
    assert "--lr: 'nan': use a number above 0" in capsys.readouterr().err


# --- 6. one reader: palette BMPs in color -------------------------------------------------


def test_training_reads_palette_bmps_in_color_as_colorize_does(tmp_path):
    from colornet.data import decode_image

    path = tmp_path / "palette.bmp"
    Image.fromarray(rgb8()).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    decoded = decode_image(str(path)).numpy()
    assert np.array_equal(decoded, np.asarray(Image.open(path).convert("RGB")))
    assert not np.array_equal(decoded[..., 0], decoded[..., 1])  # TensorFlow's decoder gave gray indices
    assert np.array_equal(decoded, np.round(load_image(path).rgb * 255).astype(np.uint8))


# --- 7. --out inside or equal to the input folder ------------------------------------------


def test_results_inside_an_input_folder_are_not_colorized_again(tmp_path, photo_folder, tiny, capsys):
    out = Path(photo_folder) / "results"
    for _ in range(2):
        assert cli.main(["colorize", photo_folder, "--model", tiny, "--out", str(out)]) == 0
    second = capsys.readouterr().out
    assert (
        "12 skipped" in second and "24 skipped" not in second and "24 colorized" not in second
    )  # not the results
    assert len(list(out.rglob("*.png"))) == 12
    code = cli.main(["colorize", photo_folder, "--model", tiny, "--out", photo_folder])
    assert "is the input folder" in one_line_error(capsys, code)


# --- 8. sizes that cannot fit ----------------------------------------------------------------


def test_a_size_that_cannot_fit_in_memory_is_refused_in_one_line(tmp_path, photo_folder, capsys, monkeypatch):
    from colornet import train

    monkeypatch.setattr(train, "available_memory", lambda: 4 * 2**30)
    code = cli.main(["train", "beta", "--data", photo_folder, "--size", "8192", "--out", str(tmp_path / "r")])
    err = one_line_error(capsys, code)
    assert "--size 8192: training needs at least" in err and "4.0 GiB is available" in err
    assert not (tmp_path / "r").exists()


# --- 9. arguments checked at the boundary ------------------------------------------------------


@pytest.mark.parametrize(
    "args, flag",
    [
        (["train", "beta", "--data", "d", "--width", "0"], "--width"),
        (["train", "beta", "--data", "d", "--lr", "-0.1"], "--lr"),
        (["train", "beta", "--data", "d", "--limit", "0"], "--limit"),
        (["train", "beta", "--data", "d", "--limit", "-1"], "--limit"),
        (["train", "beta", "--data", "d", "--steps-per-epoch", "0"], "--steps-per-epoch"),
        (["train", "beta", "--data", "d", "--val-split", "1.5"], "--val-split"),
        (["train", "beta", "--data", "d", "--epochs", "0"], "--epochs"),
        (["evaluate", "--model", "beta", "--data", "d", "--work-size", "-5"], "--work-size"),
        (["evaluate", "--model", "beta", "--data", "d", "--examples", "-1"], "--examples"),
        (["colorize", "x.jpg", "--out", ""], "--out"),
        (["train", "beta", "--data", "d", "--out", ""], "--out"),
    ],
)
def test_bad_arguments_end_in_argparse_one_line_usage_error(args, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and err[-1].startswith("colornet") and f"argument {flag}" in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_the_api_refuses_nan_negative_and_bad_work_sizes(tiny, photo_folder, tmp_path):
    from colornet import colorize
    from colornet.train import train

    gray = np.full((16, 16), 0.5, np.float32)
    with pytest.raises(ImageError, match="NaN"):
        colorize(np.where(np.eye(16) > 0, np.nan, gray), model=tiny)
    with pytest.raises(ImageError, match=r"\[0, 1\]"):
        colorize(gray - 1, model=tiny)
    for bad in (-5, 12.5, 0, True):
        with pytest.raises(ColornetError, match="work_size"):
            colorize(gray, model=tiny, work_size=bad)
    for options, match in (
        ({"lr": -1.0}, "--lr"),
        ({"limit": 0}, "--limit"),
        ({"val_split": 1.5}, "--val-split"),
    ):
        with pytest.raises(ColornetError, match=match):
            train("beta", data=photo_folder, out=str(tmp_path / "r"), **options)
    with pytest.raises(ColornetError, match="--width 0"):
        train("beta", data=photo_folder, out=str(tmp_path / "r"), model_options={"width": 0.0})


# --- 10. evaluate checks its outputs before the work, and keeps existing ones ------------------


@pytest.mark.slow
def test_evaluate_checks_json_and_grid_before_the_work(tmp_path, photo_folder, tiny, capsys, monkeypatch):
    from colornet import evaluate

    def never(*args, **kwargs):
        raise AssertionError("evaluated before the outputs were checked")

    monkeypatch.setattr(evaluate, "evaluate", never)
    base = ["evaluate", "--model", tiny, "--data", photo_folder, "--size", "32"]
    code = cli.main([*base, "--json", str(tmp_path)])
    assert "is a folder; name a file" in one_line_error(capsys, code)
    code = cli.main([*base, "--grid", str(tmp_path / "x.xyz")])
    assert "x.xyz: cannot be written in that format" in one_line_error(capsys, code)
    (tmp_path / "old.json").write_text("{}")
    code = cli.main([*base, "--json", str(tmp_path / "old.json")])
    assert "old.json: exists; pass --overwrite" in one_line_error(capsys, code)
    assert (tmp_path / "old.json").read_text() == "{}"
    monkeypatch.undo()
    assert cli.main([*base, "--json", str(tmp_path / "old.json"), "--overwrite"]) == 0
    assert json.loads((tmp_path / "old.json").read_text())["evaluated"] == 12


# --- 11. resuming with other settings or other photos ---------------------------------------------


@pytest.mark.slow
def test_resuming_with_another_loss_or_other_photos_is_refused(tmp_path, photo_folder):
    run = tmp_path / "run"
    tiny_run(photo_folder, run, epochs=1, steps_per_epoch=1)
    with pytest.raises(RunError, match="that run trains with --loss default"):
        tiny_run(photo_folder, run, epochs=2, loss="mae")
    other = tmp_path / "other"
    make_photo_folder(other, n=6, seed=1)
    with pytest.raises(RunError, match="trained on other photos.*another --out"):
        tiny_run(str(other), run, epochs=2)
    assert json.loads((run / "state.json").read_text())["epoch"] == 1


# --- 12, 13. temporary names: unique per process, never listed as photos ----------------------------


def test_temporary_names_are_unique_per_process_and_never_listed(tmp_path, tiny, monkeypatch):
    from colornet import infer
    from colornet.files import is_temporary

    renamed = []
    replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renamed.append(Path(src)), replace(src, dst)))
    Image.fromarray(rgb8()).save(tmp_path / "cat.jpg")
    summary = infer.colorize_files([str(tmp_path / "cat.jpg")], str(tmp_path / "out"), tiny, compare=True)
    assert not summary.failed and len(renamed) == 2
    assert all(is_temporary(p) and str(os.getpid()) in p.name for p in renamed)
    # what a killed run leaves behind (today's names and the old shared one) is not a photo
    monkeypatch.undo()
    out = tmp_path / "out"
    (out / f".cat.png.{os.getpid() + 1}.partial").write_bytes(b"\x89PNG\r\n\x1a\n")
    (out / ".cat.partial.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert find_images(out) == [str(out / "cat.png"), str(out / "cat_compare.png")]
    assert find_images(str(out / "*")) == find_images(out)


# --- 14. one list of formats ----------------------------------------------------------------------


def test_every_supported_format_is_found_in_folders_and_listed_in_the_readme(tmp_path):
    for ext in IMAGE_EXTENSIONS:
        Image.fromarray(rgb8()).save(tmp_path / f"photo_{ext[1:]}{ext}")
    found = find_images(tmp_path)
    assert len(found) == len(IMAGE_EXTENSIONS) and {".tif", ".webp"} <= {Path(p).suffix for p in found}
    for path in found:
        assert load_image(path).rgb.shape == (40, 48, 3)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Command line") : readme.index("## Python")]
    assert all(name in section for name in FORMATS.split(", ")), FORMATS


# --- 15. an empty --out ----------------------------------------------------------------------------


def test_an_empty_out_folder_is_refused(tmp_path, tiny, monkeypatch):
    from colornet.infer import colorize_files

    Image.fromarray(rgb8()).save(tmp_path / "cat.jpg")
    monkeypatch.chdir(tmp_path)
    for out in ("", "  "):
        with pytest.raises(ColornetError, match="--out is empty"):
            colorize_files(["cat.jpg"], out, tiny)
    assert sorted(os.listdir(tmp_path)) == ["cat.jpg", "tiny.json", "tiny.weights.h5"]


# --- 16. Pillow's "Corrupt EXIF" warning, named ----------------------------------------------------


def test_corrupt_exif_is_one_warning_that_names_the_file(tmp_path, tiny, capsys):
    path = corrupt_exif_jpeg(tmp_path / "odd.jpg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load_image(path).rgb.shape == (40, 48, 3)
    assert [type(w.message) for w in caught] == [ImageWarning]
    assert str(caught[0].message).startswith(f"{path}: corrupt metadata (Corrupt EXIF data")
    with pytest.warns(ImageWarning, match="odd.jpg: corrupt metadata"):
        assert cli.main(["colorize", str(path), "--model", tiny, "--out", str(tmp_path / "out")]) == 0
    assert "1 colorized" in capsys.readouterr().out


def test_photos_read_on_two_threads_keep_their_own_warnings(tmp_path):
    """`colorize_files` reads two photos at a time: each file's warning names it, none is lost or
    given to the other file, and the warning filters are as they were after."""
    from colornet import jpeg420
    from colornet.pipeline import mapped

    odd, good = corrupt_exif_jpeg(tmp_path / "odd.jpg"), tmp_path / "good.jpg"
    Image.fromarray(rgb8()).save(good)
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in mapped(lambda p: (load_image(p), jpeg420.read_planes(p)), [odd, good] * 30, depth=8):
            pass
    messages = [str(w.message) for w in caught]
    assert len(messages) == 60  # one for each read of odd.jpg, by either reader
    assert all(m.startswith(f"{odd}: corrupt metadata (Corrupt EXIF data") for m in messages)
    assert warnings.filters == filters


@pytest.mark.slow
def test_a_photo_that_fails_inside_the_pipeline_is_named_in_one_line(tmp_path, photo_folder, monkeypatch):
    """Should a bad photo get past the check (changed on disk meanwhile), training names it."""
    from colornet import images

    truncated_jpeg(Path(photo_folder) / "cut.jpg")
    monkeypatch.setattr(images, "check_image", lambda path: None)
    with pytest.raises(ImageError, match=r"^\S*cut.jpg: corrupt or truncated image data.*training stopped"):
        tiny_run(photo_folder, tmp_path / "run", val=photo_folder, samples=0)
