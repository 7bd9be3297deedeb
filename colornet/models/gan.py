"""A conditional GAN with its own training step (pix2pix): a generator against a discriminator.

    trainer = ConditionalGAN(generator, discriminator, l1_weight=100.0)
    trainer.compile(optimizer=keras.optimizers.Adam(2e-4))   # Adam(lr, beta_1=0.5) for each network
    trainer.fit(dataset_of_gray_and_colors, validation_data=...)

Each step, the generator colors a batch; the discriminator sees the gray photos with their
real colors and with the generated ones and learns to tell them apart; the generator learns
to fool it while staying close to the real colors:

    d_loss = BCE(1, D(x, y)) + BCE(0, D(x, G(x)))
    g_loss = BCE(1, D(x, G(x))) + l1_weight * mean |y - G(x)|

`fit` logs `loss` (the L1 term, also on validation data as `val_loss`, so the best checkpoint
is the generator closest to the real colors), `g_gan`, `g_loss` and `d_loss` per epoch.
`colornet train unet-gan` builds it through the design's `training_model`.
"""

import keras
import tensorflow as tf
from keras import ops

from colornet.models.layers import TrainerModel

L1_WEIGHT = 100.0  # lambda in pix2pix: generator loss = GAN + lambda * L1


@keras.saving.register_keras_serializable(package="colornet")
class ConditionalGAN(TrainerModel):
    """Trains `generator` (gray -> colors) against `discriminator` ([gray, colors] -> logits).

    Args:
        generator: the network being trained; calling this model calls it.
        discriminator: a conditional discriminator returning logits (real > 0).
        l1_weight: lambda, the weight of the L1 term in the generator's loss.
        beta_1: Adam's beta_1 for both optimizers (pix2pix: 0.5).
    """

    def __init__(self, generator, discriminator, l1_weight: float = L1_WEIGHT, beta_1: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.l1_weight, self.beta_1 = float(l1_weight), float(beta_1)
        self.d_optimizer = None
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("loss", "g_gan", "g_loss", "d_loss")
        }
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.built = True  # its two networks are built

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def compile(self, optimizer="adam", loss=None, loss_weights=None, **kwargs):
        """One Adam per network, both at `optimizer`'s learning rate with `beta_1`; the loss
        is the GAN's own (`loss` and `loss_weights` are not used)."""
        optimizer = keras.optimizers.get(optimizer)
        lr = float(ops.convert_to_numpy(optimizer.learning_rate))
        super().compile(optimizer=keras.optimizers.Adam(lr, beta_1=self.beta_1), **kwargs)
        d_optimizer = keras.optimizers.Adam(lr, beta_1=self.beta_1)
        if self.dtype_policy.name == "mixed_float16":  # as compile does for the generator's
            d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
        self.d_optimizer = d_optimizer
        self.learning_rate = lr
        for opt, variables in self.optimizers_and_variables():  # their state exists before a restore
            opt.build(variables)

    def optimizers_and_variables(self):
        """Each optimizer with the variables it trains (a run's checkpoint restores both)."""
        return [
            (self.optimizer, self.generator.trainable_variables),
            (self.d_optimizer, self.discriminator.trainable_variables),
        ]

    def _gan_losses(self, x, y, training: bool):
        fake = self.generator(x, training=training)
        real_logits = ops.cast(self.discriminator([x, y], training=training), "float32")
        fake_logits = ops.cast(self.discriminator([x, fake], training=training), "float32")
        l1 = ops.mean(ops.abs(ops.cast(y, "float32") - ops.cast(fake, "float32")))
        g_gan = self.bce(ops.ones_like(fake_logits), fake_logits)
        d_loss = self.bce(ops.ones_like(real_logits), real_logits) + self.bce(
            ops.zeros_like(fake_logits), fake_logits
        )
        return l1, g_gan, g_gan + self.l1_weight * l1, d_loss

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync  # gradients are summed over them
        d_lr = self.d_optimizer.learning_rate  # a schedule callback sets the generator's: follow it
        if hasattr(d_lr, "assign"):
            d_lr.assign(self.optimizer.learning_rate)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            l1, g_gan, g_loss, d_loss = self._gan_losses(x, y, training=True)
            g_scaled = self.optimizer.scale_loss(g_loss / replicas)
            d_scaled = self.d_optimizer.scale_loss(d_loss / replicas)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        for name, value in (("loss", l1), ("g_gan", g_gan), ("g_loss", g_loss), ("d_loss", d_loss)):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        fake = self.generator(x, training=False)
        self.trackers["loss"].update_state(
            ops.mean(ops.abs(ops.cast(y, "float32") - ops.cast(fake, "float32")))
        )
        return {"loss": self.trackers["loss"].result()}

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "l1_weight": self.l1_weight,
            "beta_1": self.beta_1,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)
