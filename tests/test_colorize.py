"""`colorize()` and `python -m colornet colorize`: any size, L kept, odd inputs, bad files, outputs."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import colornet
import colornet.infer as cz
from colornet import cli, samples
from colornet.color import rgb_to_lab
from colornet.errors import WeightsError
from colornet.images import ImageError, load_image
from colornet.models import build_model
from colornet.weights import save_config

from conftest import bundled_photo, save_tiny_beta

ROOT = Path(__file__).resolve().parent.parent


def make_vivid(model):
    """The ab layer outputs a strong constant color (a = +127, b = -123), far outside
    the sRGB gamut for most L."""
    layer = model.get_layer("beta_ab")
    kernel, _ = layer.get_weights()
    layer.set_weights([np.zeros_like(kernel), np.array([3.0, -2.0], np.float32)])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    return {
        "tiny": save_tiny_beta(folder / "tiny.weights.h5"),
        "vivid": save_tiny_beta(folder / "vivid.weights.h5", edit=make_vivid),
    }


def photo(h, w, name="astronaut") -> np.ndarray:
    """A real photo resized to h x w, uint8 RGB."""
    return np.asarray(Image.fromarray(bundled_photo(name)).resize((w, h), Image.BILINEAR))


def lab(rgb) -> np.ndarray:
    """CIE Lab of uint8 or float RGB (alpha ignored)."""
    rgb = np.asarray(rgb)[..., :3]
    return np.asarray(rgb_to_lab(rgb if rgb.dtype == np.uint8 else rgb.astype(np.float32)))


def lightness(rgb) -> np.ndarray:
    return lab(rgb)[..., 0]


def chroma(rgb) -> np.ndarray:
    return np.hypot(lab(rgb)[..., 1], lab(rgb)[..., 2])


def opened(path):
    """(format, mode, size) of an image file, closing it."""
    with Image.open(path) as im:
        return im.format, im.mode, im.size


def run_cli(*args) -> int:
    return cli.main(["colorize", *map(str, args)])


# --- geometry -------------------------------------------------------------------


@pytest.mark.parametrize(
    "h, w, work_size, canvas, expected",
    [
        (480, 640, 512, None, ((384, 512), (384, 512))),
        (640, 480, 512, None, ((512, 384), (512, 384))),
        (7, 9, 512, None, ((7, 9), (8, 16))),  # small photos are not enlarged, only padded
        (4000, 300, 512, None, ((512, 38), (512, 40))),  # a tall panorama is not squashed
        (480, 640, 512, (256, 256), ((192, 256), (256, 256))),  # a fixed-size model: letterboxed
    ],
)
def test_working_shape_keeps_the_aspect_ratio(h, w, work_size, canvas, expected):
    assert cz.working_shape(h, w, work_size, canvas) == expected


@pytest.mark.parametrize(
    "shape, size",
    [
        ((432, 576), (168, 224)),
        ((300, 451), (160, 240)),
        ((4000, 300), (512, 38)),
        ((37, 99), (36, 99)),
        ((9, 9), (1, 1)),
    ],
)
def test_the_canvas_is_shrunk_as_tensorflows_antialiased_resize(shape, size):
    """`canvas.shrunk` (sparse products) gives `tf.image.resize(bilinear, antialias=True)`."""
    import tensorflow as tf

    from colornet.canvas import shrunk

    L = np.random.default_rng(sum(shape)).uniform(0, 100, shape).astype(np.float32)
    expected = np.asarray(tf.image.resize(L[None, ..., None], size, "bilinear", antialias=True))[0, ..., 0]
    assert np.abs(shrunk(L, size) - expected).max() < 1e-4


@pytest.mark.parametrize("shape", [(7, 9), (640, 480), (480, 640), (1500, 90)])
def test_output_has_the_input_size_and_its_l_at_full_resolution(weights, shape):
    image = photo(*shape)
    # A working resolution far below the photo's: L must still come from the full-size photo.
    rgb = cz.colorize(image, weights["vivid"], work_size=48)
    assert rgb.shape == (*shape, 3) and rgb.dtype == np.float32
    assert np.isfinite(rgb).all() and rgb.min() >= 0.0 and rgb.max() <= 1.0
    # The model's colors lie outside the gamut for most L; the chroma is reduced rather than L changed.
    assert np.abs(lightness(rgb) - lightness(image)).max() <= 1.0
    assert chroma(rgb).mean() > 10.0  # and colors were added


def test_a_1x1_image_is_refused_with_a_clear_error(weights):
    with pytest.raises(ImageError, match=r"1x1 pixels is too small"):
        cz.colorize(np.zeros((1, 1, 3), np.uint8), weights["tiny"])


def pixelwise_model() -> keras.Model:
    """ab = 128 tanh(0.3 l_norm) * (1, -1) for each pixel: colors that follow the L channel."""
    inputs = keras.Input((None, None, 1))
    ab = keras.layers.Conv2D(2, 1, activation="tanh")(inputs)
    model = keras.Model(inputs, ab)
    model.layers[-1].set_weights([np.array([[[[0.3, -0.3]]]], np.float32), np.zeros(2, np.float32)])
    return model


@pytest.mark.parametrize("shape, block", [((470, 630), (160, 160)), ((1500, 120), (250, 10_000))])
def test_colors_land_where_the_photo_is(shape, block):
    # Blocks of dark (L 20) and light (L 80) gray; padding is needed at the working resolution.
    y, x = np.mgrid[: shape[0], : shape[1]]
    dark = ((y // block[0]) + (x // block[1])) % 2 == 0
    gray = np.where(dark, 0.19, 0.78).astype(np.float32)  # about L 20 and L 80
    rgb = cz.colorize(gray, pixelwise_model(), work_size=60)
    L = lightness(np.repeat(gray[..., None], 3, axis=-1))
    expected_a = 128 * np.tanh(0.3 * (L / 50 - 1))
    result = lab(rgb)
    # Away from block edges (3 working pixels, in full-size pixels), a and b match the model.
    margin = int(3 * max(shape) / 60)
    near_edge = np.zeros(shape, bool)
    for axis, size in ((0, block[0]), (1, block[1])):
        coord = y if axis == 0 else x
        distance = np.minimum(coord % size, size - coord % size)
        near_edge |= (distance < margin) & (coord >= margin)
    inside = ~near_edge
    assert inside.mean() > 0.3
    assert np.abs(result[..., 1] - expected_a)[inside].max() < 2.0
    assert np.abs(result[..., 2] + expected_a)[inside].max() < 2.0


# --- odd inputs -----------------------------------------------------------------


def test_gray_rgba_16bit_palette_and_rotated_inputs(weights, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    color = photo(40, 56, "chelsea")
    gray = np.asarray(Image.fromarray(color).convert("L"))
    alpha = np.tile(np.linspace(0, 255, 56).astype(np.uint8), (40, 1))
    Image.fromarray(gray).save(src / "gray.png")
    Image.fromarray(np.dstack([color, alpha])).save(src / "rgba.png")
    Image.fromarray(gray.astype(np.uint16) * 256 + 77).save(src / "deep.png")  # 16-bit, not a multiple of 257
    assert opened(src / "deep.png")[1].startswith("I")
    Image.fromarray(color).quantize(32).save(src / "palette.png")
    Image.fromarray(color).quantize(32).save(src / "palette_transparent.gif", transparency=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 56 wide, shown rotated: 40 wide, 56 tall
    Image.fromarray(color).save(src / "rotated.jpg", exif=exif)

    summary = cz.colorize_files(src, tmp_path / "out", weights["vivid"])
    assert not summary.failed and len(summary.colorized) == 6
    for stem in ("gray", "rgba", "deep", "palette", "palette_transparent", "rotated"):
        given = load_image(next(src.glob(f"{stem}.*")))
        result = load_image(tmp_path / "out" / f"{stem}.png")
        assert result.rgb.shape == given.rgb.shape, stem
        assert np.abs(lightness(result.rgb) - lightness(given.rgb)).max() <= 1.0, stem
        assert chroma(result.rgb).mean() > 10.0, stem
    assert load_image(tmp_path / "out" / "rotated.png").rgb.shape == (56, 40, 3)
    rgba = load_image(tmp_path / "out" / "rgba.png")
    np.testing.assert_array_equal(np.round(rgba.alpha * 255).astype(np.uint8), alpha)
    # The in-memory API returns RGBA for RGBA input.
    assert colornet.colorize(np.dstack([color, alpha]), weights["tiny"]).shape == (40, 56, 4)


# --- files and folders ----------------------------------------------------------


def test_a_folder_with_bad_files_colorizes_the_rest_and_names_them(photo_folder, weights, tmp_path, capsys):
    good = sorted(Path(photo_folder).rglob("*.*"))
    bad = Path(photo_folder) / "group0"
    jpeg = next(p for p in good if p.suffix == ".jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (bad / "empty.png").write_bytes(b"")
    (bad / "notes.jpg").write_text("not a photo")
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(bad / "dot.png")

    code = run_cli(photo_folder, "--model", weights["tiny"], "--out", tmp_path / "out")
    assert code == 1
    written = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.*"))
    assert written == sorted(p.relative_to(photo_folder).with_suffix(".png") for p in good)
    report = capsys.readouterr().out
    assert f"{len(good)} colorized" in report and "4 failed" in report
    failed_lines = [line for line in report.splitlines() if line.startswith("  failed:")]
    assert len(failed_lines) == 4
    for name in ("truncated.jpg", "empty.png", "notes.jpg", "dot.png"):
        assert sum(name in line for line in failed_lines) == 1, name


def test_missing_inputs_are_reported_and_the_rest_go_on(weights, tmp_path, capsys):
    Image.fromarray(photo(24, 32)).save(tmp_path / "one.jpg")
    code = run_cli(
        tmp_path / "one.jpg", tmp_path / "nowhere", "--model", weights["tiny"], "--out", tmp_path / "out"
    )
    assert code == 1 and (tmp_path / "out" / "one.png").exists()
    assert "nowhere: no such file" in capsys.readouterr().out


def test_existing_outputs_are_kept_unless_overwrite(weights, tmp_path, capsys):
    Image.fromarray(photo(24, 32)).save(tmp_path / "one.jpg")
    out = tmp_path / "out" / "one.png"
    args = (tmp_path / "one.jpg", "--model", weights["tiny"], "--out", tmp_path / "out")
    assert run_cli(*args) == 0 and out.exists()
    out.write_bytes(b"kept")
    assert run_cli(*args) == 0
    assert out.read_bytes() == b"kept"
    assert "1 skipped" in capsys.readouterr().out
    assert run_cli(*args, "--overwrite") == 0
    assert load_image(out).rgb.shape == (24, 32, 3)


def test_inputs_are_never_replaced(weights, tmp_path, capsys):
    Image.fromarray(photo(24, 32)).save(tmp_path / "one.png")
    before = (tmp_path / "one.png").read_bytes()
    code = run_cli(tmp_path / "one.png", "--model", weights["tiny"], "--out", tmp_path, "--overwrite")
    assert code == 1
    assert (tmp_path / "one.png").read_bytes() == before
    assert "would replace an input" in capsys.readouterr().out
    # the input folder itself as --out: refused before any work (its results would be read next time)
    assert run_cli(tmp_path, "--model", weights["tiny"], "--out", tmp_path, "--overwrite") == 2
    assert (tmp_path / "one.png").read_bytes() == before
    assert "is the input folder" in capsys.readouterr().err


def test_same_stems_get_distinct_outputs(weights, tmp_path):
    Image.fromarray(photo(24, 32)).save(tmp_path / "one.png")
    Image.fromarray(photo(24, 32, "coffee")).save(tmp_path / "one.jpg")
    summary = cz.colorize_files(tmp_path, tmp_path / "out", weights["tiny"])
    assert sorted(os.listdir(tmp_path / "out")) == ["one.png", "one_png.png"]
    assert len(summary.written) == 2


def test_compare_strips_and_jpeg_output(weights, tmp_path):
    Image.fromarray(photo(30, 40)).save(tmp_path / "color.png")
    Image.fromarray(photo(30, 40)).convert("L").save(tmp_path / "gray.png")
    out = tmp_path / "out"
    code = run_cli(tmp_path, "--model", weights["tiny"], "--out", out, "--compare", "--format", "jpg")
    assert code == 0
    assert sorted(os.listdir(out)) == ["color.jpg", "color_compare.png", "gray.jpg", "gray_compare.png"]
    assert opened(out / "color.jpg")[0] == "JPEG"
    assert opened(out / "color_compare.png")[2] == (3 * 40 + 8, 30)  # gray | colorized | original
    assert opened(out / "gray_compare.png")[2] == (2 * 40 + 4, 30)  # gray | colorized


def test_photos_of_one_working_size_are_batched(weights, tmp_path, monkeypatch):
    for i, name in enumerate(["astronaut", "chelsea", "coffee", "rocket", "astronaut", "coffee"]):
        (tmp_path / "in").mkdir(exist_ok=True)
        Image.fromarray(photo(40, 56 if i < 5 else 80, name)).save(tmp_path / "in" / f"p{i}.png")
    from colornet.predict import Colorizer

    calls = []
    predict = Colorizer.predict

    def spy(self, canvases, style=None, hints=None, compiled=False):
        calls.append((len(canvases), compiled))
        return predict(self, canvases, style, hints, compiled)

    monkeypatch.setattr(Colorizer, "predict", spy)
    cz.colorize_files(tmp_path / "in", tmp_path / "out", weights["tiny"], batch_size=4)
    # 6 photos, more than a batch: the network runs compiled, every call a full batch of 4: the 5
    # photos of one size in 4 + 1 (padded), and the wide one alone (padded)
    assert calls == [(4, True)] * 3
    calls.clear()
    cz.colorize_files(tmp_path / "in", tmp_path / "eager", weights["tiny"], batch_size=8)
    assert sorted(calls) == [(1, False), (5, False)]  # a few photos: called layer by layer, not padded
    for i in range(6):
        single = np.round(cz.colorize(tmp_path / "in" / f"p{i}.png", weights["tiny"]) * 255)
        for folder in ("out", "eager"):
            batched = np.round(load_image(tmp_path / folder / f"p{i}.png").rgb * 255)
            assert np.abs(batched - single).max() <= 1


def test_default_run_fills_data_test_and_colorizes_it(weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(samples, "SAMPLES_DIR", tmp_path / "data" / "Test")
    monkeypatch.chdir(tmp_path)
    assert run_cli("--model", weights["tiny"]) == 0
    names = sorted(p.name for p in (tmp_path / "data" / "Test").iterdir())
    stems = sorted(samples.SAMPLES)
    assert names == sorted(["README.md", *(f"{s}.jpg" for s in stems)])
    assert "drop your own photos here" in (tmp_path / "data" / "Test" / "README.md").read_text().lower()
    for stem in stems:
        assert opened(tmp_path / "data" / "Test" / f"{stem}.jpg")[1] == "L"
    assert sorted(os.listdir(tmp_path / "results")) == [f"{s}.png" for s in stems]
    assert "added 6 desaturated sample photos" in capsys.readouterr().out


def test_samples_leave_a_folder_with_photos_alone(tmp_path):
    Image.fromarray(photo(24, 32)).save(tmp_path / "mine.jpg")
    assert samples.fill_samples(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["README.md", "mine.jpg"]


# --- models and weights ---------------------------------------------------------


def test_a_loaded_colorizer_is_a_value_that_colorize_reuses(weights, tmp_path):
    """Loading is explicit: a Colorizer carries its network, design and training size; colorize
    with it gives what colorize with the path gives, and nothing is cached behind it."""
    import colornet

    path = save_tiny_beta(tmp_path / "mine.weights.h5")
    save_config(path, "beta", {"width": 0.125}, size=16)
    colorizer = colornet.load_colorizer(path)
    assert colorizer.design.name == "beta" and colorizer.training_size == 16
    assert cz.load_colorizer(colorizer) is colorizer
    image = photo(24, 40)
    np.testing.assert_array_equal(cz.colorize(image, colorizer), cz.colorize(image, path))
    save_tiny_beta(path, seed=1)  # other weights in the same file: a new load sees them
    save_config(path, "beta", {"width": 0.125}, size=16)
    assert not np.array_equal(cz.colorize(image, path), cz.colorize(image, colorizer))
    assert not hasattr(colorizer.model, "training_size")


def test_weights_problems_give_one_sentence(weights, tmp_path, capsys):
    image = photo(16, 16)
    with pytest.raises(WeightsError, match="train them"):
        cz.colorize(image, "beta", weights_dir=tmp_path)
    (tmp_path / "beta.weights.h5").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\n")
    with pytest.raises(WeightsError, match="git lfs pull"):
        cz.colorize(image, "beta", weights_dir=tmp_path)
    path = save_tiny_beta(tmp_path / "beta.weights.h5")
    data = Path(path).read_bytes()
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(data).hexdigest()}  beta.weights.h5\n")
    assert cz.colorize(image, "beta", weights_dir=tmp_path).shape == (16, 16, 3)
    Path(path).write_bytes(data[: len(data) // 2])  # a truncated download
    with pytest.raises(WeightsError, match="checksum"):
        cz.colorize(image, "beta", weights_dir=tmp_path)

    assert run_cli(tmp_path / "in.jpg", "--model", tmp_path / "missing.weights.h5") == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "missing.weights.h5: weights file not found" in error


@pytest.mark.slow
def test_command_line_in_a_subprocess(weights, tmp_path):
    Image.fromarray(photo(24, 32)).save(tmp_path / "one.jpg")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "colornet", "colorize", "one.jpg", "--model", weights["tiny"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 colorized into results, 0 failed." in done.stdout
    assert load_image(tmp_path / "results" / "one.png").rgb.shape == (24, 32, 3)


def test_results_inside_the_input_folder_are_not_colorized_again(weights, tmp_path):
    Image.fromarray(photo(24, 32)).save(tmp_path / "one.jpg")
    args = (tmp_path, "--model", weights["tiny"], "--out", tmp_path / "results")
    assert run_cli(*args) == 0
    assert run_cli(*args, "--overwrite") == 0
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == ["one.png"]


def test_default_working_resolution_is_the_training_size(tmp_path):
    from colornet.predict import WORK_SIZE, load_colorizer

    model = build_model("beta", width=0.125)
    path = tmp_path / "sized.weights.h5"
    model.save_weights(path)
    save_config(path, "beta", {"width": 0.125}, size=64)
    assert load_colorizer(str(path)).work_size() == 64
    assert load_colorizer(str(path)).work_size(100) == 100
    assert load_colorizer(build_model("beta", width=0.125)).work_size() == WORK_SIZE
