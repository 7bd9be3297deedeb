"""The Full (fusion) model: shapes at several sizes, the repeat over the grid, one training step, saving."""

import numpy as np
import pytest

from colornet.color import denormalize_l
from colornet.models import build_model
from colornet.models.fusion import RepeatOverGrid, build_fusion
from colornet.predict import load_colorizer
from colornet.weights import load_weights

WIDTH = 0.125  # 8 filters where the article has 64: tiny and fast


def batch(b, h, w, seed=0, embed_dim=1000):
    rng = np.random.default_rng(seed)
    l_norm = rng.uniform(-1, 1, (b, h, w, 1)).astype("float32")
    embedding = rng.dirichlet(np.ones(embed_dim), b).astype("float32")  # like softmax outputs
    return l_norm, embedding


@pytest.mark.parametrize("shape", [(16, 16), (32, 32), (24, 40), (64, 16)])
def test_any_size_divisible_by_8(shape):
    model = build_fusion(width=WIDTH)
    l_norm, embedding = batch(2, *shape)
    ab = np.asarray(model([l_norm, embedding]))
    assert ab.shape == (2, *shape, 2)
    assert np.all(np.abs(ab) <= 1.0)  # tanh


def test_fixed_input_size_and_encoder_grid():
    model = build_fusion(input_size=32, width=WIDTH)
    assert [tuple(t.shape) for t in model.inputs] == [(None, 32, 32, 1), (None, 1000)]
    assert model.output_shape == (None, 32, 32, 2)
    # The embedding is repeated over the encoder's grid, 1/8 of the input, not a fixed 32x32.
    assert tuple(model.get_layer("full_repeat").output.shape) == (None, 4, 4, 1000)
    assert tuple(model.get_layer("full_concat").output.shape) == (None, 4, 4, 1000 + 32)
    assert tuple(model.get_layer("full_fusion").output.shape) == (None, 4, 4, 32)


def test_article_layer_sizes_at_full_width():
    model = build_fusion(input_size=256)
    assert model.get_layer("full_enc8").output.shape[1:] == (32, 32, 256)  # the article's 32x32 grid
    assert model.get_layer("full_concat").output.shape[-1] == 1256
    assert model.get_layer("full_fusion").kernel.shape == (1, 1, 1256, 256)


def test_layers_are_named_after_the_model():
    model = build_fusion(width=WIDTH, name="fullx")
    assert model.name == "fullx"
    assert all(layer.name.startswith("fullx_") for layer in model.layers)


@pytest.mark.parametrize("bad", [12, 30, 100])
def test_size_not_divisible_by_8_is_refused(bad):
    with pytest.raises(ValueError, match="multiple of 8"):
        build_fusion(input_size=bad)


def test_repeat_over_grid_copies_the_vector_everywhere():
    grid = np.zeros((2, 3, 5, 7), "float32")
    vector = np.arange(2 * 4, dtype="float32").reshape(2, 4)
    out = np.asarray(RepeatOverGrid()([grid, vector]))
    assert out.shape == (2, 3, 5, 4)
    for i in range(2):
        np.testing.assert_array_equal(out[i], np.broadcast_to(vector[i], (3, 5, 4)))


def test_the_embedding_changes_the_colors():
    model = build_fusion(width=WIDTH)
    l_norm, embedding = batch(1, 16, 16)
    other = np.roll(embedding, 500, axis=1)
    a = np.asarray(model([l_norm, embedding]))
    b = np.asarray(model([l_norm, other]))
    assert not np.allclose(a, b)


def test_trains_one_step():
    model = build_fusion(input_size=16, width=WIDTH)
    model.compile(optimizer="adam", loss="mse")
    l_norm, embedding = batch(4, 16, 16)
    target = np.random.default_rng(1).uniform(-0.5, 0.5, (4, 16, 16, 2)).astype("float32")
    fusion_kernel = model.get_layer("full_fusion").kernel
    before = np.array(fusion_kernel)
    loss = model.train_on_batch([l_norm, embedding], target)
    assert np.isfinite(loss)
    assert not np.allclose(before, np.asarray(fusion_kernel)), "the fusion convolution learns"


