"""A notebook's first call, `colornet.notebook.setup`: the quick setting wins over COLORNET_QUICK, the
folders come from the environment variables the tests set or default to the repository's, the output
folder is made, versions and mode are printed, the seed is set, and in Colab the working folder becomes
the clone's notebooks/."""

import random
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from colornet import notebook

VARIABLES = ("COLORNET_QUICK", "COLORNET_TRAIN", "COLORNET_VAL", "COLORNET_TEST", "COLORNET_OUT")


@pytest.fixture
def clean_env(monkeypatch):
    import tensorflow as tf

    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    eager = tf.config.functions_run_eagerly()
    yield monkeypatch
    tf.config.run_functions_eagerly(eager)  # the other tests run as they did


@pytest.mark.parametrize(
    "setting, variable, expected",
    [(None, None, False), (None, "1", True), (None, "0", False), (True, None, True), (False, "1", False)],
)
def test_the_setting_wins_and_none_leaves_it_to_colornet_quick(setting, variable, expected):
    environ = {} if variable is None else {"COLORNET_QUICK": variable}
    assert notebook.quick_mode(setting, environ) is expected


def test_folders_from_the_environment_or_the_repository():
    defaults = notebook.folders("02_beta", {})
    assert defaults == {
        "train": Path("../data/Train"),
        "val": Path("../data/Val"),
        "test": Path("../data/Test"),
        "out": Path("../results/02_beta"),
    }
    environ = {"COLORNET_TRAIN": "/t", "COLORNET_VAL": "/v", "COLORNET_TEST": "/x", "COLORNET_OUT": "/o"}
    assert notebook.folders("02_beta", environ) == {
        "train": Path("/t"),
        "val": Path("/v"),
        "test": Path("/x"),
        "out": Path("/o"),  # the tests' folder as it is, without the notebook's name
    }
    assert notebook.folders("02_beta", {"COLORNET_VAL": ""})["val"] == Path("../data/Val")  # empty: unset


def test_setup_prints_versions_and_mode_seeds_and_makes_the_output_folder(tmp_path, clean_env, capsys):
    import keras

    clean_env.setenv("COLORNET_QUICK", "1")
    clean_env.setenv("COLORNET_OUT", str(tmp_path / "out" / "02_beta"))
    clean_env.setenv("COLORNET_TRAIN", str(tmp_path / "train"))
    draws = []
    for _ in range(2):  # the first cell run twice: the same seed, the same draws
        settings = notebook.setup("02_beta", None)
        draws.append((random.random(), np.random.rand(), float(keras.random.uniform(()))))
    assert draws[0] == draws[1]
    quick, train, val, test, out = settings  # unpacked as the notebooks do
    assert quick is True and settings.quick is True
    assert train == tmp_path / "train" and val == Path("../data/Val") and test == Path("../data/Test")
    assert out == tmp_path / "out" / "02_beta" and out.is_dir()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("TensorFlow ") and "| Keras " in lines[0] and "| colornet " in lines[0]
    assert "| GPU: " in lines[0] and lines[1] == "quick mode"
    assert notebook.setup("02_beta", False).quick is False  # the setting wins over COLORNET_QUICK=1
    assert capsys.readouterr().out.splitlines()[1] == "full mode"


def test_quick_mode_runs_functions_op_by_op_and_full_mode_traces_them(tmp_path, clean_env):
    import tensorflow as tf

    clean_env.setenv("COLORNET_OUT", str(tmp_path / "out"))
    in_a_function = tf.function(lambda: tf.constant(tf.executing_eagerly()))
    notebook.setup("02_beta", True)
    assert bool(in_a_function()) and tf.config.functions_run_eagerly()
    tf.data.Dataset.range(2).map(lambda x: x + 1)  # traced anyway; TensorFlow's warning about it stays out
    notebook.setup("02_beta", False)
    assert not bool(in_a_function()) and not tf.config.functions_run_eagerly()


def test_in_colab_the_working_folder_becomes_the_clones_notebooks(tmp_path, clean_env):
    clean_env.setenv("COLORNET_OUT", str(tmp_path / "out"))
    clean_env.chdir(tmp_path)  # Colab starts in /content
    clean_env.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    notebook.setup("01_alpha")
    assert Path.cwd() == notebook.NOTEBOOKS  # ../data and ../weights are the clone's
