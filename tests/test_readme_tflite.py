"""The example that runs a TFLite export (docs/export.md, linked from the README): it runs as written,
with TensorFlow's interpreter and (where it is installed) LiteRT's, prints nothing (no deprecation
warning, no native start-up lines), and gives the photo `colorize` gives, also from an int8 export."""

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import colornet
from colornet.color import to_uint8

from conftest import NOTEBOOKS, bundled_photo, save_tiny_beta

README = os.path.join(os.path.dirname(NOTEBOOKS), "docs", "export.md")  # the README links to it


def readme_example() -> str:
    with open(README) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.DOTALL)
    (example,) = [b for b in blocks if "model.tflite" in b]
    return example


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny Beta exported to TFLite at 48 x 64, a gray photo, and what `colorize` makes of it."""
    from colornet.export import export_model

    folder = tmp_path_factory.mktemp("tflite")
    weights = save_tiny_beta(folder / "tiny.weights.h5")
    export_model(weights, "tflite", folder / "export", size=(48, 64))
    gray = np.asarray(Image.fromarray(bundled_photo("chelsea")).convert("L").resize((64, 48)))
    Image.fromarray(gray).save(folder / "old.png")
    return folder, to_uint8(colornet.colorize(gray, model=weights))


def run_example(folder, prelude: str = "", export: str = "export") -> subprocess.CompletedProcess:
    code = (
        readme_example()
        .replace("exported/iizuka_tflite/model.tflite", str(folder / export / "model.tflite"))
        .replace("old_photo.jpg", str(folder / "old.png"))
        .replace("old_photo_color.png", str(folder / "color.png"))
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as in a reader's shell
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, env=env, cwd=folder
    )


def colorized_like_colorize(folder, expected, tolerance: float = 2.0) -> bool:
    with Image.open(folder / "color.png") as image:
        rgb = np.asarray(image)
    return rgb.shape == expected.shape and np.abs(rgb.astype(float) - expected).mean() < tolerance


@pytest.mark.slow
def test_item28_the_readme_tflite_example_runs_quietly_with_tensorflows_interpreter(exported):
    folder, expected = exported
    done = run_example(folder, prelude="import sys; sys.modules['ai_edge_litert'] = None  # not installed\n")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "" and done.stderr == "", done.stderr[-3000:]  # no deprecation, no log lines
    assert colorized_like_colorize(folder, expected)


def test_item28_the_readme_tflite_example_runs_with_litert(exported):
    if importlib.util.find_spec("ai_edge_litert") is None:
        pytest.skip("LiteRT is not installed (pip install ai-edge-litert)")
    folder, expected = exported
    (folder / "color.png").unlink(missing_ok=True)
    done = run_example(folder)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "" and done.stderr == "", done.stderr[-3000:]
    assert colorized_like_colorize(folder, expected)


@pytest.mark.slow
def test_the_readme_tflite_example_runs_an_int8_export_with_litert_or_tensorflow(exported):
    from colornet.export import export_model

    folder, expected = exported
    export_model(folder / "tiny.weights.h5", "tflite", folder / "int8", size=(48, 64), quantize="int8")
    (folder / "color.png").unlink(missing_ok=True)
    done = run_example(folder, export="int8")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "" and done.stderr == "", done.stderr[-3000:]
    assert colorized_like_colorize(folder, expected, tolerance=3.0)  # int8's target
