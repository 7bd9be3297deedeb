"""Each metric against a case worked out by hand, and against scikit-image where it has the same metric."""

import math

import numpy as np
import pytest
from skimage.color import rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colornet import metrics

from conftest import bundled_photo


def solid(rgb, h=16, w=16):
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


@pytest.fixture(scope="module")
def photo_pair():
    """A real photo crop and a noisy, color-shifted copy of it."""
    truth = bundled_photo("astronaut")[100:164, 150:214]  # (64, 64, 3)
    rng = np.random.default_rng(1)
    noisy = truth.astype(int) + rng.integers(-25, 26, truth.shape) + np.array([12, -8, 0])
    return np.clip(noisy, 0, 255).astype(np.uint8), truth


# --- PSNR -----------------------------------------------------------------------


def test_psnr_of_constant_offset():
    truth = np.random.default_rng(0).integers(0, 230, (20, 30, 3)).astype(np.uint8)
    # every value off by 10 -> MSE = 100 -> PSNR = 10 log10(255^2 / 100) = 28.1308 dB
    assert metrics.psnr(truth + 10, truth) == pytest.approx(28.1308, abs=1e-4)
    # half the pixels off by 20, half exact -> MSE = 200 -> 25.1205 dB
    pred = truth.copy()
    pred[:10] += 20
    assert metrics.psnr(pred, truth) == pytest.approx(25.1205, abs=1e-4)


def test_psnr_of_identical_images_is_infinite():
    image = solid((10, 200, 30))
    assert metrics.psnr(image, image) == math.inf


def test_psnr_matches_skimage(photo_pair):
    pred, truth = photo_pair
    expected = peak_signal_noise_ratio(truth, pred, data_range=255)
    assert metrics.psnr(pred, truth) == pytest.approx(expected, rel=1e-12)


def test_metrics_refuse_float_and_mismatched_images():
    image = solid((1, 2, 3))
    with pytest.raises(ValueError, match="uint8"):
        metrics.psnr(image / 255.0, image)
    with pytest.raises(ValueError, match="same shape"):
        metrics.ssim(image, image[:8])


# --- SSIM -----------------------------------------------------------------------


def test_ssim_of_two_flat_images():
    # No variance: SSIM is the luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1),
    # C1 = (0.01 * 255)^2 = 6.5025: (22000 + 6.5025) / (22100 + 6.5025) = 0.995477
    assert metrics.ssim(solid(100), solid(110)) == pytest.approx(0.995477, abs=1e-6)
    assert metrics.ssim(solid(100), solid(100)) == pytest.approx(1.0)


