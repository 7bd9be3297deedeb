"""colornet export: each format, run without colornet, gives the photo colorize gives; bad input is one line."""

import json
import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import colornet
from colornet import cli
from colornet.color import to_uint8
from colornet.errors import ColornetError
from colornet.export import export_model
from colornet.models import get_design

from conftest import bundled_photo, save_tiny_beta, save_tiny_hints

TOLERANCE = 2.0  # mean absolute RGB difference from colorize, in 8-bit levels


@pytest.fixture(scope="module")
def gray():
    """A gray photo whose sides are not multiples of 8, uint8 (h, w)."""
    return np.asarray(Image.fromarray(bundled_photo("chelsea")).convert("L"))[:299, :451]


@pytest.fixture
def tiny(tmp_path):
    return save_tiny_beta(tmp_path / "tiny.weights.h5")


def run_saved_model(folder, gray):
    model = tf.saved_model.load(str(folder))
    return model.signatures["serving_default"](gray=tf.constant(gray))["rgb"].numpy()


def tflite_interpreter(path):
    """LiteRT's interpreter where it is installed (pip install ai-edge-litert), TensorFlow's otherwise."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter says it moves to ai_edge_litert
            return tf.lite.Interpreter(model_path=str(path))
    return Interpreter(model_path=str(path))


def run_tflite(path, gray):
    interpreter = tflite_interpreter(path)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], gray[None, ..., None])
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def run_onnx(path, gray):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: gray[None, ..., None]})[0][0]


def difference(a, b) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


@pytest.mark.slow
def test_saved_model_colors_any_size_and_a_batch_as_colorize_does(tiny, gray, tmp_path):
    info = export_model(tiny, "saved_model", tmp_path / "out")
    assert json.loads((tmp_path / "out" / "colornet_export.json").read_text())["bytes"] == info["bytes"]
    small = gray[:61, :90]  # within the working size: not resized, only padded
    for photo in (gray, small):
        rgb = run_saved_model(tmp_path / "out", photo[..., None])
        assert rgb.dtype == np.uint8 and rgb.shape == (*photo.shape, 3)
        assert difference(rgb, to_uint8(colornet.colorize(photo, model=tiny))) < TOLERANCE
    batch = run_saved_model(tmp_path / "out", np.stack([small, small[::-1]])[..., None])
    assert batch.shape == (2, 61, 90, 3)
    assert difference(batch[1], to_uint8(colornet.colorize(small[::-1], model=tiny))) < TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("image_format", ["tflite", "onnx"])
def test_fixed_size_formats_color_as_colorize_does(tiny, gray, tmp_path, image_format):
    if image_format == "onnx":
        pytest.importorskip("tf2onnx")
    info = export_model(tiny, image_format, tmp_path / "out", size=gray.shape)
    assert info["input"] == f"gray uint8 (1, {gray.shape[0]}, {gray.shape[1]}, 1)"
    run = run_tflite if image_format == "tflite" else run_onnx
    rgb = run(tmp_path / "out" / info["file"], gray)
    assert rgb.shape == (*gray.shape, 3)
    assert difference(rgb, to_uint8(colornet.colorize(gray, model=tiny))) < TOLERANCE


@pytest.mark.slow
def test_provided_beta_exported_through_the_command_colors_as_colorize_does(gray, tmp_path, capsys):
    out = tmp_path / "beta"
    assert (
        cli.main(["export", "--model", "beta", "--format", "tflite", "--size", "451x299", "--out", str(out)])
        == 0
    )
    said = capsys.readouterr().out
    assert "takes gray uint8 (1, 299, 451, 1)" in said and "MB" in said
    rgb = run_tflite(out / "model.tflite", gray)
    assert difference(rgb, to_uint8(colornet.colorize(gray, model="beta"))) < TOLERANCE


def test_a_design_with_an_embedding_outside_its_network_cannot_be_exported_and_says_so(tmp_path):
    from colornet.models import build_model

    model = build_model("full", **get_design("full").tiny_options)
    with pytest.raises(ColornetError, match="full cannot be exported"):
        export_model(model, "saved_model", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    fixed = build_model("beta", input_size=32, width=0.125)  # one input size only: no any-size SavedModel
    with pytest.raises(ColornetError, match="use --format tflite or onnx"):
        export_model(fixed, "saved_model", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_model_that_takes_color_hints_is_refused_in_one_line(tmp_path, capsys):
    weights = save_tiny_hints(tmp_path / "hints.weights.h5")
    out = tmp_path / "out"
    assert cli.main(["export", "--model", weights, "--format", "tflite", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "takes color hints, which an export has no input for" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_bad_input_is_one_line_and_leaves_nothing(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("kept")
    for overwrite in ([], ["--overwrite"]):  # not an earlier export: kept either way
        assert cli.main(["export", "--model", tiny, "--out", str(out), *overwrite]) == 2
        err = capsys.readouterr().err
        assert "no colornet_export.json" in err and len(err.strip().splitlines()) == 1
        assert (out / "mine.txt").read_text() == "kept"

    assert (
        cli.main(["export", "--model", str(tmp_path / "none.weights.h5"), "--out", str(tmp_path / "x")]) == 2
    )
    err = capsys.readouterr().err
    assert "not found" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()

    with pytest.raises(SystemExit):
        cli.main(["export", "--format", "coreml", "--out", str(tmp_path / "y")])
    assert "invalid choice: 'coreml'" in capsys.readouterr().err
    with pytest.raises(ColornetError, match="unknown format"):
        export_model(tiny, "coreml", tmp_path / "y")
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())  # no temporary folder left

    (out / "mine.txt").unlink()
    (out / "colornet_export.json").write_text("{}")  # an earlier export's folder
    assert cli.main(["export", "--model", tiny, "--out", str(out)]) == 2
    assert "already exists; choose another folder or pass --overwrite" in capsys.readouterr().err
    assert cli.main(["export", "--model", tiny, "--out", str(out), "--overwrite"]) == 0
    assert (out / "saved_model.pb").exists()


@pytest.mark.slow
@pytest.mark.parametrize("image_format", ["saved_model", "tflite", "onnx"])
def test_iizuka_exported_with_its_global_path_colors_as_colorize_does(gray, tmp_path, image_format):
    import keras

    from colornet.models import build_model

    if image_format == "onnx":
        pytest.importorskip("tf2onnx")
    keras.utils.set_random_seed(1)
    model = build_model("iizuka", width=0.0625, global_size=32, n_classes=3)  # two inputs, two outputs
    photo = gray[:150, :225]
    info = export_model(model, image_format, tmp_path / "out", size=photo.shape)
    if image_format == "saved_model":
        rgb = run_saved_model(tmp_path / "out", photo[..., None])
    else:
        rgb = (run_tflite if image_format == "tflite" else run_onnx)(tmp_path / "out" / info["file"], photo)
    assert difference(rgb, to_uint8(colornet.colorize(photo, model=model))) < TOLERANCE


@pytest.mark.slow
def test_exported_models_run_where_colornet_cannot_be_imported(tiny, gray, tmp_path):
    import subprocess
    import sys

    photo = gray[:64, :96]
    export_model(tiny, "saved_model", tmp_path / "saved")
    export_model(tiny, "tflite", tmp_path / "lite", size=photo.shape)
    np.save(tmp_path / "gray.npy", photo)
    script = f"""
