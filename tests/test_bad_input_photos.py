"""Bad photos, folders, names and weights files end in one line that names the file and what to do,
and the other photos are still colorized. Every bad file is made here, tiny, in tmp_path."""

import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colornet import cli
from colornet.errors import ImageError, ImageWarning, WeightsError
from colornet.images import check_image, find_images, load_image, load_rgb8

from conftest import save_tiny_beta


@pytest.fixture
def tiny(tmp_path):
    return save_tiny_beta(tmp_path / "tiny.weights.h5")


def rgb8(h=40, w=48, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def metadata_bomb_png(path, kind: bytes = b"zTXt", before_pixels: bool = True) -> Path:
    """A small PNG whose compressed text (zTXt) or color profile (iCCP) expands to 2 MB, past
    Pillow's limit: about 2 KB on disk. The chunk comes before the pixels or after them."""
    buffer = io.BytesIO()
    Image.fromarray(rgb8(8, 8)).save(buffer, "PNG")
    png = buffer.getvalue()
    payload = (b"Comment\0\0" if kind == b"zTXt" else b"icc\0\0") + zlib.compress(b"\0" * 2_000_000, 9)
    at = 33 if before_pixels else len(png) - 12  # after IHDR, or before IEND
    Path(path).write_bytes(png[:at] + chunk(kind, payload) + png[at:])
    return Path(path)


def one_line(text: str) -> str:
    text = text.strip()
    assert len(text.splitlines()) == 1 and "Traceback" not in text, text
    return text


def failed_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("  failed:")]


# --- 5. metadata that expands past Pillow's limit ----------------------------------------------


@pytest.mark.parametrize("kind", [b"zTXt", b"iCCP"])
@pytest.mark.parametrize("before_pixels", [True, False])
def test_item05_metadata_bomb_is_one_line_for_every_reader(tmp_path, kind, before_pixels):
    bomb = metadata_bomb_png(tmp_path / "bomb.png", kind, before_pixels)
    assert bomb.stat().st_size < 4000
    for read in (check_image, load_image, load_rgb8):
        with pytest.raises(ImageError) as caught:
            read(bomb)
        message = one_line(str(caught.value))
        assert message.startswith(f"{bomb}: ")
        said = message[len(f"{bomb}: ") :]
        assert "metadata" in said and "remove it" in said


def test_item05_metadata_bomb_is_skipped_by_colorize_train_style_and_the_page(tmp_path, tiny, capsys):
    from colornet.app import colorize_uploads
    from colornet.data import list_images
    from colornet.infer import style_lightness
    from colornet.models import build_model
    from colornet.predict import load_colorizer

    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(rgb8()).save(photos / "a_good.jpg")
    bomb = metadata_bomb_png(photos / "bomb.png", b"iCCP")
    Image.fromarray(rgb8(seed=1)).save(photos / "z_good.png")
    out = tmp_path / "out"
    assert cli.main(["colorize", str(photos), "--model", tiny, "--out", str(out)]) == 1
    report = capsys.readouterr().out
    assert "2 colorized" in report and "1 failed" in report
    assert len(failed_lines(report)) == 1 and "bomb.png" in failed_lines(report)[0]
    assert sorted(p.name for p in out.iterdir()) == ["a_good.png", "z_good.png"]
    with pytest.warns(ImageWarning, match="skipped 1 unreadable file.*bomb.png"):
        assert len(list_images(str(photos), on_error="skip")) == 2
    iizuka = load_colorizer(build_model("iizuka", width=0.0625, global_size=32))
    with pytest.raises(ImageError, match="style photo: .*bomb.png: its metadata"):
        style_lightness(iizuka, str(bomb))
    result = colorize_uploads([str(photos / "a_good.jpg"), str(bomb)], tiny, out_dir=tmp_path / "page")
    assert len(result.files) == 1 and len(result.messages) == 1 and "bomb.png" in result.messages[0]


# --- 6. a folder without search permission -------------------------------------------------------


