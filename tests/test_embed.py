"""ImageNet embeddings: what the classifier sees, the disk cache, per-batch mode, and weight errors.

Inception-ResNet-v2 runs with random weights at 75 px (the smallest Keras allows)
to keep these tests to seconds on a CPU; ImageNet weights cannot be downloaded here.
EfficientNet-Lite0 runs with its committed ImageNet weights.
"""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from colornet.embed import (
    CLASS_INDEX_FILE,
    EMBED_DIM,
    IMAGENET_WEIGHTS_FILE,
    IMAGENET_WEIGHTS_MD5,
    LITE0,
    Embedder,
    EmbedWeightsError,
    embed_files,
    imagenet_class_names,
    make_fusion_dataset,
    to_gray_rgb,
    to_inception_input,
    top_classes,
)
from colornet.errors import ColornetError

SIZE = 16  # training crop size
BATCH = 4


@pytest.fixture(scope="module")
def embedder():
    with pytest.warns(UserWarning, match="random weights"):
        embedder = Embedder(None, input_size=75, batch_size=BATCH)
    embedder.build()
    return embedder


def cache_entries(cache_dir):
    return sorted(p.name for p in cache_dir.rglob("*.npy"))


# --- the embedder ---------------------------------------------------------------


def test_inception_sees_a_gray_image_in_its_range():
    l_norm = np.linspace(-1, 1, 2 * 8 * 8).reshape(2, 8, 8, 1).astype("float32")
    x = np.asarray(to_inception_input(l_norm, 75))
    assert x.shape == (2, 75, 75, 3)
    np.testing.assert_allclose(x[..., 0], x[..., 1], atol=1e-5)  # R = G = B
    np.testing.assert_allclose(x[..., 1], x[..., 2], atol=1e-5)
    assert x.min() >= -1.0 and x.max() <= 1.0
    black, white = np.full((1, 8, 8, 1), -1.0, "float32"), np.full((1, 8, 8, 1), 1.0, "float32")
    assert np.allclose(to_inception_input(black, 75), -1.0, atol=1e-3)  # L = 0
    assert np.allclose(to_inception_input(white, 75), 1.0, atol=1e-3)  # L = 100


@pytest.mark.slow
def test_embeddings_are_class_probabilities_and_calls_are_counted(embedder):
    calls, images = embedder.calls, embedder.images
    l_norm = np.random.default_rng(0).uniform(-1, 1, (6, 24, 40, 1)).astype("float32")
    emb = embedder(l_norm)
    assert emb.shape == (6, EMBED_DIM) and emb.dtype == np.float32
    np.testing.assert_allclose(emb.sum(axis=1), 1.0, atol=1e-4)  # softmax
    assert embedder.calls == calls + 2  # 6 photos in chunks of 4
    assert embedder.images == images + 6
    np.testing.assert_allclose(embedder(l_norm[:1]), emb[:1], atol=1e-5)  # deterministic


def test_a_tensor_gives_a_tensor_that_the_full_model_takes(embedder):
    import tensorflow as tf

    from colornet.color import denormalize_l
    from colornet.models.fusion import build_fusion
    from colornet.predict import load_colorizer

    l_norm = tf.random.uniform((2, 16, 24, 1), -1, 1, seed=1)
    emb = embedder(l_norm)
    assert tf.is_tensor(emb) and emb.shape == (2, EMBED_DIM)
    np.testing.assert_allclose(emb, embedder(l_norm.numpy()), atol=1e-5)
    colorizer = load_colorizer(build_fusion(width=0.125), features=embedder)
    ab = colorizer.predict_ab(denormalize_l(l_norm))  # as colorize and evaluate call it
    assert ab.shape == (2, 16, 24, 2)


def test_wrong_input_shape_is_refused(embedder):
    with pytest.raises(ValueError, match=r"\(b, h, w, 1\)"):
        embedder(np.zeros((2, 16, 16, 3), "float32"))


def test_random_weights_warn_and_are_named():
    with pytest.warns(UserWarning, match="color poorly"):
        e = Embedder("none", input_size=75)
    assert e.weights is None and e.weights_name == "random"
    assert "random" in repr(e)


def test_input_size_below_the_keras_minimum_is_refused():
    with pytest.raises(ValueError, match="at least 75"):
        Embedder("imagenet", input_size=64)


# --- the cache ------------------------------------------------------------------


