"""Lab conversion in TF ops against scikit-image, round trips, special colors, normalization."""

import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skcolor

from colornet import color

from conftest import bundled_photo


@pytest.fixture(scope="module")
def random_rgb():
    return np.random.default_rng(0).random((3, 40, 50, 3))


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_rgb_to_lab_matches_skimage_on_photos(name):
    rgb = bundled_photo(name) / 255.0
    expected = skcolor.rgb2lab(rgb)
    got = color.rgb_to_lab(rgb.astype(np.float32)).numpy()
    assert got.shape == rgb.shape
    assert np.abs(got - expected).max() <= 1e-3


def test_rgb_to_lab_matches_skimage_batched(random_rgb):
    got = color.rgb_to_lab(tf.constant(random_rgb, tf.float32)).numpy()
    assert np.abs(got - skcolor.rgb2lab(random_rgb)).max() <= 1e-3


def test_uint8_input_is_scaled():
    rgb = bundled_photo("coffee")[:64, :64]
    got = color.rgb_to_lab(rgb).numpy()
    assert np.abs(got - skcolor.rgb2lab(rgb)).max() <= 1e-3


def test_lab_to_rgb_matches_skimage_in_gamut(random_rgb):
    lab = skcolor.rgb2lab(random_rgb)
    got = color.lab_to_rgb(tf.constant(lab, tf.float32)).numpy()
    assert np.abs(got - skcolor.lab2rgb(lab)).max() <= 1e-4


def test_round_trip_within_one_level(random_rgb):
    rgb8 = np.round(random_rgb * 255) / 255
    back = color.lab_to_rgb(color.rgb_to_lab(tf.constant(rgb8, tf.float32))).numpy()
    assert np.abs(back - rgb8).max() < 1 / 255


def test_black_white_and_primaries():
    rgb = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    lab = color.rgb_to_lab(rgb).numpy()
    np.testing.assert_allclose(lab[0], [0, 0, 0], atol=1e-3)
    np.testing.assert_allclose(lab[1], [100, 0, 0], atol=1e-2)
    np.testing.assert_allclose(lab, skcolor.rgb2lab(rgb.astype(np.float64)), atol=1e-3)
    assert lab[2, 1] > 70 and lab[3, 1] < -70 and lab[4, 2] < -100  # red a+, green a-, blue b-


def test_gray_ramp_has_no_color():
    ramp = np.repeat(np.linspace(0, 1, 256, dtype=np.float32)[:, None], 3, axis=1)
    lab = color.rgb_to_lab(ramp).numpy()
    # ab ~ 0: the sRGB matrix rows sum to D65 only to 4 digits, so scikit-image gives 0.005 for white too.
    assert np.abs(lab[:, 1:]).max() < 0.01
    np.testing.assert_allclose(lab, skcolor.rgb2lab(ramp.astype(np.float64)), atol=1e-3)
    assert np.all(np.diff(lab[:, 0]) > 0)  # lightness increases along the ramp


def test_out_of_gamut_lab_is_clipped_to_valid_rgb():
    lab = np.array([[50, 127, -128], [100, 127, 127], [0, -128, 127], [30, 0, -200]], np.float32)
    rgb = color.lab_to_rgb(lab).numpy()
    assert np.all(np.isfinite(rgb)) and rgb.min() >= 0 and rgb.max() <= 1
    with pytest.warns(UserWarning):  # scikit-image clips too, and warns about negative Z
        expected = skcolor.lab2rgb(lab.astype(np.float64))
    np.testing.assert_allclose(rgb, expected, atol=1e-4)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_half_precision_inputs_give_no_nans(dtype, random_rgb):
    rgb = tf.cast(random_rgb, dtype)
    lab = color.rgb_to_lab(rgb)
    assert lab.dtype == dtype
    lab32 = tf.cast(lab, tf.float32).numpy()
    assert np.all(np.isfinite(lab32))
    assert np.abs(lab32 - skcolor.rgb2lab(random_rgb)).max() < 1.0  # half-precision rounding
    assert np.all(np.isfinite(tf.cast(color.lab_to_rgb(lab), tf.float32).numpy()))


def test_gradients_are_finite_at_black():
    x = tf.Variable(tf.zeros((2, 2, 3)))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(color.rgb_to_lab(x)) + tf.reduce_sum(color.lab_to_rgb(color.rgb_to_lab(x)))
    assert np.all(np.isfinite(tape.gradient(y, x).numpy()))


