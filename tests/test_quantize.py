"""colornet export --quantize: float16 and int8 files are smaller and color as colorize does; bad
arguments are one line each."""

import json

import numpy as np
import pytest
from PIL import Image
from test_export import difference, run_onnx, run_tflite, tflite_interpreter

import colornet
from colornet import cli
from colornet.color import to_uint8
from colornet.errors import ColornetError, ImageWarning
from colornet.export import export_model
from colornet.quantize import representative_grays

from conftest import bundled_photo

# Mean absolute RGB difference from colorize, in 8-bit levels, on scikit-image's astronaut (left out of
# the default calibration photos). Measured at 96 x 128: Beta at width 0.5 (random weights) 0.37 in int8,
# 0.03 in float16 (TFLite) and 0.00 (ONNX); the tiny default model (random, nearly gray colors) 0.01 in int8.
INT8_TOLERANCE = 3.0  # the project's target for int8
FLOAT16_TOLERANCE = 0.5
SIZE = (96, 128)  # (height, width) of the exports


@pytest.fixture(scope="module")
def gray():
    return np.asarray(Image.fromarray(bundled_photo("astronaut")).convert("L").resize(SIZE[::-1]))


@pytest.fixture(scope="module")
def half_beta(tmp_path_factory):
    """Beta at width 0.5: weights enough (4 MB) that a file size ratio means something."""
    import keras

    from colornet.models import build_model
    from colornet.weights import save_config

    path = tmp_path_factory.mktemp("beta") / "half.weights.h5"
    keras.utils.set_random_seed(0)
    build_model("beta", width=0.5).save_weights(str(path))
    save_config(str(path), "beta", {"width": 0.5})
    return str(path)


def one_line(capsys, code) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_bad_quantize_arguments_are_one_line_and_write_nothing(half_beta, tmp_path, capsys):
    out = tmp_path / "out"
    export = ["export", "--model", half_beta, "--out", str(out)]
    err = one_line(capsys, cli.main([*export, "--format", "onnx", "--quantize", "int8"]))
    assert "--quantize int8 is for --format tflite" in err and "float16" in err
    err = one_line(capsys, cli.main([*export, "--quantize", "float16"]))  # a saved_model
    assert "a saved_model export is float32" in err
    with pytest.raises(SystemExit):
        cli.main([*export, "--format", "tflite", "--quantize", "int4"])
    assert "invalid choice: 'int4'" in capsys.readouterr().err
    with pytest.raises(ColornetError, match="unknown --quantize 'int4'; use one of float32, float16, int8"):
        export_model(half_beta, "tflite", out, quantize="int4")

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no photo")
    tflite = [*export, "--format", "tflite"]
    err = one_line(capsys, cli.main([*tflite, "--quantize", "int8", "--representative", str(empty)]))
    assert f"--representative {empty}: no photos in this folder" in err
    err = one_line(
        capsys, cli.main([*tflite, "--quantize", "int8", "--representative", str(empty / "notes.txt")])
    )
    assert "not a folder" in err
    err = one_line(capsys, cli.main([*tflite, "--quantize", "float16", "--representative", str(empty)]))
    assert "use it with --quantize int8" in err
    assert not out.exists() and not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_the_representative_photos_default_to_samples_and_skip_a_bad_file(tmp_path):
    grays, said = representative_grays((40, 60))
    assert len(grays) == 28 and "scikit-image" in said
    assert all(g.shape == (40, 60) and g.dtype == np.uint8 for g in grays)
    assert len({g.tobytes() for g in grays}) == len(grays)  # no two alike

    Image.fromarray(bundled_photo("coffee")).save(tmp_path / "coffee.jpg")  # color: used as gray
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.warns(ImageWarning, match="broken.png"):
        grays, said = representative_grays((40, 60), tmp_path)
    assert len(grays) == 1 and grays[0].shape == (40, 60) and said == f"1 of the photos in {tmp_path}"
    (tmp_path / "coffee.jpg").unlink()
    with pytest.warns(ImageWarning), pytest.raises(ColornetError, match="none of its 1 photos could be read"):
        representative_grays((40, 60), tmp_path)


