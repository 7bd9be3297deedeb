"""ImageNet backbones from keras.applications at any published width, and the committed offline copy of
MobileNetV2 at alpha 0.35."""

import numpy as np
import pytest
import tensorflow as tf
from skimage import data as skdata

from colornet import pretrained
from colornet.errors import WeightsError


def test_mobilenet_v2_at_any_published_alpha():
    backbone = pretrained.get_backbone("mobilenetv2-0.5")
    assert dict(backbone.kwargs) == {"alpha": 0.5}
    assert backbone.file()[0] == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
    model = pretrained.load_backbone("mobilenetv2-0.5", None, input_shape=(96, 96, 3))
    assert model.output_shape == (None, 3, 3, 1280)
    with pytest.raises(ValueError, match="alpha 0.35, 0.5"):
        pretrained.get_backbone("mobilenetv2-0.4")


def test_the_committed_mobilenet_v2_035_loads_offline_and_knows_photos(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # nothing in Keras' own folder
    path = pretrained.imagenet_weights_file("mobilenetv2-0.35")
    assert path.endswith(pretrained.MOBILENET_V2_035_FILE)
    trained = pretrained.load_backbone("mobilenetv2-0.35", "imagenet", input_shape=(160, 160, 3))
    random = pretrained.load_backbone("mobilenetv2-0.35", None, input_shape=(160, 160, 3))
    photos = [skdata.chelsea(), skdata.coffee(), skdata.astronaut(), skdata.rocket()]
    x = np.stack([tf.image.resize(p, (160, 160)).numpy() for p in photos]) / 127.5 - 1

    # ImageNet features tell the four photos apart far better than random ones: their pooled
    # features are less alike (cosine similarity between different photos)
    def mean_similarity(model):
        f = tf.reduce_mean(model(x), axis=(1, 2)).numpy()
        f = f / np.linalg.norm(f, axis=1, keepdims=True)
        sim = f @ f.T
        return (sim.sum() - np.trace(sim)) / 12

    assert mean_similarity(trained) < mean_similarity(random) - 0.1


def test_a_corrupt_committed_copy_is_refused(monkeypatch, tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    real = pretrained.default_weights_dir()
    (folder / "SHA256SUMS").write_text((real / "SHA256SUMS").read_text())
    (folder / pretrained.MOBILENET_V2_035_FILE).write_bytes(b"x" * 100)
    monkeypatch.setattr(pretrained, "default_weights_dir", lambda: folder)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(WeightsError, match="checksum differs"):
        pretrained.imagenet_weights_file("mobilenetv2-0.35")