import sys, warnings
sys.modules["colornet"] = None  # any import of colornet fails
import numpy as np, tensorflow as tf
gray = np.load({str(tmp_path / "gray.npy")!r})
rgb = tf.saved_model.load({str(tmp_path / "saved")!r}).signatures["serving_default"](gray=gray[..., None])["rgb"]
warnings.simplefilter("ignore")
try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    Interpreter = tf.lite.Interpreter
lite = Interpreter(model_path={str(tmp_path / "lite" / "model.tflite")!r})
lite.allocate_tensors()
lite.set_tensor(lite.get_input_details()[0]["index"], gray[None, ..., None])
lite.invoke()
np.save({str(tmp_path / "rgb.npy")!r}, np.stack([rgb.numpy(), lite.get_tensor(lite.get_output_details()[0]["index"])[0]]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = to_uint8(colornet.colorize(photo, model=tiny))
    for rgb in np.load(tmp_path / "rgb.npy"):
        assert difference(rgb, expected) < TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("image_format", ["saved_model", "tflite"])
def test_a_model_over_ab_bins_is_exported_with_its_temperature(gray, tmp_path, image_format):
    from test_zhang import save_tiny_zhang

    weights = save_tiny_zhang(tmp_path / "z.weights.h5")
    photo = gray[:64, :80]
    outputs = {}
    for t in (1.0, 0.2):
        out = tmp_path / f"out{t}"
        info = export_model(weights, image_format, out, size=photo.shape, temperature=t)
        assert info["temperature"] == t
        run = run_saved_model if image_format == "saved_model" else run_tflite
        path = out if image_format == "saved_model" else out / info["file"]
        outputs[t] = run(path, photo[..., None] if image_format == "saved_model" else photo).reshape(
            *photo.shape, 3
        )
        expected = to_uint8(colornet.colorize(photo, model=weights, temperature=t))
        assert difference(outputs[t], expected) < TOLERANCE
    assert difference(outputs[1.0], outputs[0.2]) > 2 * TOLERANCE  # the temperature is in the graph


def test_a_temperature_for_a_model_without_bins_is_a_warning(tiny, tmp_path):
    with pytest.warns(UserWarning, match="--temperature is ignored"):
        info = export_model(tiny, "saved_model", tmp_path / "out", temperature=0.2)
    assert "temperature" not in info