def test_ssim_matches_skimage_with_wang_settings(photo_pair):
    pred, truth = photo_pair
    expected = structural_similarity(
        truth,
        pred,
        channel_axis=-1,
        data_range=255,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    value = metrics.ssim(pred, truth)
    assert value == pytest.approx(expected, rel=1e-9)
    assert 0.0 < value < 1.0
    # the mean over channels: each channel alone, averaged
    per_channel = [
        structural_similarity(
            truth[..., c],
            pred[..., c],
            data_range=255,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        for c in range(3)
    ]
    assert value == pytest.approx(np.mean(per_channel), rel=1e-9)


def test_ssim_needs_an_11_pixel_window():
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(solid(1, 8, 8), solid(2, 8, 8))


# --- colorfulness ---------------------------------------------------------------


def test_colorfulness_of_gray_is_zero():
    ramp = np.repeat(np.linspace(0, 255, 32).astype(np.uint8)[None, :, None], 3, axis=-1)
    assert metrics.colorfulness(np.repeat(ramp, 8, axis=0)) == 0.0


def test_colorfulness_of_one_color():
    # (200, 100, 50): rg = 100, yb = |150 - 50| = 100, no spread -> 0.3 * sqrt(100^2 + 100^2) = 42.4264
    assert metrics.colorfulness(solid((200, 100, 50))) == pytest.approx(42.4264, abs=1e-4)


def test_colorfulness_of_two_colors():
    # half pure red: rg = 255, yb = |127.5 - 0| = 127.5; half pure blue: rg = 0, yb = 255.
    # rg: mean 127.5, std 127.5; yb: mean 191.25, std 63.75.
    # CF = sqrt(127.5^2 + 63.75^2) + 0.3 sqrt(127.5^2 + 191.25^2) = 142.5493 + 0.3 * 229.8539 = 211.5055
    image = solid((255, 0, 0), 10, 20)
    image[:, 10:] = (0, 0, 255)
    assert metrics.colorfulness(image) == pytest.approx(211.5055, abs=1e-4)


def test_colorfulness_uses_absolute_differences():
    # Opposite hues give the same rg and yb magnitudes: (100, 200, 50) -> rg = 100, yb = 100.
    assert metrics.colorfulness(solid((100, 200, 50))) == pytest.approx(
        metrics.colorfulness(solid((200, 100, 50)))
    )


def test_colorfulness_gap():
    grays = [solid(v) for v in (20, 90, 200)]
    colors = [solid((200, 100, 50)), solid((255, 0, 0))]  # 42.4264 and 0.3 * sqrt(255^2 + 127.5^2) = 85.5296
    assert metrics.colorfulness_gap(grays, colors) == pytest.approx((42.4264 + 85.5296) / 2, abs=1e-4)
    assert metrics.colorfulness_gap(colors, grays) == metrics.colorfulness_gap(grays, colors)
    assert metrics.colorfulness_gap(colors, colors[::-1]) == 0.0


# --- AuC of the ab error --------------------------------------------------------


def test_auc_of_constant_and_split_errors():
    assert metrics.auc_of_errors(np.full(100, 30.0)) == pytest.approx(0.8)  # 1 - 30 / 150
    assert metrics.auc_of_errors([0.0, 300.0]) == pytest.approx(0.5)  # errors above 150 count as 150
    assert metrics.auc_of_errors(np.zeros(5)) == 1.0
    assert metrics.auc_of_errors([75.0], max_threshold=100) == pytest.approx(0.25)


def test_auc_is_the_limit_of_a_fine_threshold_grid():
    errors = np.random.default_rng(3).gamma(2.0, 20.0, 5000)
    thresholds = np.linspace(0, 150, 30001)
    share = (errors[None, :] <= thresholds[:, None]).mean(axis=1)  # (30001,)
    fine = np.sum((share[1:] + share[:-1]) / 2 * np.diff(thresholds)) / 150  # trapezoid rule
    exact = metrics.auc_of_errors(errors)
    assert exact == pytest.approx(fine, abs=1e-4)
    # averaging over the 151 integer thresholds 0..150 differs by at most 1/151
    integer = np.mean([(errors <= t).mean() for t in range(151)])
    assert exact - exact / 151 <= integer <= exact + (1 - exact) / 151


def test_ab_auc_of_identical_images_is_one(photo_pair):
    _, truth = photo_pair
    assert metrics.ab_auc(truth, truth) == 1.0


def test_ab_auc_of_a_known_ab_offset():
    color, gray = solid((200, 100, 50)), solid(130)
    offset = np.linalg.norm(rgb2lab(color[:1, :1])[0, 0, 1:] - rgb2lab(gray[:1, :1])[0, 0, 1:])
    assert 40 < offset < 80  # an orange: far from gray in ab, well under 150
    assert metrics.ab_auc(gray, color) == pytest.approx(1 - offset / 150, abs=1e-5)
    np.testing.assert_allclose(metrics.ab_error(gray, color), offset, atol=1e-3)


def test_ab_auc_matches_skimage_lab(photo_pair):
    pred, truth = photo_pair
    errors = np.linalg.norm(rgb2lab(pred)[..., 1:] - rgb2lab(truth)[..., 1:], axis=-1)
    assert metrics.ab_auc(pred, truth) == pytest.approx(metrics.auc_of_errors(errors), abs=1e-5)
    assert 0.5 < metrics.ab_auc(pred, truth) < 1.0


# --- one batch ------------------------------------------------------------------


def test_image_metrics_of_a_batch(photo_pair):
    pred, truth = photo_pair
    preds, truths = np.stack([pred, truth]), np.stack([truth, truth])
    result = metrics.image_metrics(preds, truths)
    assert set(result) == {"psnr", "ssim", "colorfulness", "ab_auc", "ab_auc_rebalanced"}
    assert all(len(v) == 2 for v in result.values())
    assert result["psnr"][0] == pytest.approx(metrics.psnr(pred, truth))
    assert result["psnr"][1] == math.inf
    assert result["ssim"][0] == pytest.approx(metrics.ssim(pred, truth))
    assert result["ab_auc"][0] == pytest.approx(metrics.ab_auc(pred, truth))
    assert result["ab_auc"][1] == 1.0
    assert result["colorfulness"] == pytest.approx([metrics.colorfulness(pred), metrics.colorfulness(truth)])
    single = metrics.image_metrics(pred, truth)
    assert single["psnr"] == pytest.approx(result["psnr"][:1])


def test_rebalanced_auc_weighs_each_color_class_equally():
    errors = np.array([0.0] * 90 + [150.0] * 10)  # 90 gray pixels right, 10 red ones wrong
    classes = np.array([0] * 90 + [7] * 10)
    assert metrics.auc_of_errors(errors) == pytest.approx(0.9)
    assert metrics.rebalanced_auc_of_errors(errors, classes) == pytest.approx(0.5)
    assert metrics.rebalanced_auc_of_errors(errors, np.zeros(100, int)) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="one class per error value"):
        metrics.rebalanced_auc_of_errors(errors, classes[:5])


def test_ab_auc_rebalanced_of_a_gray_guess_on_a_photo_with_a_small_colorful_part():
    truth = np.full((20, 20, 3), 128, np.uint8)
    truth[:2, :2] = (220, 20, 20)  # 1% red
    gray = np.repeat(np.asarray(truth.mean(-1, keepdims=True), np.uint8), 3, -1)
    assert metrics.ab_auc_rebalanced(truth, truth) == 1.0
    assert metrics.ab_auc(gray, truth) > 0.99
    assert metrics.ab_auc_rebalanced(gray, truth) < 0.8  # the red class counts as much as the gray one
    assert metrics.image_metrics(gray, truth)["ab_auc_rebalanced"][0] == pytest.approx(
        metrics.ab_auc_rebalanced(gray, truth)
    )


def test_the_set_wide_rebalanced_auc_adds_up_batches():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 256, (4, 12, 12, 3), dtype=np.uint8)
    pred = np.clip(truth.astype(int) + rng.integers(-60, 60, truth.shape), 0, 255).astype(np.uint8)
    first, second = metrics.bin_error_sums(pred[:2], truth[:2]), metrics.bin_error_sums(pred[2:], truth[2:])
    total = (first[0] + second[0], first[1] + second[1])
    whole = metrics.rebalanced_auc_of_errors(metrics.ab_error(pred, truth), metrics.ab_bin_of(truth))
    assert metrics.rebalanced_auc_of_sums(*total) == pytest.approx(whole, abs=1e-9)
    assert metrics.rebalanced_auc_of_sums(*metrics.bin_error_sums(truth, truth)) == 1.0
    with pytest.raises(ValueError, match="needs some pixels"):
        metrics.rebalanced_auc_of_sums(np.zeros(3), np.zeros(3, int))
