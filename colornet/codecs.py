"""Codecs: what a design's network takes and gives, in terms of Lab photos.

A codec is the only place that knows how a design scales its inputs and outputs:

    inputs, targets = codec.encode(lab, extras)   # training: Lab batch -> network inputs and targets
    inputs = codec.encode_inputs(L, extras)       # inference: L at the working size -> network inputs
    ab = codec.decode(outputs, inputs)            # network outputs -> Lab ab at the working size

A codec's `encode` may give a third item, per-pixel sample weights (the bins codec's class
rebalancing), which `model.fit` multiplies into the loss.

Everything after `decode` (upsampling ab under the full-resolution L, fitting colors
into the sRGB gamut) is shared by every design (`colornet.fullres`). `extras` is a
dict of per-photo values that come with the batch: `embedding` (the Full model's
global features), `label` (a scene class from the folder name). A codec names the
extras its network needs in `extra_inputs`; the others are ignored.

All methods run in TensorFlow ops, inside `tf.data` or eagerly, on batches
`(b, h, w, c)`; L is in [0, 100], a and b in Lab units. `decode` is also given the
inputs it decodes for: a codec whose network predicts another color space's chroma
(YCrCb) needs the luma it was given to turn that chroma into Lab ab.

Every codec derives from `Codec`, which declares what a codec can do as class attributes
(`uses_prior`, `decodes_bins`, `takes_hints`, `takes_style`, `gives_classes`), so that callers read
an ability instead of guessing it from the methods a codec happens to have; a new ability is a
new attribute there, False for every codec that does not say otherwise.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import tensorflow as tf

from colornet.bins import (
    LAMBDA,
    N_BINS,
    TEMPERATURE,
    UNDO_REBALANCING,
    ab_bins,
    annealed_mean,
    check_temperature,
    check_undo,
    rebalancing_weights,
    soft_encode,
    undo_rebalancing,
)
from colornet.color import (
    AB_SCALE,
    denormalize_ab,
    lab_to_rgb,
    normalize_ab,
    normalize_l,
    rgb_to_lab,
    rgb_to_ycrcb,
    rgb_to_yuv,
    ycrcb_to_rgb,
    yuv_to_rgb,
)


class Codec(ABC):
    """What every codec is: the conversions between Lab photos and a network's inputs and outputs,
    and the abilities its callers read.

    Abilities (class attributes; False unless a codec says otherwise):
        uses_prior: its training weights come from a prior over the ab bins: `with_prior(prior)`
            gives the codec with it, and `prior` is it (None: not known). `train` computes or
            reads a run's prior only for such a codec, and `--prior` applies only to it.
        decodes_bins: its network predicts a distribution over the ab bins, decoded at the
            codec's `temperature` after taking back `undo` of the rebalancing (fields changed
            with `dataclasses.replace`): `--temperature` and `--undo-rebalancing` apply.
        takes_hints: its network takes a person's color hints, `extras["hints"]` (`colornet.hints`).
        takes_style: its network's global path may see another photo, `extras["style"]`.
        gives_classes: its network may also classify the scene: `class_probabilities(outputs)`.

    Every codec also has `name` (for messages) and `extra_inputs`: the extras its network takes
    after L, in order (`("embedding",)`, `("hints",)`).
    """

    uses_prior: ClassVar[bool] = False
    decodes_bins: ClassVar[bool] = False
    takes_hints: ClassVar[bool] = False
    takes_style: ClassVar[bool] = False
    gives_classes: ClassVar[bool] = False

    name: str
    extra_inputs: tuple[str, ...]

    @abstractmethod
    def encode_inputs(self, L, extras=None):
        """L `(b, h, w, 1)` in [0, 100] (+ extras) -> the network's inputs."""

    @abstractmethod
    def encode_targets(self, lab, extras=None):
        """Lab `(b, h, w, 3)` (+ extras) -> the network's targets."""

    @abstractmethod
    def decode(self, outputs, inputs=None):
        """Network outputs, with the inputs they were predicted for -> ab in Lab units, float32."""

    def encode(self, lab, extras=None):
        """Lab batch (+ extras) -> `(inputs, targets)` for `model.fit`."""
        return self.encode_inputs(lab[..., :1], extras), self.encode_targets(lab, extras)

    def ab_range(self) -> tuple[float, float]:
        """The range of ab `decode` can give, in Lab units."""
        return -AB_SCALE, AB_SCALE

    def class_probabilities(self, outputs):
        """Scene class probabilities `(b, n_classes)` of the network's outputs; None without a
        classification head (every codec but those that say `gives_classes`)."""
        return None

    def with_prior(self, prior) -> "Codec":
        """This codec with the prior over the bins `(Q,)` its training weights come from (codecs
        that say `uses_prior`)."""
        raise ValueError(f"the {self.name} codec has no use for a prior over the ab bins.")


