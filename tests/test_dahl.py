"""Dahl 2016: VGG16's taps, the residual encoder and hypercolumns, YUV, the blurred-distance loss,
ImageNet weights and the lines that say why they cannot be used."""

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from colornet.codecs import YUVCodec
from colornet.errors import WeightsError
from colornet.losses import blur, blurred_distance, gaussian_kernel, get_loss
from colornet.models import get_design
from colornet.models.dahl import TAPS, build_dahl, build_vgg16_taps, load_vgg16_weights

from conftest import bundled_photo

TINY = {"width": 0.125}


def lab_of(name: str, size: int = 64) -> np.ndarray:
    from skimage import color as skcolor
    from skimage.transform import resize

    rgb = resize(bundled_photo(name), (size, size), anti_aliasing=True)
    return skcolor.rgb2lab(rgb)[None].astype(np.float32)  # (1, size, size, 3)


def test_taps_are_before_the_first_four_max_pools():
    encoder = build_vgg16_taps(width=1.0)
    assert TAPS == ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")
    taps = encoder(np.zeros((1, 48, 80, 3), np.float32))
    assert [tuple(t.shape) for t in taps] == [
        (1, 48, 80, 64),
        (1, 24, 40, 128),
        (1, 12, 20, 256),
        (1, 6, 10, 512),
    ]
    # the same layers as keras.applications' VGG16, so that its ImageNet weights load by name
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    for layer in encoder.layers:
        if layer.weights:
            assert [w.shape for w in layer.weights] == [w.shape for w in vgg.get_layer(layer.name).weights]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["residual", "hypercolumn"])
def test_both_variants_build_train_one_step_and_decode(variant):
    keras.utils.set_random_seed(0)
    design = get_design("dahl")
    model = build_dahl(variant=variant, **TINY)
    assert model.output_shape == (None, None, None, 2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss(design.make_loss()[0]))
    lab = lab_of("coffee", 32)
    y, uv = design.make_codec().encode(lab)
    before = [np.array(w) for w in model.trainable_weights]
    assert np.isfinite(model.train_on_batch(y, uv))
    assert any(not np.array_equal(b, np.asarray(a)) for b, a in zip(before, model.trainable_weights))
    out = model(y)
    assert float(np.min(out)) >= 0 and float(np.max(out)) <= 1  # sigmoid
    ab = np.asarray(design.make_codec().decode(out, y))
    assert ab.shape == (1, 32, 32, 2) and np.all(np.isfinite(ab))


def test_the_encoder_is_frozen_unless_asked():
    frozen = build_dahl(**TINY)
    assert frozen.get_layer("dahl_vgg16").trainable_variables == []
    assert frozen.trainable_variables  # the decoder and the taps' batch normalization learn
    trainable = build_dahl(train_encoder=True, **TINY)
    assert len(trainable.get_layer("dahl_vgg16").trainable_variables) == 2 * 10  # 10 convolutions


def test_sizes_that_do_not_reach_block4_are_refused():
    with pytest.raises(ValueError, match="multiple of 8"):
        build_dahl(input_size=12, **TINY)
    with pytest.raises(ValueError, match="must be a positive multiple of 8 for dahl, got 4; use 8 or 16"):
        get_design("dahl").check_size(4)


def test_yuv_round_trip_keeps_the_colors():
    codec = YUVCodec()
    lab = lab_of("astronaut")
    y, uv = codec.encode(lab)
    assert float(tf.reduce_min(uv)) >= 0 and float(tf.reduce_max(uv)) <= 1
    ab = np.asarray(codec.decode(uv, y))
    # Y comes from L alone (the gray photo's), so colors move a little where they are strong
    assert np.abs(ab - lab[..., 1:]).mean() < 0.5
    gray = np.asarray(codec.decode(np.full_like(uv, 0.5), y))
    assert np.abs(gray).max() < 0.01  # U = V = 0 is gray


def test_blurred_distance_is_zero_for_equal_maps_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    maps = blur(rng.random((2, 48, 48, 2)).astype(np.float32), 2.0)  # smooth color maps
    assert float(tf.reduce_max(blurred_distance(maps, maps))) == 0.0
    losses = [float(tf.reduce_mean(blurred_distance(maps, tf.roll(maps, s, axis=2)))) for s in (1, 2, 4, 8)]
    assert all(a < b for a, b in zip(losses, losses[1:])), losses
    assert blurred_distance(maps, maps).shape == (2, 48, 48)