def test_fits_on_a_dataset_of_unknown_image_size():
    import tensorflow as tf

    l_norm, embedding = batch(4, 16, 24)
    target = np.zeros((4, 16, 24, 2), "float32")
    spec = (
        (tf.TensorSpec([None, None, None, 1]), tf.TensorSpec([None, 1000])),
        tf.TensorSpec([None, None, None, 2]),
    )  # what an augmented tf.data pipeline gives: no static height and width
    ds = tf.data.Dataset.from_generator(
        lambda: iter([((l_norm, embedding), target)] * 2), output_signature=spec
    ).apply(tf.data.experimental.assert_cardinality(2))
    model = build_fusion(width=WIDTH)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(ds, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_weights_save_and_load_by_registry(tmp_path):
    model = build_model("full", width=WIDTH)
    l_norm, embedding = batch(2, 24, 16)
    path = tmp_path / "full.weights.h5"
    model.save_weights(path)
    again = load_weights(build_model("full", width=WIDTH), path)
    np.testing.assert_allclose(again([l_norm, embedding]), model([l_norm, embedding]), atol=1e-6)


def test_whole_model_saves_and_loads(tmp_path):
    import keras

    model = build_fusion(width=WIDTH)
    path = tmp_path / "full.keras"
    model.save(path)
    again = keras.models.load_model(path)
    l_norm, embedding = batch(1, 16, 32)
    np.testing.assert_allclose(again([l_norm, embedding]), model([l_norm, embedding]), atol=1e-6)


def test_a_colorizer_uses_the_features_it_is_given():
    model = build_fusion(width=WIDTH)
    l_norm, embedding = batch(3, 16, 16)
    seen = []

    class Features:
        def extras(self, L):
            seen.append(tuple(np.shape(L)))
            return {"embedding": embedding}

    ab = load_colorizer(model, features=Features()).predict_ab(denormalize_l(l_norm))
    assert seen == [(3, 16, 16, 1)]
    np.testing.assert_allclose(ab, np.asarray(model([l_norm, embedding])) * 128, atol=1e-4)


# --- the embedder the weights were trained with ------------------------------------------


@pytest.mark.slow
def test_trains_with_lite0_and_colorizes_with_it_again(tmp_path, monkeypatch, capsys):
    import json

    import colornet.embed as embed
    from colornet.cli import main
    from colornet.embed import LITE0, Embedder
    from colornet.train import train

    from conftest import make_photo_folder

    photos = tmp_path / "photos"
    make_photo_folder(photos, n=6, size=32)
    run = tmp_path / "run"
    result = train(
        "full", str(photos), size=16, epochs=1, steps_per_epoch=1, batch_size=4, samples=0, out=str(run),
        model_options={"width": WIDTH, "embedder": LITE0}, precision="float32", verbose=0,
    )  # fmt: skip
    config = json.loads((run / "best.json").read_text())
    assert config["options"]["embedder"] == LITE0
    assert result.colorizer.features.backbone == LITE0 and result.colorizer.features.images == 6
    assert list((run / "embeddings").iterdir())[0].name.startswith("efficientnet-lite0-imagenet-")

    def no_inception(*args, **kwargs):
        raise AssertionError("Inception-ResNet-v2 was looked for")

    monkeypatch.setattr(embed, "imagenet_weights_file", no_inception)
    monkeypatch.setattr(embed, "load_backbone", no_inception)
    l_norm, _ = batch(2, 24, 16, seed=3)
    colorizer = load_colorizer(str(run / "best.weights.h5"))
    ab = colorizer.predict_ab(denormalize_l(l_norm))
    assert colorizer.features.backbone == LITE0
    lite0 = Embedder("imagenet", backbone=LITE0)
    explicit = load_colorizer(str(run / "best.weights.h5"), features=lite0)
    np.testing.assert_array_equal(ab, explicit.predict_ab(denormalize_l(l_norm)))
    inputs = [l_norm, lite0(l_norm)]
    np.testing.assert_allclose(ab, np.asarray(colorizer.model(inputs)) * 128, atol=1e-4)

    # Resumed with another embedder: refused, saying which option differs (before any embedding).
    code = main(
        ["train", "full", "--data", str(photos), "--size", "16", "--epochs", "2", "--width", str(WIDTH)]
        + ["--embedder", "inception_resnet_v2", "--out", str(run), "--verbose", "0"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err, err
    assert "embedder='efficientnet-lite0', not 'inception_resnet_v2'" in err and "another --out" in err


def test_an_unknown_embedder_is_an_argparse_choice_error(tmp_path, capsys):
    from colornet.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "full", "--data", str(tmp_path), "--embedder", "vgg16"])
    assert exit_.value.code == 2
    assert "argument --embedder: invalid choice: 'vgg16'" in capsys.readouterr().err


def test_the_embedder_option_is_recorded_and_checked():
    from colornet.models import get_design
    from colornet.models.fusion import options_for_embedder

    design = get_design("full")
    assert design.complete_options({})["embedder"] == "inception_resnet_v2"  # the article's, by default
    with pytest.raises(ValueError, match="unknown embedder 'vgg16'"):
        build_fusion(width=WIDTH, embedder="vgg16")

    class Given:
        backbone = "efficientnet-lite0"

    assert options_for_embedder({"width": 1.0}, Given())["embedder"] == "efficientnet-lite0"
    with pytest.raises(ValueError, match="the embedder given is efficientnet-lite0"):
        options_for_embedder({"embedder": "inception_resnet_v2"}, Given())
