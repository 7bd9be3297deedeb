"""A weights file's JSON may record the decoding chosen for those weights (`"decoding"`: the
annealed mean's temperature and the share of the rebalancing taken back): `colorize` and every
command decode that way unless told otherwise, and a wrong entry is one line naming the file."""

import json
import os
import shutil
from dataclasses import replace

import numpy as np
import pytest

from colornet.errors import WeightsError


def save_tiny_features(folder, decoding=None, prior=True) -> str:
    """A tiny default-model network (width 1/8) with a prior that is not uniform (so taking back the
    rebalancing changes the colors), and `decoding` in its JSON."""
    import keras

    from colornet.bins import ab_bins
    from colornet.models import build_model
    from colornet.weights import save_config

    keras.utils.set_random_seed(3)
    path = os.path.join(folder, "tiny.weights.h5")
    build_model("features", width=0.125).save_weights(path)
    extra = {"size": 64}
    if prior:
        bins = ab_bins()
        p = np.random.default_rng(0).dirichlet(np.full(len(bins), 0.3))
        np.save(os.path.join(folder, "tiny_prior.npy"), np.column_stack([bins, p]).astype(np.float32))
        extra["prior"] = "tiny_prior.npy"
    if decoding is not None:
        extra["decoding"] = decoding
    save_config(path, "features", {"width": 0.125}, **extra)
    return path


def photo():
    return np.random.default_rng(1).integers(0, 256, (64, 96, 3), dtype=np.uint8)


def test_the_recorded_decoding_is_the_default_and_each_setting_can_still_be_changed(tmp_path):
    import colornet
    from colornet.predict import load_colorizer

    colorizer = load_colorizer(
        save_tiny_features(str(tmp_path), {"temperature": 0.5, "undo_rebalancing": 0.0})
    )
    assert colorizer.decoding() == {"temperature": 0.5, "undo_rebalancing": 0.0}
    design_s = replace(colorizer, temperature=None, undo=None)  # the same network at the design's decoding
    assert design_s.decoding() != colorizer.decoding()

    by_default = np.asarray(colornet.colorize(photo(), model=colorizer))
    asked = np.asarray(colornet.colorize(photo(), model=design_s.with_temperature(0.5, 0.0)[0]))
    np.testing.assert_allclose(by_default, asked, atol=1e-6)
    other = np.asarray(colornet.colorize(photo(), model=design_s))
    assert np.abs(other - asked).max() > 2 / 255  # the recorded decoding is not the design's

    # one setting given: the other stays as recorded
    assert colorizer.with_temperature(1.0)[0].decoding() == {"temperature": 1.0, "undo_rebalancing": 0.0}
    assert colorizer.with_temperature(None, 0.5)[0].decoding() == {
        "temperature": 0.5,
        "undo_rebalancing": 0.5,
    }


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory) -> str:
    """One tiny network's weights and prior, saved once for the wrong entries below."""
    return save_tiny_features(str(tmp_path_factory.mktemp("tiny")))


def refusal(tmp_path, tiny_files, **entries) -> tuple[str, str]:
    """The one-line `WeightsError` of a copy of the tiny files whose JSON has `entries` changed
    (None: removed), and that JSON's path."""
    from colornet.predict import load_colorizer

    path = str(tmp_path / "tiny.weights.h5")
    shutil.copy(tiny_files, path)
    shutil.copy(os.path.join(os.path.dirname(tiny_files), "tiny_prior.npy"), tmp_path)
    with open(tiny_files.replace(".weights.h5", ".json")) as f:
        config = json.load(f)
    for key, value in entries.items():
        if value is None:
            del config[key]
        else:
            config[key] = value
    config_file = path.replace(".weights.h5", ".json")
    with open(config_file, "w") as f:
        json.dump(config, f)
    with pytest.raises(WeightsError) as caught:
        load_colorizer(path)
    return str(caught.value), config_file


@pytest.mark.parametrize(
    "decoding, prior, says",
    [
        ({"temperature": -1}, True, "temperature"),
        ({"undo_rebalancing": 2}, True, "undo-rebalancing must be from 0 to 1"),
        ({"temperature": "warm"}, True, "'temperature' must be a number"),
        ({"colors": 1}, True, "'decoding' must be an object with 'temperature' and/or 'undo_rebalancing'"),
        ("vivid", True, "'decoding' must be an object"),
        ({}, True, "'decoding' must be an object"),
        ({"undo_rebalancing": 0.5}, False, "no 'prior' names the prior"),
    ],
)
def test_a_wrong_decoding_entry_is_one_line_naming_the_file(tmp_path, tiny_files, decoding, prior, says):
    message, config_file = refusal(
        tmp_path, tiny_files, decoding=decoding, **({} if prior else {"prior": None})
    )
    assert "\n" not in message and config_file in message and says in message, message


def test_the_recorded_working_size_is_the_default_and_can_still_be_changed(tmp_path):
    import colornet
    from colornet.colorizer import content_for
    from colornet.predict import load_colorizer
    from colornet.weights import config_path

    path = save_tiny_features(str(tmp_path))
    trained_size = load_colorizer(path)
    assert trained_size.work_size() == 64  # the training size, where no working size is recorded
    with open(config_path(path)) as f:
        config = json.load(f)
    config["work_size"] = 96
    with open(config_path(path), "w") as f:
        json.dump(config, f)
    colorizer = load_colorizer(path)
    assert colorizer.work_size() == 96 and colorizer.work_size(48) == 48

    by_default = np.asarray(colornet.colorize(photo(), model=colorizer))
    asked = np.asarray(colornet.colorize(photo(), model=trained_size, work_size=96))
    np.testing.assert_allclose(by_default, asked, atol=1e-6)
    # the canvas the network sees: the recorded size unless another is asked
    assert content_for(colorizer, 640, 960) == (64, 96)
    assert content_for(colorizer, 640, 960, 48) == content_for(trained_size, 960, 640, 48)[::-1] == (32, 48)
    assert content_for(trained_size, 640, 960) == (43, 64)


@pytest.mark.parametrize("work_size", [0, 100000, 96.5, "large", True])
def test_a_wrong_working_size_entry_is_one_line_naming_the_file(tmp_path, tiny_files, work_size):
    message, config_file = refusal(tmp_path, tiny_files, work_size=work_size)
    assert "\n" not in message and config_file in message and "'work_size'" in message, message