def deny(monkeypatch, folder: Path) -> None:
    """Make `folder` unreadable and unsearchable, as it is for a user without permissions on it.
    Root ignores permissions: there the operating system's answers are simulated instead."""
    os.chmod(folder, 0)
    try:
        os.scandir(folder).close()
    except PermissionError:
        return  # permissions are enforced
    inside = os.path.join(str(folder), "")

    def refused(call):
        def check(path, *args, **kwargs):
            p = os.path.abspath(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else ""
            if p == str(folder) and call is real_scandir or p.startswith(inside):
                raise PermissionError(13, "Permission denied", os.fsdecode(path))
            return call(path, *args, **kwargs)

        return check

    real_stat, real_scandir = os.stat, os.scandir
    monkeypatch.setattr(os, "stat", refused(real_stat))
    monkeypatch.setattr(os, "scandir", refused(real_scandir))


@pytest.fixture
def locked_folder(tmp_path, monkeypatch):
    """in/a.png, in/locked/b.png (in a folder without permissions) and in/z.png."""
    photos = tmp_path / "in"
    (photos / "locked").mkdir(parents=True)
    for name, seed in (("a.png", 0), ("locked/b.png", 1), ("z.png", 2)):
        Image.fromarray(rgb8(seed=seed)).save(photos / name)
    deny(monkeypatch, photos / "locked")
    yield photos
    monkeypatch.undo()
    os.chmod(photos / "locked", 0o755)


def test_item06_an_unreadable_folder_is_one_warning_and_the_rest_go_on(locked_folder, tiny, tmp_path, capsys):
    with pytest.warns(ImageWarning) as warned:
        found = find_images(locked_folder)
    assert found == [str(locked_folder / "a.png"), str(locked_folder / "z.png")]
    assert len(warned) == 1
    message = one_line(str(warned[0].message))
    assert message.startswith(str(locked_folder / "locked")) and "permission denied" in message
    with pytest.warns(ImageWarning, match="permission denied"):
        code = cli.main(["colorize", str(locked_folder), "--model", tiny, "--out", str(tmp_path / "out")])
    assert code == 0 and "2 colorized" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "z.png"]


def test_item06_a_named_file_in_an_unreadable_folder_cannot_be_read(locked_folder, tiny, tmp_path, capsys):
    named = locked_folder / "locked" / "b.png"
    assert find_images(str(named)) == [str(named)]
    with pytest.raises(ImageError, match=r"b.png: cannot read it \(permission denied\)"):
        load_image(named)
    code = cli.main(
        ["colorize", str(named), str(locked_folder / "a.png"), "--model", tiny, "--out", str(tmp_path / "o")]
    )
    report = capsys.readouterr().out
    assert code == 1 and "1 colorized" in report
    assert len(failed_lines(report)) == 1
    line = failed_lines(report)[0]
    assert "b.png: cannot read it (permission denied)" in line and "no such file" not in line


# --- 7. a truncated JPEG header ------------------------------------------------------------------


def test_item07_a_200_byte_jpeg_is_called_truncated_not_a_permission_problem(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(rgb8()).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:200])
    for read in (check_image, load_image):
        with pytest.raises(ImageError) as caught:
            read(path)
        message = one_line(str(caught.value))
        assert message.startswith(f"{path}: truncated or damaged") and "permission" not in message


# --- 9. a file name that is not UTF-8 ------------------------------------------------------------


def test_item09_a_non_utf8_name_is_printed_with_a_strict_stdout(tmp_path, tiny, monkeypatch):
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(rgb8()).save(photos / "good.png")
    bad = os.path.join(str(photos), os.fsdecode(b"caf\xe9.jpg"))
    Path(bad).write_bytes(b"not a photo")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    code = cli.main(["colorize", str(photos), "--model", tiny, "--out", str(tmp_path / "out")])
    stdout.flush()
    report = stdout.buffer.getvalue().decode("utf-8")
    assert code == 1 and "1 colorized" in report and "1 failed" in report
    assert "caf\\xe9.jpg: not an image file" in failed_lines(report)[0]


# --- 14. bad options in a weights file's JSON ----------------------------------------------------


@pytest.mark.parametrize(
    "change, named",
    [
        ({"options": {"width": -3}}, "width"),
        ({"options": {"width": 0.125, "colour": True}}, "colour"),
        ({"options": {"width": "wide"}}, "width"),
        ({"options": {"width": 0.125, "batch_norm": "no"}}, "batch_norm"),
        ({"options": {"width": 0.125, "head": "rgb"}}, "head"),
        ({"options": [0.125]}, "options"),
        ({"size": "abc"}, "size"),
        ({"size": -5}, "size"),
        ({"classes": 3}, "classes"),
        ({"prior": 3}, "prior"),
    ],
)
def test_item14_bad_options_in_the_json_are_one_line_naming_it(tmp_path, change, named):
    from colornet.predict import load_colorizer

    weights = save_tiny_beta(tmp_path / "tiny.weights.h5")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **change}))
    with pytest.raises(WeightsError) as caught:
        load_colorizer(weights)
    message = one_line(str(caught.value))
    assert message.startswith(f"{config}: ") and named in message


