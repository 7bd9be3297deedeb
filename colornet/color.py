"""sRGB <-> CIE Lab in TensorFlow ops, and the normalization every model uses.

The conversion follows scikit-image's `rgb2lab` / `lab2rgb` exactly (sRGB
primaries, D65 white point, 2-degree observer), so values agree with
`skimage.color` to well under 1e-3 Lab units. Because it is written in TF ops it
runs inside a `tf.data` map, inside a Keras model, on CPU or GPU, on a single
image `(h, w, 3)` or a batch `(..., h, w, 3)`.

Value ranges (as in scikit-image):
    RGB: float in [0, 1] (uint8 inputs are divided by 255)
    L: [0, 100], a and b: roughly [-128, 127]

Normalization for the networks (as in the article: ab / 128 to match tanh):
    network input  = L / 50 - 1      in [-1, 1]
    network target = ab / 128        in about [-1, 1]
"""

import numpy as np
import tensorflow as tf

# sRGB (linear) -> XYZ, the same matrix as skimage.color.colorconv.xyz_from_rgb.
XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
# D65 white point, 2-degree observer.
WHITE_D65 = np.array([0.95047, 1.0, 1.08883])

L_MAX = 100.0
AB_SCALE = 128.0

_EPS = 1e-12


def _pow(x, exponent: float):
    """x ** exponent for x > 0, as exp(log(x) * exponent): same float32 accuracy, several
    times faster on CPU than `tf.pow`, which is not vectorized there."""
    return tf.exp(tf.math.log(x) * exponent)


def _as_float32(x):
    """Cast any input (uint8, float16, bfloat16, float64) to float32; uint8 -> [0, 1]."""
    x = tf.convert_to_tensor(x)
    if x.dtype == tf.uint8:
        return tf.cast(x, tf.float32) / 255.0
    if x.dtype == tf.uint16:
        return tf.cast(x, tf.float32) / 65535.0
    return tf.cast(x, tf.float32)


def _out_dtype(x):
    x = tf.convert_to_tensor(x)
    return x.dtype if x.dtype.is_floating else tf.float32


def _matmul_last(x, matrix):
    """Apply a 3x3 color matrix on the last axis: out[..., i] = sum_j m[i, j] x[..., j]."""
    m = tf.constant(matrix.T, dtype=tf.float32)
    return tf.tensordot(x, m, axes=[[-1], [0]])


# sRGB's curve as polynomials, for functions run on millions of pixels where the powers (exp and log)
# are the cost: interpolated at Chebyshev points, coefficients from the constant term up.
def _polynomial(f, degree: int, domain) -> np.ndarray:
    return (
        np.polynomial.Chebyshev.interpolate(f, degree, domain=domain)
        .convert(kind=np.polynomial.Polynomial)
        .coef
    )


# decoding, ((x + 0.055) / 1.055) ** 2.4 on [0.04045, 1]: within 1.1e-6
_SRGB_CURVE = _polynomial(lambda x: ((x + 0.055) / 1.055) ** 2.4, 8, [0.04045, 1.0])
# encoding, 1.055 * x ** (1 / 2.4) - 0.055 on [0.0031308, 1], in s = x ** (1/4) (two square roots):
# 1.055 * s ** (5/3) - 0.055, within 2.2e-6
_SRGB_ENCODE = _polynomial(lambda s: 1.055 * s ** (5.0 / 3.0) - 0.055, 6, [0.0031308**0.25, 1.0])


def _horner(coefficients, x):
    """The polynomial of `coefficients` (from the constant term up) at `x`, by Horner's rule."""
    value = tf.constant(float(coefficients[-1]), tf.float32)
    for c in coefficients[-2::-1]:
        value = value * x + float(c)
    return value


def _srgb_to_linear(rgb):
    """sRGB gamma -> linear light, for float values in [0, 1]."""
    return tf.where(
        rgb > 0.04045,
        _pow((tf.maximum(rgb, 0.04045) + 0.055) / 1.055, 2.4),
        rgb / 12.92,
    )


# The same function on the 256 values of 8-bit sRGB: a table lookup instead of a power.
_LINEAR_FROM_UINT8 = np.where(
    np.arange(256) / 255.0 > 0.04045,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
    np.arange(256) / 255.0 / 12.92,
).astype(np.float32)


def rgb_to_lab(rgb):
    """sRGB in [0, 1] (or uint8) -> CIE Lab, shape `(..., 3)`.

    Computed in float32; float16 and bfloat16 inputs give outputs of the same
    dtype. Matches `skimage.color.rgb2lab`.
    """
    out_dtype = _out_dtype(rgb)
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        linear = tf.gather(tf.constant(_LINEAR_FROM_UINT8), tf.cast(rgb, tf.int32))
    else:
        linear = _srgb_to_linear(_as_float32(rgb))
    xyz = _matmul_last(linear, XYZ_FROM_RGB) / tf.constant(WHITE_D65, tf.float32)
    f = tf.where(
        xyz > 0.008856,
        _pow(tf.maximum(xyz, 0.008856), 1.0 / 3.0),
        7.787 * xyz + 16.0 / 116.0,
    )
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    lab = tf.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)
    return tf.cast(lab, out_dtype)


