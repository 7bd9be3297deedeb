"""The pix2pix U-Net (`unet`), its PatchGAN (`unet-gan`) and the YCrCb color space."""

import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colornet import cli
from colornet.codecs import YCrCbCodec
from colornet.color import rgb_to_gray, rgb_to_lab, rgb_to_ycrcb, ycrcb_to_rgb
from colornet.models import get_design
from colornet.models.gan import ConditionalGAN
from colornet.models.patchgan import RECEPTIVE_FIELD, build_patchgan, patch_of
from colornet.models.unet import build_unet, depth_for_size

from conftest import bundled_photo

TINY = {"width": 0.0625}


@pytest.mark.parametrize("depth, h, w", [(3, 8, 16), (4, 32, 48), (7, 128, 128), (7, 128, 256)])
def test_the_unet_takes_multiples_of_two_to_the_depth(depth, h, w):
    model = build_unet(depth=depth, **TINY)
    out = model(np.zeros((1, h, w, 1), np.float32), training=False)
    assert out.shape == (1, h, w, 2) and float(np.max(np.abs(out))) <= 1  # tanh
    bottleneck = model.get_layer(f"unet_down{depth}").output.shape
    assert bottleneck[-1] == min(512, 64 * 2 ** (depth - 1)) * TINY["width"]
    down = [
        layer for layer in model.layers if layer.name.startswith("unet_down") and "_" not in layer.name[5:]
    ]
    assert len(down) == depth
    dropouts = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == [f"unet_up{j}_dropout" for j in range(1, min(3, depth - 1) + 1)]
    leaky = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == depth and all(layer.negative_slope == pytest.approx(0.2) for layer in leaky)


def test_depth_follows_the_size_and_bad_sizes_name_the_nearest():
    assert depth_for_size({}, 128)["depth"] == 7
    assert depth_for_size({}, 256)["depth"] == 8
    assert depth_for_size({}, 192)["depth"] == 6
    assert depth_for_size({"depth": 4}, 128)["depth"] == 4
    design = get_design("unet")
    with pytest.raises(ValueError, match="multiple of 128 for unet, got 200; use 128 or 256"):
        design.check_size(200, options={"depth": 7})
    with pytest.raises(ValueError, match="depth must be an integer from 3 to 8"):
        build_unet(depth=9)