def test_item14_the_command_line_says_it_in_one_line(tmp_path, tiny, capsys):
    Path(tiny).with_name("tiny.json").write_text('{"model": "beta", "options": {"width": -3}}')
    Image.fromarray(rgb8()).save(tmp_path / "a.png")
    code = cli.main(["colorize", str(tmp_path / "a.png"), "--model", tiny, "--out", str(tmp_path / "o")])
    err = one_line(capsys.readouterr().err)
    assert code == 2 and "tiny.json" in err and "width" in err


def test_item14_every_provided_json_is_valid():
    from colornet.weights import WEIGHTS_DIR, read_config

    for path in sorted(WEIGHTS_DIR.glob("*.weights.h5")):
        read_config(path)  # raises on a bad option


# --- 15. weights that give NaN -----------------------------------------------------------------


def test_item15_nan_weights_are_refused_when_loaded(tmp_path, capsys):
    from colornet.predict import load_colorizer

    def poison(model):
        model.weights[0].assign(np.full(model.weights[0].shape, np.nan, np.float32))

    weights = save_tiny_beta(tmp_path / "nan.weights.h5", edit=poison)
    with pytest.raises(WeightsError, match=r"nan.weights.h5: .*NaN or infinite"):
        load_colorizer(weights)
    Image.fromarray(rgb8()).save(tmp_path / "a.png")
    code = cli.main(["colorize", str(tmp_path / "a.png"), "--model", weights, "--out", str(tmp_path / "o")])
    assert code == 2 and "NaN" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "o" / "a.png").exists()


def test_item15_a_photo_whose_colors_come_out_nan_fails_in_one_line(tmp_path, tiny, monkeypatch, capsys):
    from colornet import colorize
    from colornet.predict import Colorizer

    predict = Colorizer.predict

    def nan_for_wide_photos(self, L, style=None, hints=None, compiled=False):  # NaN for some inputs only
        ab, probabilities = predict(self, L, style, hints, compiled)
        ab = ab.copy()
        if L.shape[2] > 40:
            ab[:, 0, 0, 0] = np.nan
        return ab, probabilities

    monkeypatch.setattr(Colorizer, "predict", nan_for_wide_photos)
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(rgb8(40, 48)).save(photos / "wide.png")
    Image.fromarray(rgb8(32, 32)).save(photos / "square.png")
    code = cli.main(["colorize", str(photos), "--model", tiny, "--out", str(tmp_path / "out")])
    report = capsys.readouterr().out
    assert code == 1 and "1 colorized" in report and "1 failed" in report
    line = failed_lines(report)[0]
    assert "wide.png" in line and "NaN or infinite" in line
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["square.png"]
    with pytest.raises(WeightsError, match=r"wide.png: .*NaN or infinite"):
        colorize(str(photos / "wide.png"), model=tiny)


# --- 22. every match is in the output folder -----------------------------------------------------


def test_item22_matches_in_the_out_folder_are_named_as_the_reason(tmp_path, tiny, capsys):
    photos = tmp_path / "in"
    photos.mkdir()
    for seed in range(2):
        Image.fromarray(rgb8(seed=seed)).save(photos / f"p{seed}.png")
    code = cli.main(["colorize", str(photos / "*.png"), "--model", tiny, "--out", str(photos)])
    report = capsys.readouterr().out
    assert code == 1 and "0 colorized" in report
    line = failed_lines(report)[0]
    assert "2 photo(s) found there are all in the --out folder" in line and "check the path" not in line
    assert sorted(p.name for p in photos.iterdir()) == ["p0.png", "p1.png"]


# --- 23. the Python API checks its arguments ------------------------------------------------------


def test_item23_colorize_none_says_what_it_takes(tiny):
    from colornet import colorize

    for wrong, shown in ((None, "not None"), ("", "empty"), (["a", "b"], "list")):
        with pytest.raises(ImageError) as caught:
            colorize(wrong, model=tiny)
        message = one_line(str(caught.value))
        assert "NaN" not in message and shown in message


def test_item23_load_colorizer_with_an_empty_name_is_one_line():
    from colornet.predict import load_colorizer

    for empty in ("", "  "):
        with pytest.raises(WeightsError, match="empty"):
            load_colorizer(empty)