def test_cache_is_hit_on_later_epochs_and_runs(embedder, photo_folder, tmp_path):
    cache_dir = tmp_path / "cache"
    calls, images = embedder.calls, embedder.images
    ds = make_fusion_dataset(
        photo_folder,
        SIZE,
        BATCH,
        training=True,
        augment=True,
        embedder=embedder,
        cache_dir=cache_dir,
        verbose=False,
    )
    assert embedder.images == images + 12 and embedder.calls == calls + 3  # 12 photos, batches of 4
    assert len(cache_entries(cache_dir)) == 12
    after_first = embedder.calls
    for _ in range(2):  # two epochs: Inception is not run again
        n = 0
        for (l, emb), ab in ds:
            assert l.shape[1:] == (SIZE, SIZE, 1) and ab.shape[1:] == (SIZE, SIZE, 2)
            assert emb.shape[1:] == (EMBED_DIM,)
            np.testing.assert_allclose(np.sum(emb, axis=1), 1.0, atol=1e-4)
            n += int(l.shape[0])
        assert n == 12
    assert embedder.calls == after_first
    # A second run (here the validation set of the same photos) reads the cache.
    make_fusion_dataset(
        photo_folder, SIZE, BATCH, training=False, embedder=embedder, cache_dir=cache_dir, verbose=False
    )
    assert embedder.calls == after_first


def test_batches_carry_each_photos_own_embedding(embedder, photo_folder, tmp_path):
    from colornet.data import list_images

    paths = list_images(photo_folder)
    expected = embed_files(paths, embedder, SIZE, cache_dir=tmp_path, verbose=False)
    assert not np.allclose(expected[0], expected[1])  # the photos differ, so do their embeddings
    ds = make_fusion_dataset(
        photo_folder, SIZE, BATCH, training=False, embedder=embedder, cache_dir=tmp_path, verbose=False
    )
    got = np.concatenate([np.asarray(emb) for (_, emb), _ in ds])
    np.testing.assert_array_equal(got, expected)  # file order without shuffling
    # ...and the cached value is what the embedder gives for the center crop.
    (l, _), _ = next(iter(ds))
    np.testing.assert_allclose(embedder(l[:1]), expected[:1], atol=1e-5)


def test_cache_is_invalidated_when_a_file_changes(embedder, photo_folder, tmp_path, capsys):
    from colornet.data import list_images

    paths = list_images(photo_folder)
    first = embed_files(paths, embedder, SIZE, cache_dir=tmp_path)
    assert "0 cached, 12 computed" in capsys.readouterr().out
    changed = paths[3]
    with Image.open(changed) as im:
        Image.fromarray(255 - np.asarray(im.convert("RGB"))).save(changed)  # the negative, same name
    images = embedder.images
    second = embed_files(paths, embedder, SIZE, cache_dir=tmp_path)
    assert "11 cached, 1 computed" in capsys.readouterr().out
    assert embedder.images == images + 1
    assert not np.allclose(second[3], first[3])
    np.testing.assert_array_equal(np.delete(second, 3, axis=0), np.delete(first, 3, axis=0))
    # Another crop size is another key: nothing is reused by mistake.
    embed_files(paths[:2], embedder, SIZE * 2, cache_dir=tmp_path, verbose=False)
    assert embedder.images == images + 3


def test_a_damaged_cache_entry_is_recomputed(embedder, photo_folder, tmp_path):
    from colornet.data import list_images

    paths = list_images(photo_folder)[:2]
    first = embed_files(paths, embedder, SIZE, cache_dir=tmp_path, verbose=False)
    entry = next(tmp_path.rglob("*.npy"))
    entry.write_bytes(b"partial")  # as an interrupted write elsewhere would leave it
    images = embedder.images
    again = embed_files(paths, embedder, SIZE, cache_dir=tmp_path, verbose=False)
    assert embedder.images == images + 1
    np.testing.assert_allclose(again, first, atol=1e-5)


def test_cache_key_names_the_weights_and_size(embedder):
    assert embedder.identity.startswith("random-") and embedder.identity.endswith("-75px")
    assert Embedder("imagenet").identity.startswith("imagenet-")  # known without building or downloading


# --- the article's per-batch mode --------------------------------------------------


def test_per_batch_mode_runs_inception_every_batch_of_every_epoch(embedder, photo_folder):
    ds = make_fusion_dataset(photo_folder, SIZE, BATCH, training=False, embedder=embedder, mode="per-batch")
    calls = embedder.calls
    for epoch in range(2):
        for (l, emb), ab in ds:
            assert emb.shape == (l.shape[0], EMBED_DIM) and ab.shape[1:] == (SIZE, SIZE, 2)
        assert embedder.calls == calls + 3 * (epoch + 1)
    (l, emb), _ = next(iter(ds))
    np.testing.assert_allclose(emb, embedder(l), atol=1e-5)


