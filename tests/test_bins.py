"""Colors as classes (Zhang et al. 2016): the bins, the prior, soft-encoding, rebalancing, the
annealed mean, and what bad input gets."""

import numpy as np
import pytest
from PIL import Image

from colornet import bins as B
from colornet import cli
from colornet.errors import ColornetError
from colornet.prior import compute_prior, load_prior, save_prior, smooth


def test_the_bins_are_the_grid_cells_of_the_srgb_gamut():
    bins = B.ab_bins()
    assert bins.shape == (B.N_BINS, 2) == (261, 2)
    np.testing.assert_array_equal(B.derive_bins(), bins)  # the stored table is what the gamut gives
    assert B.bin_rows(bins) == B.BIN_ROWS
    assert np.all(bins % B.GRID == 0) and len({tuple(c) for c in bins}) == len(bins)


def random_ab(n, seed=0):
    """Colors inside the bins: a bin center moved by up to half a cell."""
    rng = np.random.default_rng(seed)
    centers = B.ab_bins()[rng.integers(0, B.N_BINS, n)]
    return (centers + rng.uniform(-4.9, 4.9, (n, 2))).astype(np.float32)


def test_soft_encoding_sums_to_one_on_five_bins_and_decodes_back_near_the_color():
    ab = random_ab(500)
    z = np.asarray(B.soft_encode(ab))
    assert z.shape == (500, B.N_BINS)
    np.testing.assert_allclose(z.sum(-1), 1.0, atol=1e-5)
    assert np.all((z > 0).sum(-1) == 5)
    mean = z @ B.ab_bins()  # the encoding's mean is near the color itself
    assert np.abs(mean - ab).max() < 5.0 and np.abs(mean - ab).mean() < 2.0
    np.testing.assert_array_equal(np.argmax(z, -1), np.asarray(B.nearest_bin(ab)))
    # in graph ops, on batches of images
    images = np.asarray(B.soft_encode(ab.reshape(5, 10, 10, 2)))
    np.testing.assert_allclose(images.reshape(500, -1), z, atol=1e-6)


def test_the_nearest_bin_by_grid_cell_is_the_nearest_center():
    rng = np.random.default_rng(3)
    ab = rng.uniform(-128, 128, (4000, 2)).astype(np.float32)  # inside and outside the bins
    full = np.argmin(((ab[:, None] - B.ab_bins()) ** 2).sum(-1), axis=-1)
    np.testing.assert_array_equal(np.asarray(B.nearest_bin(ab)), full)
    np.testing.assert_array_equal(np.asarray(B.nearest_bin(ab, B.ab_bins())), full)
    assert np.asarray(B.nearest_bin(ab.reshape(2, 40, 50, 2))).shape == (2, 40, 50)


def test_colors_outside_every_bin_clamp_to_the_nearest_bin():
    outside = np.array([[127.0, 127.0], [-128.0, -128.0], [0.0, 200.0]], np.float32)
    clamped = np.asarray(B.clamp_to_bins(outside))
    nearest = B.ab_bins()[np.asarray(B.nearest_bin(outside))]
    np.testing.assert_array_equal(clamped, nearest)
    z = np.asarray(B.soft_encode(outside))
    assert np.all(np.isfinite(z)) and np.allclose(z.sum(-1), 1.0)
    np.testing.assert_allclose(z, np.asarray(B.soft_encode(nearest)), atol=1e-6)
    inside = random_ab(20)
    np.testing.assert_array_equal(np.asarray(B.clamp_to_bins(inside)), inside)


def test_the_annealed_mean_at_t1_is_the_mean_and_at_small_t_the_mode():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (4, 6, B.N_BINS)).astype(np.float32)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        np.asarray(B.annealed_mean(logits, temperature=1.0)), p @ B.ab_bins(), atol=1e-3
    )
    near_mode = np.abs(np.asarray(B.annealed_mean(logits, temperature=0.01)) - np.asarray(B.mode(logits)))
    assert np.median(near_mode) < 1e-3 and near_mode.max() < 5  # all but near ties
    # lower temperatures move toward the mode: further from the mean, toward saturated colors
    mean = p @ B.ab_bins()
    gaps = [
        np.abs(np.asarray(B.annealed_mean(logits, temperature=t)) - mean).mean() for t in (1.0, 0.38, 0.1)
    ]
    assert gaps[0] < gaps[1] < gaps[2]


@pytest.mark.parametrize("bad", [0, -0.5, 11, float("nan"), "warm"])
def test_a_temperature_that_means_nothing_is_refused(bad):
    with pytest.raises(ValueError, match="temperature must be above 0 and at most 10") as err:
        B.check_temperature(bad)
    assert len(str(err.value).splitlines()) == 1
    assert B.check_temperature("0.38") == 0.38 and B.check_temperature(10) == 10.0


def test_undoing_the_rebalancing_takes_the_weights_back_out_of_the_distribution():
    rng = np.random.default_rng(3)
    prior = rng.gamma(0.3, size=B.N_BINS)
    prior /= prior.sum()
    w = B.rebalancing_weights(prior)
    p = rng.dirichlet(np.full(B.N_BINS, 0.5), size=(2, 3))  # (2, 3, Q): the colors' own odds
    tilted = np.log(p * w) + 7.0  # what the rebalanced loss trains a network to predict, up to a constant

    def softmax(x):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    np.testing.assert_allclose(
        softmax(np.asarray(B.undo_rebalancing(tilted, w, 1.0))), p, rtol=1e-3, atol=1e-6
    )
    np.testing.assert_allclose(np.asarray(B.undo_rebalancing(tilted, w, 0.0)), tilted, rtol=1e-6)
    half = softmax(np.asarray(B.undo_rebalancing(tilted, w, 0.5)))
    np.testing.assert_allclose(half, softmax(np.log(p * np.sqrt(w))), rtol=1e-3, atol=1e-6)
    for bad in (-0.1, 1.5, float("nan"), "most"):
        with pytest.raises(ValueError, match="undo-rebalancing must be from 0 to 1") as err:
            B.check_undo(bad)
        assert len(str(err.value).splitlines()) == 1


