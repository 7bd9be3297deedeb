"""The U-Nets on the ImageNet encoders whose weights are committed in weights/: EfficientNet-Lite0
and MobileNetV2 at alpha 0.35 (no download needed)."""

import json

import numpy as np
import pytest

from colornet import cli
from colornet.lite0 import efficientnet_lite0
from colornet.models import get_design
from colornet.models.unet import ENCODERS, build_unet, load_encoder_weights
from colornet.pretrained import load_backbone

TINY = {"depth": 5, "width": 0.0625}
# A kernel of each backbone, and where the committed ImageNet weights come from
FIRST_KERNEL = {
    "efficientnet-lite0": ("stem_conv", lambda: efficientnet_lite0("imagenet", include_top=False)),
    "mobilenetv2-0.35": ("Conv1", lambda: load_backbone("mobilenetv2-0.35", "imagenet")),
}


@pytest.mark.parametrize("encoder", list(FIRST_KERNEL))
def test_a_tiny_unet_on_each_committed_encoder_builds_and_colorizes(encoder):
    model = build_unet(64, encoder=encoder, **TINY)
    out = model(np.zeros((2, 64, 64, 1), np.float32), training=False)
    assert out.shape == (2, 64, 64, 2)
    features = model.get_layer("unet_encoder")(np.zeros((1, 64, 64, 1), np.float32))
    assert [tuple(t.shape[1:3]) for t in features] == [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]


@pytest.mark.parametrize("encoder", list(FIRST_KERNEL))
def test_the_committed_imagenet_weights_land_in_the_encoder(encoder):
    model = build_unet(64, encoder=encoder, **TINY)
    note = load_encoder_weights(model, "imagenet")
    assert "encoder from ImageNet (frozen)" in note and len(note.splitlines()) == 1
    layer, source = FIRST_KERNEL[encoder]
    backbone = model.get_layer("unet_encoder").layers[-1]
    np.testing.assert_array_equal(
        backbone.get_layer(layer).get_weights()[0], source().get_layer(layer).get_weights()[0]
    )


def test_the_encoder_is_frozen_unless_asked_and_keeps_imagenet_statistics():
    frozen = build_unet(64, encoder="mobilenetv2-0.35", **TINY)
    trained = build_unet(64, encoder="mobilenetv2-0.35", train_encoder=True, **TINY)
    assert len(trained.trainable_weights) > len(frozen.trainable_weights)
    assert not any("Conv1" in w.path for w in frozen.trainable_weights)
    assert any("Conv1" in w.path for w in trained.trainable_weights)
    bn = trained.get_layer("unet_encoder").layers[-1].get_layer("bn_Conv1")
    assert not bn.trainable  # ImageNet's statistics, also when the encoder is trained


def test_the_encoder_flag_names_the_committed_encoders(capsys):
    for name in ("unet", "unet-gan"):
        assert {"efficientnet-lite0", "mobilenetv2-0.35"} <= set(
            get_design(name).declared_options["encoder"].choices
        )
    assert set(ENCODERS) >= {"mobilenetv2", "resnet50v2", "efficientnet-lite0", "mobilenetv2-0.35"}
    with pytest.raises(SystemExit):
        cli.main(["train", "unet", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "mobilenetv2-0.35" in help_text and "efficientnet-lite0" in help_text


@pytest.mark.slow
def test_both_stages_train_offline_on_lite0_and_say_so(photo_folder, tmp_path, capsys):
    tiny = "--size 32 --epochs 1 --batch-size 4 --width 0.0625 --limit 8 --verbose 0 --precision float32"
    common = ["--data", photo_folder, *tiny.split(), "--encoder", "efficientnet-lite0"]
    stage1 = ["train", "unet", *common, "--encoder-weights", "imagenet", "--out", str(tmp_path / "m")]
    assert cli.main(stage1) == 0
    assert "EfficientNet-Lite0 encoder from ImageNet (frozen)" in capsys.readouterr().out
    options = json.loads((tmp_path / "m" / "best.json").read_text())["options"]
    assert options["encoder"] == "efficientnet-lite0" and options["depth"] == 5
    assert options["train_encoder"] is False
    # stage 2 starts from those weights, on the same encoder
    init = str(tmp_path / "m" / "best.weights.h5")
    assert cli.main(["train", "unet-gan", *common, "--init", init, "--out", str(tmp_path / "gan")]) == 0
    assert (
        json.loads((tmp_path / "gan" / "best.json").read_text())["options"]["encoder"] == "efficientnet-lite0"
    )