def test_unknown_mode_is_refused(embedder, photo_folder):
    with pytest.raises(ValueError, match="cached, per-batch"):
        make_fusion_dataset(photo_folder, SIZE, BATCH, embedder=embedder, mode="twice")


# --- weights that cannot be had ----------------------------------------------------


def assert_one_sentence(err):
    message = str(err.value)
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0
    # no stack trace from inside Keras or h5py: no cause, no context shown
    assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)
    assert isinstance(err.value, ColornetError)


def test_missing_weights_file(tmp_path):
    with pytest.raises(EmbedWeightsError, match="weights file not found") as err:
        Embedder(tmp_path / "inception.h5", weights_dir=tmp_path / "weights")
    assert_one_sentence(err)
    assert IMAGENET_WEIGHTS_FILE in str(err.value) and str(tmp_path / "weights") in str(err.value)


def test_corrupt_weights_file(tmp_path):
    path = tmp_path / "inception.h5"
    path.write_bytes(b"\x89HDF\r\n" + os.urandom(2000))  # a truncated download
    embedder = Embedder(path, input_size=75, weights_dir=tmp_path)
    with pytest.raises(EmbedWeightsError, match="not usable as Inception-ResNet-v2") as err:
        embedder.build()
    assert_one_sentence(err)
    assert "download" in str(err.value)


def test_imagenet_offline_says_where_to_put_the_file(tmp_path, monkeypatch):
    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    embedder = Embedder("imagenet", input_size=75, weights_dir=tmp_path)
    with pytest.raises(EmbedWeightsError, match="could not be downloaded") as err:
        embedder.build()
    assert_one_sentence(err)
    message = str(err.value)
    assert "Name or service not known" in message and f"put it in {tmp_path}/" in message
    assert IMAGENET_WEIGHTS_FILE in message and "--embed-weights none" in message


