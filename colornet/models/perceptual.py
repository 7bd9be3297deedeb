"""Training colors to be recognizable: a perceptual term next to the cross-entropy over the ab bins.

    trainer = PerceptualTrainer(net, weight=1.0, temperature=0.7, undo=0.9, rebalancing=codec.weights())
    trainer.compile(optimizer=keras.optimizers.Adam(1e-4))
    trainer.fit(dataset_of_l_soft_targets_and_weights, validation_data=...)

The cross-entropy over the bins (Zhang et al. 2016) judges each pixel's color on its own: a tiger
colored a plausible brown-gray costs little, although nobody would call it a tiger. This trainer
adds what an ImageNet classifier sees: each step decodes the network's bins as `colorize` does (the
rebalancing partly taken back, the annealed mean at the design's temperature), puts the colors
under the photo's L, and compares the classifier's feature maps on that photo with its feature maps
on the photo in its true colors (Johnson et al. 2016's perceptual loss). The classifier is
MobileNetV2 at alpha 0.35 (`colornet.pretrained`, frozen, float32), not EfficientNet-Lite0: Lite0
is what `evaluate` judges recognizability and realism with, so the colors are not trained on their
judge.

    loss = cross-entropy + weight * mean over taps of |F(colorized) - F(true)|^2 / mean |F(true)|^2

The true colors are the soft targets' mean color (each 4 x 4 block's ab, what the network predicts
at its scale), so the term asks for nothing the network could not give. `fit` logs `loss` (the
sum, also on validation data: the best checkpoint is the one with the lowest), `ce` and `perceptual`.
`colornet train features --perceptual W` builds it through the design's `training_model`.
"""

import keras
import numpy as np
import tensorflow as tf

from colornet.bins import N_BINS, ab_bins, annealed_mean, undo_rebalancing
from colornet.codecs import first_input
from colornet.color import lab_to_rgb
from colornet.models.layers import TrainerModel
from colornet.precision import precision_scope

# the classifier whose features are compared, and its taps (1/8, 1/16, 1/32 of the input)
BACKBONE = "mobilenetv2-0.35"
TAPS = ("block_6_expand_relu", "block_13_expand_relu", "out_relu")


def build_judge(weights="imagenet") -> keras.Model:
    """MobileNetV2 (alpha 0.35) from sRGB in [0, 1] to its three taps, frozen, in float32."""
    from colornet.pretrained import load_backbone

    with precision_scope("float32"):
        backbone = load_backbone(BACKBONE, weights, include_top=False, flag="--perceptual")
        backbone.trainable = False
        rgb = keras.Input((None, None, 3), name="perceptual_rgb")
        scaled = keras.layers.Rescaling(2.0, offset=-1.0, name="perceptual_scale")(rgb)  # its [-1, 1]
        taps = keras.Model(backbone.input, [backbone.get_layer(t).output for t in TAPS])
        judge = keras.Model(rgb, taps(scaled), name="perceptual_judge")
    judge.trainable = False
    return judge


def feature_distance(judge: keras.Model, rgb, truth_rgb):
    """Mean over the judge's taps of the squared difference of its features on `rgb` and on
    `truth_rgb`, each relative to the mean square of the true features: one number per batch."""
    seen = judge(rgb, training=False)
    expected = [tf.stop_gradient(f) for f in judge(truth_rgb, training=False)]
    terms = [
        tf.reduce_mean(tf.square(f - t)) / (tf.reduce_mean(tf.square(t)) + 1e-6)
        for f, t in zip(seen, expected)
    ]
    return tf.add_n(terms) / len(terms)


@keras.saving.register_keras_serializable(package="colornet")
class PerceptualTrainer(TrainerModel):
    """Trains `net` (L -> bin logits at 1/4 of the input) on the rebalanced cross-entropy plus
    `weight` times the judge's feature distance between its decoded colors and the true ones.

    Args:
        net: the network being trained; calling this model calls it.
        weight: of the perceptual term.
        temperature, undo: the decoding the term sees (`colornet.bins.annealed_mean`,
            `undo_rebalancing`): the design's, what `colorize` shows.
        rebalancing: the rebalancing weights `(Q,)` the network is trained with (the codec's).
        judge_weights: the judge's ImageNet weights (`"imagenet"`; None: random, for tests).
    """

    def __init__(
        self, net, weight: float = 1.0, temperature: float = 0.7, undo: float = 0.9, rebalancing=None,
        judge_weights="imagenet", **kwargs,
    ):  # fmt: skip
        super().__init__(**kwargs)
        self.net = net
        self.weight, self.temperature, self.undo = float(weight), float(temperature), float(undo)
        self.rebalancing = [float(w) for w in (rebalancing if rebalancing is not None else [1.0] * N_BINS)]
        self.judge_weights = judge_weights
        self.judge = build_judge(judge_weights)
        self.bins = tf.constant(ab_bins(), tf.float32)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "ce", "perceptual")}
        self.built = True  # its networks are built

    def call(self, inputs, training=False):
        return self.net(inputs, training=training)

    def compile(self, optimizer="adam", loss=None, loss_weights=None, **kwargs):
        """`optimizer` (Adam at its learning rate) for the network; the loss is this trainer's own
        (`loss` and `loss_weights` are not used)."""
        optimizer = keras.optimizers.get(optimizer)
        self.learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.net.trainable_variables)  # its state exists before a restore

    def _terms(self, x, y, sample_weight, training: bool):
        logits = tf.cast(self.net(x, training=training), tf.float32)  # (b, h/4, w/4, Q)
        log_p = tf.nn.log_softmax(logits, axis=-1)
        ce = -tf.reduce_sum(tf.cast(y, tf.float32) * log_p, axis=-1)  # (b, h/4, w/4)
        if sample_weight is not None:
            ce = ce * tf.cast(sample_weight, tf.float32)
        ce = tf.reduce_mean(ce)
        decoded = logits
        if self.undo > 0:
            decoded = undo_rebalancing(decoded, np.asarray(self.rebalancing), self.undo)
        ab = annealed_mean(decoded, temperature=self.temperature)  # (b, h/4, w/4, 2)
        true_ab = tf.tensordot(tf.cast(y, tf.float32), self.bins, axes=[[-1], [0]])
        L = (tf.cast(first_input(x), tf.float32) + 1.0) * 50.0  # (b, h, w, 1) in [0, 100]
        size = tf.shape(L)[1:3]
        rgb = lab_to_rgb(tf.concat([L, tf.image.resize(ab, size)], axis=-1))
        truth = lab_to_rgb(tf.concat([L, tf.image.resize(true_ab, size)], axis=-1))
        perceptual = feature_distance(self.judge, rgb, truth)
        return ce, perceptual, ce + self.weight * perceptual

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync  # gradients are summed over them
        with tf.GradientTape() as tape:
            ce, perceptual, loss = self._terms(x, y, sample_weight, training=True)
            scaled = self.optimizer.scale_loss(loss / replicas)
        variables = self.net.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return self._report(ce, perceptual, loss)

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        return self._report(*self._terms(x, y, sample_weight, training=False))

    def _report(self, ce, perceptual, loss):
        for name, value in (("loss", loss), ("ce", ce), ("perceptual", perceptual)):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {
            **super().get_config(),
            "net": keras.saving.serialize_keras_object(self.net),
            "weight": self.weight,
            "temperature": self.temperature,
            "undo": self.undo,
            "rebalancing": self.rebalancing,
            "judge_weights": self.judge_weights,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        net = keras.saving.deserialize_keras_object(config.pop("net"))
        return cls(net, **config)