@pytest.mark.slow
def test_tflite_int8_is_at_most_a_third_and_float16_half_and_both_color_as_colorize(
    half_beta, gray, tmp_path, capsys
):
    expected = to_uint8(colornet.colorize(gray, model=half_beta))
    size = f"{SIZE[1]}x{SIZE[0]}"
    files = {}
    for quantize in ("float32", "float16", "int8"):
        out = tmp_path / quantize
        photos = ["--representative", str(tmp_path / "photos")] if quantize == "int8" else []
        if photos:  # the user's photos: two crops of other photos, in a folder
            (tmp_path / "photos").mkdir()
            for name in ("chelsea", "rocket"):
                Image.fromarray(bundled_photo(name)).save(tmp_path / "photos" / f"{name}.jpg")
        argv = ["export", "--model", half_beta, "--format", "tflite", "--size", size, "--out", str(out)]
        assert cli.main([*argv, "--quantize", quantize, *photos]) == 0
        said = capsys.readouterr().out
        assert (f"as tflite ({quantize}) to" in said) == (quantize != "float32")
        info = json.loads((out / "colornet_export.json").read_text())
        assert info["quantize"] == quantize and info["input"] == f"gray uint8 (1, {SIZE[0]}, {SIZE[1]}, 1)"
        files[quantize] = out / "model.tflite"
        rgb = run_tflite(files[quantize], gray)
        assert rgb.dtype == np.uint8 and rgb.shape == (*SIZE, 3)
        tolerance = {"float32": 2.0, "float16": FLOAT16_TOLERANCE, "int8": INT8_TOLERANCE}[quantize]
        assert difference(rgb, expected) < tolerance
    assert info["representative"] == f"2 of the photos in {tmp_path / 'photos'}"
    size = {q: f.stat().st_size for q, f in files.items()}
    assert size["int8"] <= size["float32"] / 3
    assert size["float16"] <= size["float32"] * 0.55
    dtypes = {d["dtype"] for d in tflite_interpreter(files["int8"]).get_tensor_details()}
    assert np.int8 in dtypes and np.float32 in dtypes  # the network in int8, L and the merge in float32


@pytest.mark.slow
def test_onnx_float16_is_half_and_colors_as_colorize(half_beta, gray, tmp_path):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnx")
    sizes = {}
    for quantize in ("float32", "float16"):
        info = export_model(half_beta, "onnx", tmp_path / quantize, size=SIZE, quantize=quantize)
        sizes[quantize] = info["bytes"]
        rgb = run_onnx(tmp_path / quantize / "model.onnx", gray)
        assert difference(rgb, to_uint8(colornet.colorize(gray, model=half_beta))) < FLOAT16_TOLERANCE
    assert sizes["float16"] <= sizes["float32"] * 0.55


@pytest.mark.slow
def test_the_default_models_network_in_int8_keeps_its_gray_to_rgb_in_float32(gray, tmp_path):
    """Its ImageNet encoder's input, L turned into the gray's RGB (a gamma curve), is spoilt by 8 bits:
    without it kept in float32 the colors of the provided weights were 4 to 7 levels off."""
    import keras

    from colornet.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("features", width=0.125)  # the encoder (Lite0) at full size: 3.4 M weights
    sizes = {}
    for quantize in ("float32", "int8"):
        info = export_model(model, "tflite", tmp_path / quantize, size=SIZE, quantize=quantize)
        sizes[quantize] = info["bytes"]
    interpreter = tflite_interpreter(tmp_path / "int8" / "model.tflite")
    dtypes = [d["dtype"] for d in interpreter.get_tensor_details() if "features_gray_rgb" in d["name"]]
    # its steps in float32; in int8 only its result, quantized for the encoder's first convolution
    assert dtypes.count(np.float32) >= 10 and dtypes.count(np.int8) <= 1
    assert sizes["int8"] <= sizes["float32"] / 3
    rgb = run_tflite(tmp_path / "int8" / "model.tflite", gray)
    assert difference(rgb, to_uint8(colornet.colorize(gray, model=model))) < INT8_TOLERANCE
