"""Dahl 2016 on the ImageNet encoders whose weights are committed in weights/ (EfficientNet-Lite0,
MobileNetV2 0.35): the networks, the weights they load, sizes, and the default still VGG16."""

import keras
import numpy as np
import pytest

from colornet.losses import get_loss
from colornet.models import get_design
from colornet.models.dahl import ENCODER_TAPS, TAPS, build_dahl, load_encoder_weights

TINY = {"width": 0.125}
NEW = ("efficientnet-lite0", "mobilenetv2-0.35")
# a kernel deep in each encoder (the layer before its deepest tap) and the network to read it from
DEEP = {"efficientnet-lite0": "block10_project_conv", "mobilenetv2-0.35": "block_13_expand"}


def imagenet_network(encoder: str) -> keras.Model:
    if encoder == "efficientnet-lite0":
        from colornet.lite0 import efficientnet_lite0

        return efficientnet_lite0("imagenet", include_top=False)
    from colornet.pretrained import load_backbone

    return load_backbone(encoder, "imagenet")


def test_the_default_is_still_vgg16_with_its_layer_names():
    model = build_dahl(**TINY)
    names = [layer.name for layer in model.layers]
    assert "dahl_vgg16" in names and "dahl_vgg16_input" in names
    assert sorted(f"dahl_{tap}_bn" for tap in TAPS) == sorted(n for n in names if n.endswith("_bn"))
    assert sorted(n for n in names if n.startswith("dahl_res")) == [f"dahl_res{i}" for i in range(5)]
    assert not [n for n in names if n.endswith("_proj")]
    encoder = model.get_layer("dahl_vgg16")
    assert [layer.name for layer in encoder.layers if layer.weights][-1] == "block4_conv3"
    assert get_design("dahl").multiple() == 8 and get_design("dahl").multiple({"encoder": "vgg16"}) == 8


@pytest.mark.parametrize("encoder", NEW)
def test_each_new_encoder_builds_at_64_px_and_predicts_uv(encoder):
    model = build_dahl(input_size=64, encoder=encoder, **TINY)
    out = np.asarray(model(np.random.default_rng(0).random((2, 64, 64, 1), np.float32)))
    assert out.shape == (2, 64, 64, 2) and 0 <= out.min() and out.max() <= 1  # sigmoid
    backbone = model.get_layer("dahl_" + encoder.replace("-", "_").replace(".", ""))
    assert backbone.trainable_variables == []  # frozen by default
    assert [t.shape[1] for t in backbone.outputs] == [32, 16, 8, 4]  # 1/2, 1/4, 1/8, 1/16
    assert [layer.name for layer in model.layers if layer.name.endswith("_proj")] == [
        f"dahl_{tap}_proj" for tap in reversed(ENCODER_TAPS[encoder][:3])
    ]


def test_sizes_are_a_multiple_of_16_and_unknown_encoders_are_refused():
    design = get_design("dahl")
    design.check_size(80, options={"encoder": "vgg16"})
    with pytest.raises(ValueError, match="must be a positive multiple of 16 for dahl, got 72; use 64 or 80"):
        design.check_size(72, options={"encoder": "efficientnet-lite0"})
    with pytest.raises(
        ValueError, match="encoder must be one of vgg16, efficientnet-lite0, mobilenetv2-0.35"
    ):
        build_dahl(encoder="resnet50v2", **TINY)


def test_the_command_line_refuses_another_designs_encoder_in_one_line(capsys, tmp_path):
    from colornet.cli import main

    code = main(
        ["train", "dahl", "--encoder", "resnet50v2", "--data", str(tmp_path), "--out", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err
    assert "--encoder resnet50v2 does not apply to dahl (its --encoder: vgg16, efficientnet-lite0" in err


@pytest.mark.slow
@pytest.mark.parametrize("encoder", NEW)
def test_imagenet_weights_land_in_the_encoder_and_one_step_trains(encoder):
    keras.utils.set_random_seed(0)
    design = get_design("dahl")
    model = build_dahl(encoder=encoder, **TINY)
    note = load_encoder_weights(model, "imagenet")
    assert "from ImageNet" in note and note.endswith("frozen")
    backbone = model.get_layer("dahl_" + encoder.replace("-", "_").replace(".", ""))
    np.testing.assert_array_equal(
        backbone.get_layer(DEEP[encoder]).get_weights()[0],
        imagenet_network(encoder).get_layer(DEEP[encoder]).get_weights()[0],
    )
    assert "from scratch" in load_encoder_weights(build_dahl(encoder=encoder, **TINY), "none")

    frozen = [np.array(w) for w in backbone.weights]
    y = np.random.default_rng(1).random((2, 32, 32, 1), np.float32)
    uv = np.random.default_rng(2).random((2, 32, 32, 2), np.float32)
    loss = get_loss(design.make_loss({"encoder": encoder})[0])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    before = [np.array(w) for w in model.trainable_weights]
    assert np.isfinite(model.train_on_batch(y, uv))
    assert any(not np.array_equal(b, np.asarray(a)) for b, a in zip(before, model.trainable_weights))
    assert all(np.array_equal(b, np.asarray(a)) for b, a in zip(frozen, backbone.weights))  # still ImageNet's
