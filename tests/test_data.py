"""The tf.data pipeline: shapes, ranges, determinism, augmentation, bad input."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colornet import data
from colornet.color import rgb_to_model_io
from colornet.images import ImageError


def first_batches(ds, n=2):
    return [tuple(np.asarray(t) for t in batch) for batch in ds.take(n)]


def test_batches_have_the_right_shapes_and_ranges(photo_folder):
    ds = data.make_dataset(photo_folder, size=32, batch_size=5)
    l, ab = next(iter(ds))
    assert l.shape == (5, 32, 32, 1) and ab.shape == (5, 32, 32, 2)
    assert l.dtype == tf.float32 and -1 <= float(tf.reduce_min(l)) and float(tf.reduce_max(l)) <= 1
    assert float(tf.reduce_max(tf.abs(ab))) <= 1
    assert float(tf.math.reduce_std(ab)) > 0.01  # real color in the targets
    assert sum(int(b[0].shape[0]) for b in ds) == 12


def test_same_seed_same_batches_other_seed_other_batches(photo_folder):
    a = first_batches(data.make_dataset(photo_folder, size=32, batch_size=4, seed=3))
    b = first_batches(data.make_dataset(photo_folder, size=32, batch_size=4, seed=3))
    c = first_batches(data.make_dataset(photo_folder, size=32, batch_size=4, seed=4))
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not np.array_equal(a[0][1], c[0][1])


def test_epochs_differ_but_evaluation_is_fixed(photo_folder):
    ds = data.make_dataset(photo_folder, size=32, batch_size=12)
    e1, e2 = first_batches(ds, 1)[0], first_batches(ds, 1)[0]
    assert not np.array_equal(e1[1], e2[1])
    ev = data.make_dataset(photo_folder, size=32, batch_size=12, training=False)
    f1, f2 = first_batches(ev, 1)[0], first_batches(ev, 1)[0]
    assert np.array_equal(f1[0], f2[0])


def test_augment_without_range_is_identity_and_warps_otherwise():
    images = tf.random.uniform((3, 24, 40, 3), seed=0)
    same = data.augment_batch(images, tf.constant([1, 2]), rotation=0, zoom=0, shear=0)
    np.testing.assert_allclose(same.numpy(), images.numpy(), atol=1e-6)
    warped = data.augment_batch(images, tf.constant([1, 2]))
    assert warped.shape == images.shape and np.abs(warped.numpy() - images.numpy()).mean() > 0.01


def test_zoom_only_rescales_about_the_center():
    # A centered white square grows or shrinks but stays centered.
    im = np.zeros((1, 41, 41, 3), np.float32)
    im[:, 15:26, 15:26] = 1
    out = data.augment_batch(im, tf.constant([5, 6]), rotation=0, zoom=0.2, shear=0).numpy()[0, ..., 0]
    ys, xs = np.nonzero(out > 0.5)
    assert abs(ys.mean() - 20) < 0.6 and abs(xs.mean() - 20) < 0.6


def test_extras_travel_with_their_photos(photo_folder):
    paths = data.list_images(photo_folder)
    extras = np.arange(len(paths), dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    ds = data.make_dataset(
        None, paths=paths, extras={"extra": extras}, size=32, batch_size=12, training=False
    )
    (l, extra), ab = next(iter(ds))
    assert extra.shape == (12, 3)
    # Without shuffling, the extras come out in file order, row for row.
    np.testing.assert_array_equal(extra.numpy()[:, 0], np.arange(12))


def test_formats_become_rgb_in_the_pipeline(tmp_path):
    rgb = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE).save(tmp_path / "pal.png")
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(tmp_path / "rgba.png")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(tmp_path / "g16.png")
    Image.fromarray(rgb).save(tmp_path / "a.gif")
    Image.fromarray(rgb).save(tmp_path / "a.bmp")
    ds = data.make_dataset(tmp_path, size=16, batch_size=6, training=False)
    l, ab = next(iter(ds))
    assert l.shape == (6, 16, 16, 1)
    gray_rows = [i for i, p in enumerate(data.list_images(tmp_path)) if p.split("/")[-1].startswith("g")]
    for i in gray_rows:  # gray.png and g16.png have no color
        assert float(tf.reduce_max(tf.abs(ab[i]))) < 1e-3


def test_empty_folder_and_folder_without_images(tmp_path):
    with pytest.raises(ImageError, match="no images"):
        data.make_dataset(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ImageError, match="no images"):
        data.make_dataset(tmp_path)


def test_corrupt_file_is_named_or_skipped_and_counted(photo_folder, tmp_path):
    bad = tmp_path / "photos" / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all")
    with pytest.raises(ImageError, match="broken.jpg"):
        data.make_dataset(photo_folder)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable file\(s\) of 13"):
        ds = data.make_dataset(photo_folder, size=16, batch_size=20, on_error="skip", training=False)
    assert next(iter(ds))[0].shape[0] == 12


def test_any_crop_size_works_and_the_design_checks_its_multiple(photo_folder):
    """The pipeline crops any size; what a network needs is its design's to say (`check_size`)."""
    from colornet.models import get_design

    l, ab = next(iter(data.make_dataset(photo_folder, size=30, batch_size=2)))
    assert l.shape == (2, 30, 30, 1) and ab.shape == (2, 30, 30, 2)
    with pytest.raises(ValueError, match="positive"):
        data.make_dataset(photo_folder, size=0)
    with pytest.raises(
        ValueError, match="--size must be a positive multiple of 8 for beta, got 30; use 24 or 32"
    ):
        get_design("beta").check_size(30)