def test_runs_inside_tf_function_and_keras_layer():
    rgb = tf.random.uniform((2, 8, 8, 3), seed=1)
    graph = tf.function(color.rgb_to_lab)(rgb)
    np.testing.assert_allclose(graph.numpy(), color.rgb_to_lab(rgb).numpy(), atol=1e-3)
    import keras

    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Lambda(color.rgb_to_lab)(inputs))
    np.testing.assert_allclose(model(rgb).numpy(), graph.numpy(), atol=1e-3)


def test_normalization_round_trip_and_ranges():
    rgb = bundled_photo("astronaut")[::4, ::4] / 255.0
    l_norm, ab_norm = color.rgb_to_model_io(rgb.astype(np.float32))
    assert l_norm.shape[-1] == 1 and ab_norm.shape[-1] == 2
    assert -1 <= float(tf.reduce_min(l_norm)) and float(tf.reduce_max(l_norm)) <= 1
    assert float(tf.reduce_max(tf.abs(ab_norm))) <= 1
    back = color.model_io_to_rgb(l_norm, ab_norm).numpy()
    assert np.abs(back - rgb).max() < 1 / 255
    lab = color.lab_from_model_io(l_norm, ab_norm).numpy()
    np.testing.assert_allclose(lab, skcolor.rgb2lab(rgb), atol=1e-3)


def test_merge_l_ab_with_zero_ab_is_gray():
    L = np.full((4, 4, 1), 60.0, np.float32)
    rgb = color.merge_l_ab(L, np.zeros((4, 4, 2), np.float32)).numpy()
    assert np.ptp(rgb, axis=-1).max() < 1e-4  # equal channels, up to float32 rounding
    np.testing.assert_allclose(color.rgb_to_lab(rgb).numpy()[..., 0], 60.0, atol=1e-3)


def test_yuv_matches_skimage_and_round_trips(random_rgb):
    yuv = color.rgb_to_yuv(tf.constant(random_rgb, tf.float32)).numpy()
    np.testing.assert_allclose(yuv, skcolor.rgb2yuv(random_rgb), atol=1e-5)
    back = color.yuv_to_rgb(tf.constant(skcolor.rgb2yuv(random_rgb), tf.float32)).numpy()
    np.testing.assert_allclose(back, skcolor.yuv2rgb(skcolor.rgb2yuv(random_rgb)), atol=1e-5)
    np.testing.assert_allclose(back, random_rgb, atol=1e-5)
    gray = np.repeat(np.linspace(0, 1, 11, dtype=np.float32)[:, None], 3, axis=1)
    assert np.abs(color.rgb_to_yuv(gray).numpy()[:, 1:]).max() < 1e-6  # gray has no chroma


def test_lightness_alone_and_the_polynomial_curves_agree_with_the_powers():
    """`rgb_to_lightness` gives `rgb_to_lab`'s L (the polynomial within 0.002, uint8 exactly as
    rgb_to_lab's table); `lab_to_rgb(polynomial=True)` gives the power's RGB within 1e-5, with the
    same channels at 0 or 1 (what the merges take for out of gamut), white and black included."""
    rng = np.random.default_rng(1)
    rgb = np.concatenate([rng.random((200_000, 3)), [[0, 0, 0], [1, 1, 1], [0.04045] * 3, [0.0405] * 3]])
    rgb = rgb.astype(np.float32)
    L = color.rgb_to_lab(rgb).numpy()[:, 0]
    assert np.abs(color.rgb_to_lightness(rgb).numpy() - L).max() < 1e-4
    assert np.abs(color.rgb_to_lightness(rgb, polynomial=True).numpy() - L).max() < 2e-3
    codes = (rgb * 255).astype(np.uint8)
    assert np.abs(color.rgb_to_lightness(codes).numpy() - color.rgb_to_lab(codes).numpy()[:, 0]).max() < 1e-4

    n = 200_000
    lab = np.stack([rng.uniform(0, 100, n), rng.uniform(-110, 110, n), rng.uniform(-110, 110, n)], axis=-1)
    lab = np.concatenate([lab, [[100, 0, 0], [0, 0, 0], [50, 0, 0]]]).astype(np.float32)
    exact, poly = color.lab_to_rgb(lab).numpy(), color.lab_to_rgb(lab, polynomial=True).numpy()
    assert np.abs(exact - poly).max() < 1e-5
    np.testing.assert_array_equal((exact <= 0) | (exact >= 1), (poly <= 0) | (poly >= 1))