@pytest.mark.slow
def test_unet_weights_start_a_gan_run_and_the_json_records_the_options(photo_folder, tmp_path, capsys):
    common = [
        "--data",
        photo_folder,
        "--size",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--width",
        "0.0625",
    ]
    common += ["--verbose", "0", "--precision", "float32"]
    assert cli.main(["train", "unet", *common, "--out", str(tmp_path / "l1")]) == 0
    stage1 = json.loads((tmp_path / "l1" / "best.json").read_text())
    assert stage1["options"] == {
        "depth": 5, "width": 0.0625, "color_space": "lab", "encoder": "none", "train_encoder": False,
    }  # fmt: skip
    init = tmp_path / "l1" / "best.weights.h5"
    assert cli.main(["train", "unet-gan", *common, "--init", str(init), "--out", str(tmp_path / "gan")]) == 0
    state = json.loads((tmp_path / "gan" / "state.json").read_text())
    assert {"loss", "val_loss", "d_loss", "g_gan", "g_loss"} <= set(state["history"])
    assert json.loads((tmp_path / "gan" / "best.json").read_text())["options"]["l1_weight"] == 100.0
    # best.weights.h5 holds the generator alone: it colorizes as any weights do
    from colornet.predict import load_colorizer

    colorizer = load_colorizer(str(tmp_path / "gan" / "best.weights.h5"))
    assert colorizer.model.name == "unet-gan" and len(colorizer.model.inputs) == 1
    # weights of another color space or depth are refused in one line
    capsys.readouterr()
    code = cli.main(
        [
            "train",
            "unet",
            *common,
            "--color-space",
            "ycrcb",
            "--init",
            str(init),
            "--out",
            str(tmp_path / "y"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert (
        code == 2 and "color_space lab" in err and "--color-space lab" in err and len(err.splitlines()) == 1
    )
    code = cli.main(
        ["train", "unet", *common, "--depth", "4", "--init", str(init), "--out", str(tmp_path / "d")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "depth 5" in err and len(err.splitlines()) == 1
    # resuming the GAN run with another lambda is refused, not mixed
    code = cli.main(
        ["train", "unet-gan", *common, "--epochs", "2", "--l1-weight", "10", "--out", str(tmp_path / "gan")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "'l1_weight': 100.0" in err and len(err.splitlines()) == 1, err
    code = cli.main(["train", "unet", *common[:2], "--size", "100", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "use 96 or 104" in err


def test_the_patchgan_judges_70_pixel_patches():
    model = build_patchgan(width=0.0625)
    for side, grid in ((128, 14), (256, 30)):
        out = model([np.zeros((1, side, side, 1), np.float32), np.zeros((1, side, side, 2), np.float32)])
        assert out.shape == (1, grid, grid, 1)
    gray = tf.Variable(np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 1)).astype(np.float32))
    colors = tf.zeros((1, 128, 128, 2))
    with tf.GradientTape() as tape:
        value = model([gray, colors], training=False)[0, 7, 5, 0]
    reach = np.abs(tape.gradient(value, gray).numpy()[0, ..., 0]) > 0
    rows, cols = np.nonzero(reach.any(axis=1))[0], np.nonzero(reach.any(axis=0))[0]
    top, left, bottom, right = patch_of(7, 5)
    assert bottom - top == right - left == RECEPTIVE_FIELD
    assert top <= rows.min() and rows.max() < bottom and left <= cols.min() and cols.max() < right
    assert rows.max() - rows.min() + 1 > 60  # it reaches across most of its window


def test_one_gan_step_changes_both_networks():
    keras.utils.set_random_seed(0)
    gan = ConditionalGAN(build_unet(depth=3, **TINY), build_patchgan(width=0.0625), l1_weight=10.0)
    gan.compile(keras.optimizers.Adam(2e-4))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 32, 32, 1)).astype(np.float32)
    y = rng.uniform(-0.5, 0.5, (4, 32, 32, 2)).astype(np.float32)
    gan.optimizer.learning_rate = 1e-4  # as a schedule callback sets it
    before_g = [np.array(v) for v in gan.generator.trainable_variables]
    before_d = [np.array(v) for v in gan.discriminator.trainable_variables]
    logs = gan.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "g_gan", "g_loss", "d_loss"}
    assert logs["g_loss"] == pytest.approx(logs["g_gan"] + 10.0 * logs["loss"], rel=1e-4)
    assert all(
        not np.array_equal(b, np.array(v)) for b, v in zip(before_g, gan.generator.trainable_variables)
    )
    assert all(
        not np.array_equal(b, np.array(v)) for b, v in zip(before_d, gan.discriminator.trainable_variables)
    )
    assert int(gan.optimizer.iterations) == int(gan.d_optimizer.iterations) == 1
    assert gan.optimizer.beta_1 == gan.d_optimizer.beta_1 == 0.5
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-4)  # the discriminator's follows


def test_ycrcb_matches_pillow_and_round_trips():
    rgb = bundled_photo("astronaut")[::4, ::4]
    ours = np.asarray(rgb_to_ycrcb(rgb)) * 255
    pil = np.asarray(Image.fromarray(rgb).convert("YCbCr"), np.float32)  # Y, Cb, Cr: rounded to 8 bits
    np.testing.assert_allclose(ours, pil[..., [0, 2, 1]], atol=1.01)
    np.testing.assert_allclose(np.asarray(ycrcb_to_rgb(rgb_to_ycrcb(rgb))), rgb / 255, atol=1e-5)


def test_the_ycrcb_codec_sees_gray_and_decodes_to_lab():
    codec = YCrCbCodec()
    rgb = bundled_photo("coffee")[::4, ::4][None].astype(np.float32) / 255
    lab = rgb_to_lab(rgb)
    y = codec.encode_inputs(lab[..., :1])
    gray = (np.asarray(y) + 1) / 2
    assert -1 <= float(np.min(y)) and float(np.max(y)) <= 1
    # The input is the gray photo's level (for a gray photo, R = G = B = Y).
    np.testing.assert_allclose(gray, np.asarray(rgb_to_gray(rgb))[..., :1], atol=1e-5)
    no_chroma = np.asarray(codec.decode(tf.zeros_like(lab[..., 1:]), y))
    assert np.abs(no_chroma).max() < 0.01  # a = b = 0, to float32 rounding
    # True chroma with the gray level: close to the true ab (Y and L weigh R, G, B differently).
    ab = np.asarray(codec.decode(codec.encode_targets(lab), y))
    error = np.abs(ab - np.asarray(lab)[..., 1:])
    assert np.median(error) < 3 and np.mean(error) < 6, (np.median(error), np.mean(error))
    with pytest.raises(ValueError, match="decodes Cr and Cb with the Y"):
        codec.decode(tf.zeros_like(lab[..., 1:]))


@pytest.mark.slow
def test_a_ycrcb_unet_trains_and_colorizes(photo_folder, tmp_path):
    from colornet.infer import colorize

    out = tmp_path / "ycrcb"
    argv = ["train", "unet", "--data", photo_folder, "--size", "32", "--epochs", "1", "--batch-size", "4"]
    argv += ["--width", "0.0625", "--color-space", "ycrcb", "--verbose", "0", "--precision", "float32"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert json.loads((out / "best.json").read_text())["options"]["color_space"] == "ycrcb"
    rgb = colorize(bundled_photo("chelsea")[:90, :130], model=str(out / "best.weights.h5"))
    assert rgb.shape == (90, 130, 3) and np.isfinite(rgb).all()


@pytest.mark.slow
def test_a_gan_run_resumes_after_kill_9(photo_folder, tmp_path):
    out = tmp_path / "gan"
    cmd = [sys.executable, "-m", "colornet", "train", "unet-gan", "--data", str(photo_folder), "--size", "32"]
    cmd += ["--batch-size", "2", "--epochs", "50", "--width", "0.0625", "--out", str(out), "--verbose", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and not (out / "state.json").exists():
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = json.loads((out / "state.json").read_text())["epoch"]
    assert 1 <= finished < 50
    saved = keras.models.load_model(out / "last.keras")
    steps = int(saved.d_optimizer.iterations)
    assert steps == int(saved.optimizer.iterations) > 0  # both optimizers' state is in the checkpoint
    from colornet.train import train

    result = train(
        "unet-gan", data=photo_folder, size=32, batch_size=2, epochs=finished + 1, out=str(out),
        model_options={"width": 0.0625}, verbose=0, samples=0,
    )  # fmt: skip
    assert result.epochs_run == 1
    resumed = keras.models.load_model(out / "last.keras")
    assert int(resumed.d_optimizer.iterations) == int(resumed.optimizer.iterations) > steps


@pytest.mark.slow
def test_an_imagenet_backbone_as_the_encoder(tmp_path, monkeypatch):
    from colornet.errors import WeightsError
    from colornet.models.unet import load_encoder_weights

    model = build_unet(depth=5, width=0.125, encoder="mobilenetv2")
    out = model(np.zeros((2, 64, 96, 1), np.float32), training=False)
    assert out.shape == (2, 64, 96, 2)
    encoder = model.get_layer("unet_encoder")
    assert [tuple(t.shape[1:3]) for t in encoder(np.zeros((1, 64, 96, 1), np.float32))] == [
        (32, 48), (16, 24), (8, 12), (4, 6), (2, 3),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="depth must be 5"):
        build_unet(depth=7, encoder="mobilenetv2")
    assert "from scratch" in load_encoder_weights(model, None)
    assert load_encoder_weights(build_unet(depth=3, **TINY), "imagenet") is None  # no backbone: nothing to do
    # A local weights file is loaded into the backbone, layer by layer
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(224, 224, 3))
    source.save_weights(tmp_path / "mobilenet.weights.h5")
    note = load_encoder_weights(model, str(tmp_path / "mobilenet.weights.h5"))
    assert "MobileNetV2" in note
    backbone = encoder.layers[-1]
    kernel = backbone.get_layer("Conv1").get_weights()[0]
    np.testing.assert_array_equal(kernel, source.get_layer("Conv1").get_weights()[0])
    # A broken file, and ImageNet weights that cannot be downloaded: one line that says what to do
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"0" * 100)
    with pytest.raises(WeightsError, match="broken.h5: not usable as MobileNetV2") as err:
        load_encoder_weights(model, str(tmp_path / "broken.h5"))
    assert len(str(err.value).splitlines()) == 1

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -2] Name unknown")

    import colornet.pretrained

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr(colornet.pretrained, "keras_models_dir", lambda: tmp_path / "keras")
    monkeypatch.setattr(colornet.pretrained, "default_weights_dir", lambda: tmp_path / "weights")
    with pytest.raises(WeightsError, match="--encoder-weights none") as err:
        load_encoder_weights(model, "imagenet")
    assert "URL fetch failure" in str(err.value) and len(str(err.value).splitlines()) == 1


@pytest.mark.slow
def test_training_with_a_backbone_from_scratch_says_so(photo_folder, tmp_path, capsys):
    argv = ["train", "unet", "--data", photo_folder, "--size", "32", "--epochs", "1", "--batch-size", "4"]
    argv += ["--width", "0.0625", "--encoder", "mobilenetv2", "--encoder-weights", "none", "--verbose", "0"]
    assert cli.main([*argv, "--precision", "float32", "--out", str(tmp_path / "m")]) == 0
    assert "mobilenetv2 encoder trained from scratch (no ImageNet weights)" in capsys.readouterr().out
    options = json.loads((tmp_path / "m" / "best.json").read_text())["options"]
    assert options["encoder"] == "mobilenetv2" and options["depth"] == 5