def test_photo_to_batch_crops_or_pads_to_multiple_of_8():
    rgb = np.random.default_rng(1).random((37, 50, 3)).astype(np.float32)
    l, ab = data.photo_to_batch(rgb)
    assert l.shape == (1, 32, 48, 1)
    l, ab = data.photo_to_batch(rgb, fit="pad")
    assert l.shape == (1, 40, 56, 1)
    l_ref, _ = rgb_to_model_io(rgb[None])
    np.testing.assert_allclose(l.numpy()[0, :37, :50], l_ref.numpy()[0], atol=1e-5)
    with pytest.raises(ImageError, match="smaller than 8x8"):
        data.photo_to_batch(rgb[:5, :5])


def test_flip_inside_the_warp_mirrors_about_half_the_images():
    images = tf.random.uniform((16, 8, 12, 3), seed=2)
    out = data.augment_batch(images, tf.constant([7, 8]), rotation=0, zoom=0, shear=0, flip=True).numpy()
    same = [np.allclose(o, i, atol=1e-5) for o, i in zip(out, images.numpy())]
    mirrored = [np.allclose(o, i[:, ::-1], atol=1e-5) for o, i in zip(out, images.numpy())]
    assert all(s or m for s, m in zip(same, mirrored))
    assert 0 < sum(mirrored) < 16


def test_large_and_small_photos_reach_the_training_size(tmp_path):
    rgb = (np.random.default_rng(3).random((300, 200, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "big.png")
    Image.fromarray(rgb[:20, :30]).save(tmp_path / "small.png")
    for name, shape in (("big.png", (48, 32, 3)), ("small.png", (32, 48, 3))):
        lab = data.load_lab(str(tmp_path / name), 32).numpy()
        assert lab.shape == shape and 0 <= lab[..., 0].min() and lab[..., 0].max() <= 100


def test_labels_from_folder_names_travel_as_targets(tmp_path):
    """A class per parent folder (`scenes/train/forest/x.jpg` -> forest) reaches the codec with
    each photo, for designs that learn a scene class."""
    from conftest import bundled_photo

    photo = bundled_photo("chelsea")
    for k, name in enumerate(("forest", "sea", "street")):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(photo[20 * k : 20 * k + 24, 30 * i : 30 * i + 24]).save(
                tmp_path / name / f"{i}.png"
            )
    paths = data.list_images(tmp_path)
    classes, labels = data.folder_labels(paths)
    assert classes == ["forest", "sea", "street"]
    assert [classes[i] for i in labels] == [Path(p).parent.name for p in paths]
    assert list(labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2]

    class LabelCodec:  # inputs: L; targets: the label
        extra_inputs = ()

        def encode(self, lab, extras):
            return lab[..., :1], extras["label"]

    ds = data.make_dataset(
        None, paths=paths, labels=labels, codec=LabelCodec(), size=16, batch_size=9, training=False
    )
    l, batch_labels = next(iter(ds))
    np.testing.assert_array_equal(batch_labels.numpy(), labels)  # file order without shuffling
    shuffled = data.make_dataset(None, paths=paths, labels=labels, codec=LabelCodec(), size=16, batch_size=9)
    l, batch_labels = next(iter(shuffled))
    assert sorted(batch_labels.numpy()) == sorted(labels)
    with pytest.raises(ImageError, match="is not one of the classes forest, sea"):
        data.folder_labels(paths, classes=["forest", "sea"])


def test_workers_read_their_own_share_of_the_files(photo_folder):
    paths = data.list_images(photo_folder)
    extras = {"index": np.arange(len(paths), dtype=np.float32)[:, None]}
    seen = []
    for index in range(3):
        ds = data.make_dataset(
            None, paths=paths, extras=extras, size=16, batch_size=32, training=False, shard=(3, index)
        )
        (l, extra), ab = next(iter(ds))
        seen.append(sorted(int(v) for v in extra.numpy()[:, 0]))
    assert seen == [list(range(i, len(paths), 3)) for i in range(3)]


def _solid_folder(folder: Path, color, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (20, 24), color).save(folder / f"{i}.png")
    return folder


def test_source_weights_set_each_sources_share_of_a_pass(tmp_path):
    red = _solid_folder(tmp_path / "red", (200, 30, 30), 30)
    blue = _solid_folder(tmp_path / "blue", (30, 30, 200), 3)
    paths = data.list_images([str(red), str(blue)])
    sources = np.array([0 if "/red/" in p else 1 for p in paths])

    def blue_share(weights):
        ds = data.make_dataset(
            None, size=16, batch_size=33, paths=paths, sources=sources, source_weights=weights, augment=False
        )
        blues, total = 0, 0
        for _ in range(6):  # six passes of 33 photos each
            for _, ab in ds:
                b = np.asarray(ab)[:, 8, 8, 1]  # Lab b < 0 is blue
                blues, total = blues + int((b < 0).sum()), total + len(b)
        return blues / total, total

    share, total = blue_share([1.0, 1.0])
    assert total == 6 * 33  # a pass has as many photos as there are files
    assert 0.38 < share < 0.62  # 3 blue photos of 33, drawn half the time
    share, _ = blue_share([1.0, 0.0])
    assert share == 0.0
    plain = data.make_dataset(None, size=16, batch_size=33, paths=paths, augment=False)
    b = np.concatenate([np.asarray(ab)[:, 8, 8, 1] for _, ab in plain])
    assert (b < 0).sum() == 3  # without weights every photo once a pass


def test_source_weights_are_checked():
    assert data.check_source_weights([2, 1, 1], 3) == [0.5, 0.25, 0.25]
    for weights, n in (([1, 1], 3), ([1, -1], 2), ([0, 0], 2), ([float("nan"), 1], 2)):
        with pytest.raises(ValueError, match="--data-weights"):
            data.check_source_weights(weights, n)