def rgb_to_lightness(rgb, polynomial: bool = False):
    """sRGB in [0, 1] (or uint8) -> CIE L alone, shape `(...)`: `rgb_to_lab(rgb)[..., 0]` without
    the work a and b need (two of the three cube roots and two rows of the matrix), float32.

    `polynomial`: float sRGB is linearized by `_SRGB_CURVE` instead of a power (L within 0.002 of
    it, the work of the three powers about a fifth); uint8 always takes its exact table."""
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        linear = tf.gather(tf.constant(_LINEAR_FROM_UINT8), tf.cast(rgb, tf.int32))
        return _lightness_of_luminance(_luminance(linear[..., 0], linear[..., 1], linear[..., 2]))
    x = _as_float32(rgb)
    return lightness_of_planes(x[..., 0], x[..., 1], x[..., 2], polynomial)


def lightness_of_planes(r, g, b, polynomial: bool = False):
    """`rgb_to_lightness` of float sRGB in [0, 1] given as three planes of the same shape: on
    separate planes, XLA's fused loops stay vectorized (no interleaved channels to gather)."""
    if polynomial:
        r, g, b = (tf.where(x > 0.04045, _horner(_SRGB_CURVE, x), x / 12.92) for x in (r, g, b))
    else:
        r, g, b = (_srgb_to_linear(x) for x in (r, g, b))
    return _lightness_of_luminance(_luminance(r, g, b))


def _luminance(r, g, b):  # linear RGB -> Y, the white's Y being 1
    wr, wg, wb = (float(w) for w in XYZ_FROM_RGB[1])
    return wr * r + wg * g + wb * b


def _lightness_of_luminance(y):
    return (
        116.0 * tf.where(y > 0.008856, _pow(tf.maximum(y, 0.008856), 1.0 / 3.0), 7.787 * y + 16.0 / 116.0)
        - 16.0
    )


def lab_to_rgb(lab, polynomial: bool = False):
    """CIE Lab -> sRGB in [0, 1], shape `(..., 3)`.

    Colors outside the sRGB gamut are clipped to valid RGB (as
    `skimage.color.lab2rgb` does, without its warning). Matches `lab2rgb`.
    `polynomial`: sRGB's curve by `_SRGB_ENCODE` instead of a power (within 3e-6).
    """
    out_dtype = _out_dtype(lab)
    lab = _as_float32(lab)
    rgb = lab_to_rgb_planes(lab[..., 0], lab[..., 1], lab[..., 2], polynomial)
    return tf.cast(tf.stack(rgb, axis=-1), out_dtype)


def lab_to_rgb_planes(L, a, b, polynomial: bool = False):
    """`lab_to_rgb` on three float32 planes of the same shape -> the planes R, G, B (see
    `lightness_of_planes` for why planes)."""
    return tuple(_encode_srgb(c, polynomial) for c in lab_to_linear_planes(L, a, b))


def lab_to_linear_planes(L, a, b):
    """CIE Lab planes -> linear RGB planes, not clipped: a color is inside the sRGB gamut where
    all three are in [0, 1], as the encoded ones are."""
    fy = (L + 16.0) / 116.0
    fx = a / 500.0 + fy
    fz = tf.maximum(fy - b / 200.0, 0.0)  # negative Z is clipped to zero
    x, y, z = (
        tf.where(f > 0.2068966, f * f * f, (f - 16.0 / 116.0) / 7.787) * float(white)
        for f, white in zip((fx, fy, fz), WHITE_D65)
    )
    return tuple(float(m[0]) * x + float(m[1]) * y + float(m[2]) * z for m in RGB_FROM_XYZ)


def _encode_srgb(linear, polynomial: bool):  # linear -> sRGB's curve, clipped to [0, 1]
    bright = tf.maximum(linear, 0.0031308)
    if polynomial:  # 1 and above exactly as the power gives them: what is out of gamut stays so
        encoded = tf.where(
            linear >= 1.0, linear, _horner(_SRGB_ENCODE, tf.sqrt(tf.sqrt(tf.minimum(bright, 1.0))))
        )
    else:
        encoded = 1.055 * _pow(bright, 1.0 / 2.4) - 0.055
    return tf.clip_by_value(tf.where(linear > 0.0031308, encoded, 12.92 * linear), 0.0, 1.0)