@dataclass(frozen=True)
class LabTanhCodec(Codec):
    """Normalized L `L / 50 - 1` in, tanh ab `/ 128` out (the article's networks).

    Attributes:
        extra_inputs: names of extras fed to the network after L, in order
            (the Full model takes `("embedding",)`).
    """

    extra_inputs: tuple[str, ...] = ()
    name: str = "lab_tanh"

    def encode_inputs(self, L, extras=None):
        """L `(b, h, w, 1)` in [0, 100] (+ extras) -> the network's inputs."""
        l_norm = tf.clip_by_value(normalize_l(tf.cast(L, tf.float32)), -1.0, 1.0)  # (b, h, w, 1)
        if not self.extra_inputs:
            return l_norm
        extras = extras or {}
        missing = [k for k in self.extra_inputs if k not in extras]
        if missing:
            raise ValueError(f"the {self.name} codec needs {', '.join(missing)} with each photo.")
        return (l_norm, *(tf.cast(extras[k], tf.float32) for k in self.extra_inputs))

    def encode_targets(self, lab, extras=None):
        """Lab `(b, h, w, 3)` -> targets: ab `(b, h, w, 2)` / 128."""
        return normalize_ab(tf.cast(lab[..., 1:], tf.float32))

    def decode(self, outputs, inputs=None):
        """Network outputs `(b, h, w, 2)` -> ab in Lab units, float32."""
        return denormalize_ab(tf.cast(outputs, tf.float32))


@dataclass(frozen=True)
class YCrCbCodec(Codec):
    """Y in, Cr and Cb out (the color space of JPEG; a U-Net in YCrCb is the choice of the
    W&B colorization challenge). Y `2 Y - 1` in [-1, 1]; the targets are Cr and Cb moved to
    [-1, 1], `2 (C - 0.5)`, for a tanh output.

    The network only ever sees a gray photo's Y, here computed from L (for a gray photo
    Y is its sRGB gray level), in training as in use. `decode` merges the predicted Cr and
    Cb with that Y, converts to RGB and then to Lab, and returns the ab; the photo's own L
    is kept at full resolution afterwards, as for every design.
    """

    extra_inputs: tuple[str, ...] = ()
    name: str = "ycrcb"

    def encode_inputs(self, L, extras=None):
        """L `(b, h, w, 1)` in [0, 100] -> Y of the gray photo, `(b, h, w, 1)` in [-1, 1]."""
        L = tf.cast(L, tf.float32)
        gray = lab_to_rgb(tf.concat([L, tf.zeros_like(L), tf.zeros_like(L)], axis=-1))  # R = G = B
        return gray[..., :1] * 2.0 - 1.0

    def encode_targets(self, lab, extras=None):
        """Lab `(b, h, w, 3)` -> Cr and Cb of its sRGB colors, `(b, h, w, 2)` in [-1, 1]."""
        crcb = rgb_to_ycrcb(lab_to_rgb(tf.cast(lab, tf.float32)))[..., 1:]
        return (crcb - 0.5) * 2.0

    def decode(self, outputs, inputs=None):
        """Cr, Cb `(b, h, w, 2)` in [-1, 1], with the Y `inputs` they were predicted for ->
        Lab ab, float32."""
        if inputs is None:
            raise ValueError("the ycrcb codec decodes Cr and Cb with the Y they were predicted for.")
        y = (tf.cast(first_input(inputs), tf.float32) + 1.0) / 2.0
        crcb = tf.cast(outputs, tf.float32) / 2.0 + 0.5
        return rgb_to_lab(ycrcb_to_rgb(tf.concat([y, crcb], axis=-1)))[..., 1:]


# The largest U and V of sRGB colors (blue and red): PAL's scaling of B - Y and R - Y.
UV_MAX = (0.436, 0.615)


@dataclass(frozen=True)
class YUVCodec(Codec):
    """Y in, U and V out, mapped to [0, 1] for a sigmoid (Dahl 2016, "Automatic Colorization").

    The network sees Y of the gray photo in [0, 1], computed from L (for a gray photo Y is
    its sRGB gray level), in training as in use. The targets are U / 0.436 and V / 0.615 moved
    to [0, 1], `(C / C_max + 1) / 2`. `decode` merges the predicted U and V with that Y at
    the working size, converts to RGB (colors outside sRGB clipped) and then to Lab, and
    returns the ab; the photo's own L is kept at full resolution afterwards, as for every design.
    """

    extra_inputs: tuple[str, ...] = ()
    name: str = "yuv"

    def encode_inputs(self, L, extras=None):
        """L `(b, h, w, 1)` in [0, 100] -> Y of the gray photo, `(b, h, w, 1)` in [0, 1]."""
        L = tf.cast(L, tf.float32)
        gray = lab_to_rgb(tf.concat([L, tf.zeros_like(L), tf.zeros_like(L)], axis=-1))  # R = G = B
        return gray[..., :1]

    def encode_targets(self, lab, extras=None):
        """Lab `(b, h, w, 3)` -> U and V of its sRGB colors, `(b, h, w, 2)` in [0, 1]."""
        uv = rgb_to_yuv(lab_to_rgb(tf.cast(lab, tf.float32)))[..., 1:]
        return tf.clip_by_value((uv / UV_MAX + 1.0) / 2.0, 0.0, 1.0)

    def decode(self, outputs, inputs=None):
        """U, V `(b, h, w, 2)` in [0, 1], with the Y `inputs` they were predicted for -> Lab ab,
        float32."""
        if inputs is None:
            raise ValueError("the yuv codec decodes U and V with the Y they were predicted for.")
        y = tf.cast(first_input(inputs), tf.float32)
        uv = (tf.cast(outputs, tf.float32) * 2.0 - 1.0) * UV_MAX
        return rgb_to_lab(yuv_to_rgb(tf.concat([y, uv], axis=-1)))[..., 1:]