def test_command_line_reports_missing_weights_in_one_line(photo_folder, tmp_path, capsys):
    from colornet.cli import main

    missing = tmp_path / "nope.h5"
    code = main(
        ["train", "full", "--data", photo_folder, "--size", "16", "--epochs", "1"]
        + ["--out", str(tmp_path / "run"), "--embed-weights", str(missing), "--verbose", "0"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("colornet train: error:") and str(missing) in err and "\n" not in err


# --- what Inception sees --------------------------------------------------------------


def test_top_classes_with_and_without_names():
    emb = np.zeros((2, EMBED_DIM), "float32")
    emb[0, [3, 7, 9]] = [0.5, 0.3, 0.2]
    emb[1, 999] = 1.0
    names = [f"name{i}" for i in range(EMBED_DIM)]
    top = top_classes(emb, top=3, class_names=names)
    assert [n for n, _ in top[0]] == ["name3", "name7", "name9"]
    assert top[0][0][1] == pytest.approx(0.5) and top[1][0] == ("name999", 1.0)
    assert top_classes(emb, top=2)[0][0][0] == "class 3"


def test_class_names_from_a_local_file_the_package_or_none_offline(tmp_path, monkeypatch):
    import colornet.embed_classes as embed_classes

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    names = imagenet_class_names(tmp_path)  # offline: the package's resources/imagenet_classes.tsv
    assert len(names) == EMBED_DIM and names[281] == "tabby" and names[999] == "toilet_tissue"
    monkeypatch.setattr(embed_classes, "CLASSES_TSV", tmp_path / "gone.tsv")
    assert imagenet_class_names(tmp_path) is None
    index = {str(i): [f"n{i:08d}", f"thing_{i}"] for i in range(EMBED_DIM)}
    (tmp_path / CLASS_INDEX_FILE).write_text(json.dumps(index))
    names = imagenet_class_names(tmp_path)
    assert len(names) == EMBED_DIM and names[0] == "thing_0" and names[999] == "thing_999"


# --- EfficientNet-Lite0 as the embedder (its ImageNet weights are committed) ---------------------

CATS = set(range(281, 288))  # tabby, tiger cat, Persian, Siamese, Egyptian cat, mountain lion, lynx


@pytest.fixture(scope="module")
def lite0():
    return Embedder("imagenet", backbone=LITE0, batch_size=BATCH)


def gray_l(name):
    """A bundled photo's normalized L `(1, h, w, 1)`: all the embedder ever sees of it."""
    from skimage import data as skdata

    from colornet.color import normalize_l, rgb_to_lab

    rgb = getattr(skdata, name)()[..., :3].astype("float32") / 255.0
    return normalize_l(np.asarray(rgb_to_lab(rgb))[..., :1])[None]


def test_lite0_sees_the_gray_image_in_0_255():
    l_norm = np.linspace(-1, 1, 2 * 8 * 8).reshape(2, 8, 8, 1).astype("float32")
    x = np.asarray(to_gray_rgb(l_norm, 224))
    assert x.shape == (2, 224, 224, 3)
    np.testing.assert_allclose(x[..., 0], x[..., 2], atol=1e-3)  # R = G = B
    assert x.min() >= -1e-3 and x.max() <= 255.0 + 1e-3
    np.testing.assert_allclose(
        to_inception_input(l_norm, 75), np.asarray(to_gray_rgb(l_norm, 75)) / 127.5 - 1
    )


def test_lite0_recognizes_a_gray_cat_and_a_gray_coffee(lite0):
    cat, coffee = lite0(gray_l("chelsea")), lite0(gray_l("coffee"))
    assert cat.shape == (1, EMBED_DIM) and cat.dtype == np.float32
    np.testing.assert_allclose([cat.sum(), coffee.sum()], 1.0, atol=1e-4)  # softmax
    top = [int(i) for i in np.argsort(-cat[0])[:5]]
    # on the gray photo Lite0 says Egyptian cat 0.89, tabby 0.07, tiger cat 0.03, lynx
    assert top[0] == 285 and set(top[:4]) <= CATS and cat[0, 285] > 0.5, top
    assert int(np.argmax(coffee[0])) in {967, 968, 504}  # espresso (0.74), cup, coffee mug
    names = [name for name, _ in top_classes(cat, 2, imagenet_class_names())[0]]
    assert names == ["Egyptian_cat", "tabby"]
    # batches of several photos, in chunks of `batch_size`, give each photo's own probabilities
    both = lite0(np.concatenate([gray_l("chelsea")[:, :296, :448], np.zeros((1, 296, 448, 1), "float32")]))
    assert both.shape == (2, EMBED_DIM) and int(np.argmax(both[0])) == 285


def test_cache_identities_differ_between_backbones(lite0):
    inception = Embedder("imagenet")
    assert (
        inception.identity == f"imagenet-{IMAGENET_WEIGHTS_MD5[:12]}-299px"
    )  # Inception's caches stay valid
    assert lite0.identity.startswith("efficientnet-lite0-imagenet-") and lite0.identity.endswith("-224px")
    assert lite0.identity != inception.identity and "efficientnet-lite0" in repr(lite0)
    with pytest.warns(UserWarning, match="EfficientNet-Lite0 has random weights"):
        random = Embedder("none", backbone=LITE0, input_size=32)
    assert random.identity.startswith("efficientnet-lite0-random-")


def test_an_unknown_backbone_is_refused():
    with pytest.raises(
        ValueError, match="unknown embedder 'vgg16'; choose one of inception_resnet_v2, efficientnet-lite0"
    ):
        Embedder("imagenet", backbone="vgg16")
    with pytest.raises(ValueError, match="at least 32 for EfficientNet-Lite0"):
        Embedder(None, backbone=LITE0, input_size=16)


def test_lite0_weights_missing_or_corrupt_are_one_line(tmp_path, monkeypatch):
    import colornet.pretrained as pretrained

    with pytest.raises(EmbedWeightsError, match="EfficientNet-Lite0 weights file not found") as err:
        Embedder(tmp_path / "lite0.weights.h5", backbone=LITE0)  # before any work
    assert_one_sentence(err)
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"\x89HDF\r\n" + os.urandom(2000))
    with pytest.raises(EmbedWeightsError, match="not usable as EfficientNet-Lite0 weights") as err:
        Embedder(bad, backbone=LITE0).build()
    assert_one_sentence(err)
    monkeypatch.setattr(pretrained, "default_weights_dir", lambda: tmp_path)  # no committed file there
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(EmbedWeightsError, match="efficientnet_lite0.weights.h5 is not in") as err:
        Embedder("imagenet", backbone=LITE0)
    assert "\n" not in str(err.value) and err.value.__cause__ is None