def rgb_to_gray(rgb):
    """Desaturate: RGB -> RGB with the same L and a = b = 0."""
    lab = rgb_to_lab(rgb)
    return lab_to_rgb(tf.concat([lab[..., :1], tf.zeros_like(lab[..., 1:])], axis=-1))


# --- YCrCb and YUV: a luma channel and two color-difference channels ------------
#
# YCrCb is full-range ITU-R BT.601, as in JPEG and Pillow's "YCbCr" mode, in [0, 1] with the
# chroma centered on 0.5, with its channels in OpenCV's order (Y, Cr, Cb). YUV is the analog
# PAL form, as `skimage.color.rgb2yuv`: Y in [0, 1], U and V centered on 0. Both are linear in
# the gamma-encoded RGB, so they need no gamma step, and gray (R = G = B) has zero chroma in each.

YCRCB_FROM_RGB = np.array(
    [
        [0.299, 0.587, 0.114],  # Y
        [0.5, -0.418688, -0.081312],  # Cr (+ 0.5)
        [-0.168736, -0.331264, 0.5],  # Cb (+ 0.5)
    ]
)
YUV_FROM_RGB = np.array(  # skimage.color.colorconv.yuv_from_rgb
    [
        [0.299, 0.587, 0.114],
        [-0.14714119, -0.28886916, 0.43601035],
        [0.61497538, -0.51496512, -0.10001026],
    ]
)
_CHROMA_OFFSET = np.array([0.0, 0.5, 0.5], np.float32)


def rgb_to_ycrcb(rgb):
    """sRGB in [0, 1] (or uint8) -> YCrCb `(..., 3)` in [0, 1]: Y, Cr, Cb (chroma centered on 0.5)."""
    return _matmul_last(_as_float32(rgb), YCRCB_FROM_RGB) + _CHROMA_OFFSET


def ycrcb_to_rgb(ycrcb):
    """YCrCb `(..., 3)` (Y, Cr, Cb in [0, 1]) -> sRGB in [0, 1]; colors outside sRGB clipped."""
    rgb = _matmul_last(_as_float32(ycrcb) - _CHROMA_OFFSET, np.linalg.inv(YCRCB_FROM_RGB))
    return tf.clip_by_value(rgb, 0.0, 1.0)


def rgb_to_yuv(rgb):
    """sRGB in [0, 1] (or uint8) -> YUV `(..., 3)`: Y in [0, 1], U and V about +-0.44 and +-0.62."""
    return _matmul_last(_as_float32(rgb), YUV_FROM_RGB)


def yuv_to_rgb(yuv):
    """YUV `(..., 3)` -> sRGB in [0, 1]; colors outside sRGB clipped. Matches `skimage.color.yuv2rgb`."""
    return tf.clip_by_value(_matmul_last(_as_float32(yuv), np.linalg.inv(YUV_FROM_RGB)), 0.0, 1.0)


# --- normalization used by every model ------------------------------------------


def normalize_l(L):
    """L in [0, 100] -> network input in [-1, 1]."""
    return L / (L_MAX / 2.0) - 1.0


def denormalize_l(l_norm):
    """Network input in [-1, 1] -> L in [0, 100]."""
    return (l_norm + 1.0) * (L_MAX / 2.0)


def normalize_ab(ab):
    """ab in Lab units -> network target, ab / 128 (tanh's range)."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm):
    """Network output in [-1, 1] -> ab in Lab units."""
    return ab_norm * AB_SCALE


def rgb_to_model_io(rgb):
    """RGB `(..., h, w, 3)` -> `(l_norm (..., h, w, 1), ab_norm (..., h, w, 2))`."""
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[..., :1]), normalize_ab(lab[..., 1:])


def lab_from_model_io(l_norm, ab_norm):
    """Network input and output -> Lab `(..., h, w, 3)`."""
    l_norm = tf.cast(l_norm, tf.float32)
    ab_norm = tf.cast(ab_norm, tf.float32)
    return tf.concat([denormalize_l(l_norm), denormalize_ab(ab_norm)], axis=-1)


def model_io_to_rgb(l_norm, ab_norm):
    """Merge the L channel with predicted ab into RGB in [0, 1] (out-of-gamut clipped)."""
    return lab_to_rgb(lab_from_model_io(l_norm, ab_norm))


def merge_l_ab(L, ab, polynomial: bool = False):
    """Merge L in [0, 100] `(..., 1)` with ab in Lab units `(..., 2)` into RGB in [0, 1]
    (`polynomial`: see `lab_to_rgb`)."""
    L = tf.cast(L, tf.float32)
    ab = tf.cast(ab, tf.float32)
    return lab_to_rgb(tf.concat([L, ab], axis=-1), polynomial)


def to_uint8(rgb):
    """RGB float in [0, 1] (tensor or array) -> uint8 numpy array, rounded."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