def first_input(inputs):
    """The L input of a codec's inputs (a tensor, or a tuple whose first item is L)."""
    return inputs[0] if isinstance(inputs, (tuple, list)) else inputs


@dataclass(frozen=True)
class BinsCodec(Codec):
    """Normalized L in, logits over the ab bins at 1/4 of the input size out (Zhang et al. 2016;
    `colornet.bins`).

    Training targets are the soft-encoded ab of the photo shrunk to 1/4 (the mean of each 4x4
    block), with a per-pixel weight from the class rebalancing of the target's most likely bin;
    `decode` takes the annealed mean at `temperature` and enlarges it back to the input size.

    Attributes:
        temperature: of the annealed mean (0.38, the paper's; 1 is the mean, toward 0 the mode).
        undo: the share of the rebalancing `decode` takes back from the predicted distribution
            before the annealed mean (`colornet.bins.undo_rebalancing`; 0 is the paper's
            decoding); applied only with a prior, whose weights it divides by.
        prior: the prior over the bins `(Q,)` (`colornet.prior`) the weights come from; None:
            every pixel weighs 1 (no rebalancing) and `decode` has nothing to undo.
        lam: lambda, the share of the uniform distribution in the rebalancing.
        factor: the targets' and the outputs' size is the input's divided by this.
    """

    temperature: float = TEMPERATURE
    undo: float = UNDO_REBALANCING
    prior: tuple | None = None
    lam: float = LAMBDA
    factor: int = 4
    extra_inputs: tuple[str, ...] = ()
    name: str = "ab_bins"
    uses_prior: ClassVar[bool] = True
    decodes_bins: ClassVar[bool] = True

    def __post_init__(self):
        check_temperature(self.temperature)
        check_undo(self.undo)
        if self.prior is not None and len(self.prior) != N_BINS:
            raise ValueError(f"the prior has {len(self.prior)} values; there are {N_BINS} bins.")

    def with_prior(self, prior) -> "BinsCodec":
        """This codec with the prior `(Q,)` that its training weights come from."""
        return replace(self, prior=tuple(float(p) for p in prior))

    def weights(self) -> np.ndarray:
        """The rebalancing weight of each bin `(Q,)`: all 1 without a prior."""
        if self.prior is None:
            return np.ones(N_BINS, np.float32)
        return rebalancing_weights(self.prior, self.lam)

    def encode_inputs(self, L, extras=None):
        """L `(b, h, w, 1)` in [0, 100] -> normalized L in [-1, 1]."""
        return tf.clip_by_value(normalize_l(tf.cast(L, tf.float32)), -1.0, 1.0)

    def encode_targets(self, lab, extras=None):
        """Lab `(b, h, w, 3)` -> `(soft targets (b, h/4, w/4, Q), weights (b, h/4, w/4))`."""
        ab = tf.cast(lab[..., 1:], tf.float32)
        ab = tf.nn.avg_pool2d(ab, self.factor, self.factor, "VALID")  # (b, h/4, w/4, 2)
        targets = soft_encode(ab)  # (b, h/4, w/4, Q)
        weights = tf.gather(tf.constant(self.weights()), tf.argmax(targets, axis=-1))  # (b, h/4, w/4)
        return targets, weights

    def encode(self, lab, extras=None):
        """Lab batch -> `(L, soft targets, per-pixel weights)` for `model.fit`."""
        targets, weights = self.encode_targets(lab, extras)
        return self.encode_inputs(lab[..., :1], extras), targets, weights

    def decode(self, outputs, inputs=None):
        """Bin logits `(b, h/4, w/4, Q)` -> ab `(b, h, w, 2)` in Lab units, float32: the annealed
        mean (after taking back `undo` of the rebalancing, with a prior), enlarged (bilinear) to
        the input's size (`inputs` given) or 4 times."""
        if self.prior is not None and self.undo > 0:
            outputs = undo_rebalancing(outputs, self.weights(), self.undo)
        ab = annealed_mean(outputs, temperature=self.temperature)  # (b, h/4, w/4, 2)
        if inputs is not None:
            size = tf.shape(first_input(inputs))[1:3]
        else:
            size = tf.shape(ab)[1:3] * self.factor
        return tf.image.resize(ab, size, method="bilinear")

    def ab_range(self) -> tuple[float, float]:
        """The range of ab `decode` can give: the bins' (a mean of bin centers stays among them)."""
        bins = ab_bins()
        return float(bins.min()), float(bins.max())
