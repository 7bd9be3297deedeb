"""Codecs: what a design's network takes and gives, in terms of Lab photos.

A codec is the only place that knows how a design scales its inputs and outputs:

    inputs, targets = codec.encode(lab, extras)   # training: Lab batch -> network inputs and targets
    inputs = codec.encode_inputs(L, extras)       # inference: L at the working size -> network inputs
    ab = codec.decode(outputs)                    # network outputs -> Lab ab at the working size

Everything after `decode` (upsampling ab under the full-resolution L, fitting colors
into the sRGB gamut) is shared by every design (`colornet.fullres`). `extras` is a
dict of per-photo values that come with the batch: `embedding` (the Full model's
global features), `label` (a scene class from the folder name). A codec names the
extras its network needs in `extra_inputs`; the others are ignored.

All methods run in TensorFlow ops, inside `tf.data` or eagerly, on batches
`(b, h, w, c)`; L is in [0, 100], a and b in Lab units.
"""

from dataclasses import dataclass

import tensorflow as tf

from colornet.color import AB_SCALE, denormalize_ab, normalize_ab, normalize_l


@dataclass(frozen=True)
class LabTanhCodec:
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

    def encode(self, lab, extras=None):
        """Lab batch (+ extras) -> `(inputs, targets)` for `model.fit`."""
        return self.encode_inputs(lab[..., :1], extras), self.encode_targets(lab, extras)

    def decode(self, outputs):
        """Network outputs `(b, h, w, 2)` -> ab in Lab units, float32."""
        return denormalize_ab(tf.cast(outputs, tf.float32))

    def ab_range(self) -> tuple[float, float]:
        """The range of ab `decode` can give, in Lab units."""
        return -AB_SCALE, AB_SCALE


def first_input(inputs):
    """The L input of a codec's inputs (a tensor, or a tuple whose first item is L)."""
    return inputs[0] if isinstance(inputs, (tuple, list)) else inputs