def test_blur_keeps_each_channel_to_itself():
    kernel = gaussian_kernel(3.0)
    assert kernel.shape == (13,) and abs(kernel.sum() - 1) < 1e-6
    maps = np.zeros((1, 31, 31, 2), np.float32)
    maps[0, 15, 15, 0] = 1.0  # a point in the first channel only
    blurred = np.asarray(blur(maps, 3.0))
    assert blurred[..., 1].max() == 0.0
    assert abs(blurred[..., 0].sum() - 1.0) < 1e-5 and blurred[0, 15, 15, 0] == blurred[..., 0].max()


def fake_vgg16_file(path, network=None) -> str:
    """A keras.applications-style weights file (`load_weights`' legacy HDF5 layout) of `network`
    (default: VGG16 without its classifier, random weights)."""
    from keras.src.legacy.saving import legacy_h5_format

    network = network or keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, network)
    return str(path)


@pytest.mark.slow
def test_imagenet_weights_load_by_name_and_bad_files_say_so_in_one_line(tmp_path):
    keras.utils.set_random_seed(1)
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = fake_vgg16_file(tmp_path / "vgg16_notop.h5", vgg)
    model = build_dahl()
    note = load_vgg16_weights(model, path)
    assert note.startswith("VGG16 from") and note.endswith("frozen")
    encoder = model.get_layer("dahl_vgg16")
    np.testing.assert_array_equal(
        encoder.get_layer("block4_conv3").get_weights()[0], vgg.get_layer("block4_conv3").get_weights()[0]
    )

    truncated = tmp_path / "truncated.h5"
    with open(path, "rb") as f:
        truncated.write_bytes(f.read()[:100_000])
    other = fake_vgg16_file(
        tmp_path / "mobilenet.h5", keras.applications.MobileNetV2(weights=None, alpha=0.35)
    )
    for bad in (truncated, other):
        with pytest.raises(WeightsError, match="not usable as VGG16 ImageNet weights") as err:
            load_vgg16_weights(model, str(bad))
        message = str(err.value)
        assert "\n" not in message and "--encoder-weights none" in message
        assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    with pytest.raises(WeightsError, match="full width only"):
        load_vgg16_weights(build_dahl(**TINY), path)
    assert "from scratch" in load_vgg16_weights(build_dahl(**TINY), None)


def test_imagenet_weights_offline_say_how_to_get_them(tmp_path, monkeypatch):
    import colornet.pretrained as pretrained

    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr(pretrained, "keras_models_dir", lambda: tmp_path / "keras")
    monkeypatch.setattr(pretrained, "default_weights_dir", lambda: tmp_path / "weights")
    with pytest.raises(WeightsError, match="ImageNet weights for VGG16 could not be downloaded") as err:
        load_vgg16_weights(build_dahl(**TINY), "imagenet")
    message = str(err.value)
    assert "\n" not in message and "Name or service not known" in message
    assert f"put it in {tmp_path / 'weights'}/ (or ~/.keras/models/)" in message
    assert (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message and "--encoder-weights none" in message
    )
    # a file already in weights/ is used without a download
    (tmp_path / "weights").mkdir()
    fake_vgg16_file(tmp_path / "weights" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert pretrained.imagenet_weights_file("vgg16") == str(
        tmp_path / "weights" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )


def test_the_backbone_sees_the_gray_photo_as_vgg16_does():
    from colornet.pretrained import BackboneInput

    y = np.full((1, 2, 2, 1), 0.5, np.float32)
    rgb = np.asarray(BackboneInput("vgg16", "y")(y))
    expected = keras.applications.vgg16.preprocess_input(np.full((1, 2, 2, 3), 127.5, np.float32))
    np.testing.assert_allclose(rgb, expected, atol=1e-4)


@pytest.mark.slow
def test_command_line_trains_from_scratch_and_says_so(photo_folder, tmp_path, capsys):
    from colornet.cli import main

    out = tmp_path / "run"
    argv = ["train", "dahl", "--data", photo_folder, "--size", "16", "--epochs", "1", "--batch-size", "4"]
    argv += ["--width", "0.125", "--variant", "hypercolumn", "--encoder-weights", "none", "--verbose", "0"]
    assert main([*argv, "--out", str(out), "--precision", "float32"]) == 0
    first = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Training dahl")][0]
    assert "VGG16 encoder trained from scratch (no ImageNet weights), so it is trainable" in first
    import json

    options = json.loads((out / "best.json").read_text())["options"]
    assert options == {"variant": "hypercolumn", "width": 0.125, "train_encoder": True, "encoder": "vgg16"}