def test_rebalanced_weights_have_mean_one_under_the_prior():
    rng = np.random.default_rng(2)
    prior = rng.gamma(0.3, size=B.N_BINS)
    prior /= prior.sum()
    w = B.rebalancing_weights(prior)
    assert np.sum(prior * w) == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(w[np.argsort(prior)]) <= 1e-6)  # rarer bins weigh more
    np.testing.assert_allclose(B.rebalancing_weights(prior, lam=1.0), 1.0, atol=1e-6)  # no rebalancing
    # lambda = 0: each bin's pixels weigh as much together as every other bin's
    np.testing.assert_allclose(prior * B.rebalancing_weights(prior, lam=0.0), 1.0 / B.N_BINS, rtol=1e-4)
    with pytest.raises(ValueError, match="lambda must be from 0 to 1"):
        B.rebalancing_weights(prior, lam=2)


# --- the prior -------------------------------------------------------------------

RED, BLUE = (200, 30, 30), (20, 40, 220)


def two_color_folder(folder, n=3):
    """Photos of 32x32 pixels, the left half red and the right half blue."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image = np.zeros((32, 32, 3), np.uint8)
        image[:, :16], image[:, 16:] = RED, BLUE
        Image.fromarray(image).save(folder / f"{i}.png")
    return folder


def bin_of(rgb):
    from colornet.color import rgb_to_lab

    ab = np.asarray(rgb_to_lab(np.array([[rgb]], np.uint8)))[0, 0, 1:]
    return int(np.asarray(B.nearest_bin(ab)))


def test_the_prior_of_a_two_color_photo(tmp_path):
    folder = two_color_folder(tmp_path / "two")
    red, blue = bin_of(RED), bin_of(BLUE)
    raw = compute_prior(folder, size=32, sigma=0, progress=False)
    expected = np.zeros(B.N_BINS)
    expected[[red, blue]] = 0.5
    np.testing.assert_allclose(raw, expected, atol=1e-12)
    smoothed = compute_prior(folder, size=32, progress=False)  # sigma 5: over the ab plane
    np.testing.assert_allclose(smoothed, smooth(expected), atol=1e-12)
    assert smoothed.sum() == pytest.approx(1.0) and smoothed[red] == pytest.approx(smoothed[blue], rel=0.2)
    neighbors = np.linalg.norm(B.ab_bins() - B.ab_bins()[red], axis=-1) == B.GRID
    assert 0 < smoothed[neighbors].max() < smoothed[red] < 0.5  # spread to the bins next to it
    distance = np.linalg.norm(B.ab_bins()[:, None] - B.ab_bins()[[red, blue]], axis=-1).min(-1)
    assert smoothed[distance > 30].max() < 1e-6  # and no further


def test_prior_command_writes_a_file_that_loads(tmp_path, capsys):
    folder = two_color_folder(tmp_path / "two")
    out = tmp_path / "w" / "prior.npy"
    assert cli.main(["prior", str(folder), "--out", str(out), "--size", "32"]) == 0
    assert "Wrote" in capsys.readouterr().out
    prior = load_prior(out)
    assert prior.shape == (B.N_BINS,) and prior.sum() == pytest.approx(1.0)
    assert np.load(out).shape == (B.N_BINS, 3)


def test_a_folder_of_gray_photos_has_no_prior(tmp_path, capsys):
    folder = tmp_path / "gray"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((24, 24), 40 * i + 20, np.uint8)).save(folder / f"{i}.png")
    with pytest.raises(ColornetError, match="gray, so the prior of their colors cannot be computed"):
        compute_prior(folder, size=16, progress=False)
    assert cli.main(["prior", str(folder), "--out", str(tmp_path / "p.npy"), "--size", "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot be computed" in err
    assert not (tmp_path / "p.npy").exists()


def test_prior_files_of_another_shape_or_other_bins_are_refused(tmp_path):
    prior = np.full(B.N_BINS, 1.0 / B.N_BINS)
    good = save_prior(tmp_path / "good.npy", prior)
    np.testing.assert_allclose(load_prior(good), prior)
    np.save(tmp_path / "flat.npy", prior)  # the probabilities alone
    np.save(tmp_path / "313.npy", np.full((313, 3), 1.0 / 313))  # the paper's bins
    shifted = np.load(good)
    shifted[:, :2] += 5.0
    np.save(tmp_path / "shifted.npy", shifted)
    (tmp_path / "text.npy").write_text("not an array")
    negative = np.load(good)
    negative[0, 2] = -1.0
    np.save(tmp_path / "negative.npy", negative)
    cases = {"flat": "has shape (261,)", "313": "has shape (313, 3)", "shifted": "other ab bins",
             "text": "not a prior file", "negative": "not a distribution", "missing": "no such prior file"}  # fmt: skip
    for name, message in cases.items():
        with pytest.raises(ColornetError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
            load_prior(tmp_path / f"{name}.npy")
        assert len(str(err.value).splitlines()) == 1
