"""One GAN step: what the two networks learn from one batch.

`gan_step` is the TF DCGAN tutorial's step, top to bottom: draw noise, one generator pass, D on the
real and the fake images, both losses, two tapes, two updates. `conditional_step` (cGAN, AC-GAN) and
`critic_step` (WGAN-GP, weight clipping, several critic updates per generator update) are the same
shape with one more idea each.

The tricks are composed into what a step calls, once, where they are switched on (`GAN.__init__`):
DiffAugment and instance noise sit in front of D (`gan.discriminate`), label smoothing and noisy
labels inside `gan.d_loss`, the sphere inside `gan.draw_noise`. When they are off these are D, the
plain loss and a Gaussian draw, and the step calls nothing else. Mixed precision and several replicas
change how gradients are taken: the library then hands its steps a `ScaledTape` instead of
`tf.GradientTape`.

Any function `step(batch) -> dict of scalar tensors` can be the step (see `tfgan.train`): the loop
around it is the same for the library's steps and for one written in a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfgan import losses, models
from tfgan.errors import TfganError
from tfgan.presets import Preset
from tfgan.samples import is_toy
from tfgan.tricks import augment, latent

# mixed_precision: False (float32); True or "float16" (GPUs: half the memory traffic, but float16
# gradients underflow, so the losses are scaled); "bfloat16" (CPUs and TPUs with bfloat16 units: float32's
# range, so nothing to scale).
POLICIES = {False: "float32", True: "mixed_float16", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def precision_policy(mixed_precision: bool | str) -> str:
    """The Keras dtype policy for a `mixed_precision` setting."""
    if mixed_precision not in POLICIES:
        raise TfganError(f"unknown mixed precision '{mixed_precision}': use float16 (GPUs) or bfloat16")
    return POLICIES[mixed_precision]


def scales_losses(mixed_precision: bool | str) -> bool:
    return precision_policy(mixed_precision) == "mixed_float16"


def make_optimizer(name: str, lr: float, beta_1: float, beta_2: float, mixed_precision: bool | str = False):
    if name == "adam":
        opt = keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2)
    elif name == "rmsprop":
        opt = keras.optimizers.RMSprop(lr)
    else:
        raise TfganError(f"unknown optimizer '{name}': use adam or rmsprop")
    # Float16 gradients underflow; the loss-scale wrapper scales losses up and gradients back down.
    return keras.optimizers.LossScaleOptimizer(opt) if scales_losses(mixed_precision) else opt


# --- the steps -----------------------------------------------------------------------------------


def gan_step(gan: GAN, real_images: tf.Tensor, tape=tf.GradientTape) -> dict:
    """The TF tutorial's step: one batch of noise, one generator pass, both networks updated.

    `discriminate` is D (behind DiffAugment / instance noise when they are on); `tape` is
    tf.GradientTape (a ScaledTape under mixed precision or several replicas)."""
    generator, discriminate = gan.generator, gan.discriminate
    noise = gan.draw_noise(tf.shape(real_images)[0])
    with tape() as g_tape, tape() as d_tape:
        fake_images = generator(noise, training=True)
        real_logits = discriminate(real_images, training=True)
        fake_logits = discriminate(fake_images, training=True)
        g_loss = gan.g_loss(fake_logits)
        d_loss = gan.d_loss(real_logits, fake_logits)
    g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
    d_grads = d_tape.gradient(d_loss, gan.discriminator.trainable_variables)
    gan.g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
    gan.d_optimizer.apply_gradients(zip(d_grads, gan.discriminator.trainable_variables))
    return {"d_loss": d_loss, "g_loss": g_loss, **d_probabilities(real_logits, fake_logits),
            "g_grad_norm": tf.linalg.global_norm(g_grads), "d_grad_norm": tf.linalg.global_norm(d_grads)}


def conditional_step(gan: GAN, batch: tuple, tape=tf.GradientTape) -> dict:
    """A cGAN's step: G(z, label) and D(image, label); the fakes get the real batch's labels, so G is
    asked for the digits D sees. With AC-GAN, D also classifies, and its class loss joins both losses:
    D learns the classes on real images, G to make fakes that D classifies as asked."""
    real_images, labels = batch[0], tf.cast(batch[1], tf.int32)
    generator, discriminate = gan.generator, gan.discriminate
    noise = gan.draw_noise(tf.shape(real_images)[0])
    with tape() as g_tape, tape() as d_tape:
        fake_images = generator([noise, labels], training=True)
        real_out = discriminate([real_images, labels], training=True)
        fake_out = discriminate([fake_images, labels], training=True)
        if gan.preset.acgan:  # D's outputs: [real/fake logit, class logits]
            (real_logits, real_classes), (fake_logits, fake_classes) = real_out, fake_out
            g_loss = gan.g_loss(fake_logits) + losses.class_loss(labels, fake_classes)
            d_loss = gan.d_loss(real_logits, fake_logits) + losses.class_loss(labels, real_classes)
        else:
            real_logits, fake_logits = real_out, fake_out
            g_loss, d_loss = gan.g_loss(fake_logits), gan.d_loss(real_logits, fake_logits)
    g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
    d_grads = d_tape.gradient(d_loss, gan.discriminator.trainable_variables)
    gan.g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
    gan.d_optimizer.apply_gradients(zip(d_grads, gan.discriminator.trainable_variables))
    return {"d_loss": d_loss, "g_loss": g_loss, **d_probabilities(real_logits, fake_logits),
            "g_grad_norm": tf.linalg.global_norm(g_grads), "d_grad_norm": tf.linalg.global_norm(d_grads)}


def critic_step(gan: GAN, batch, tape=tf.GradientTape) -> dict:
    """`d_steps` critic updates, one real batch each, then one generator update (WGAN, WGAN-GP, or any
    loss with --d-steps > 1).

    The images have shape (batch, d_steps, H, W, C), batch first so that a strategy can split it (a
    cGAN's labels (batch, d_steps)). WGAN-GP adds the gradient penalty to the critic's loss; the
    original WGAN clips the critic's weights after each update instead.
    """
    p, critic = gan.preset, gan.discriminator
    real_batches, label_batches = (batch[0], tf.cast(batch[1], tf.int32)) if gan.conditional else (batch, None)
    if p.d_steps == 1:
        real_batches = real_batches[:, None]
        label_batches = None if label_batches is None else label_batches[:, None]
    logs = {}
    for i in range(p.d_steps):  # unrolled: d_steps is a small constant
        real_images = real_batches[:, i]
        labels = None if label_batches is None else label_batches[:, i]
        noise = gan.draw_noise(tf.shape(real_images)[0])
        with tape() as d_tape:
            fake_images = gan.make_fakes(noise, labels)
            real_logits, real_classes = gan.critic(real_images, labels)
            fake_logits, _ = gan.critic(fake_images, labels)
            d_loss = gan.d_loss(real_logits, fake_logits)
            if p.acgan:
                d_loss = d_loss + losses.class_loss(labels, real_classes)
            if gan.wasserstein:
                logs["wasserstein"] = -d_loss  # the critic's estimate of the earth mover's distance
            if p.loss == "wgan-gp":
                alpha = gan.rng.uniform(losses.alpha_shape(real_images))  # uniform, one per example
                logs["gp"], logs["grad_norm"] = losses.gradient_penalty(
                    lambda x, training=True, labels=labels: gan.critic(x, labels)[0], real_images, fake_images,
                    alpha, loss_scale=ScaledTape.loss_scale(gan.d_optimizer))
                d_loss = d_loss + p.gp_weight * logs["gp"]
        d_grads = d_tape.gradient(d_loss, critic.trainable_variables)
        gan.d_optimizer.apply_gradients(zip(d_grads, critic.trainable_variables))
        if p.loss == "wgan-clip":
            losses.clip_weights(critic.trainable_variables, p.clip_value)
    noise = gan.draw_noise(tf.shape(real_images)[0])
    with tape() as g_tape:
        fake_logits, fake_classes = gan.critic(gan.make_fakes(noise, labels), labels)
        g_loss = gan.g_loss(fake_logits)
        if p.acgan:
            g_loss = g_loss + losses.class_loss(labels, fake_classes)
    g_grads = g_tape.gradient(g_loss, gan.generator.trainable_variables)
    gan.g_optimizer.apply_gradients(zip(g_grads, gan.generator.trainable_variables))
    probabilities = {} if gan.wasserstein else d_probabilities(real_logits, fake_logits)
    return {"d_loss": d_loss, "g_loss": g_loss, **probabilities, **logs,
            "g_grad_norm": tf.linalg.global_norm(g_grads), "d_grad_norm": tf.linalg.global_norm(d_grads)}


def d_probabilities(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> dict:
    """D(x) and D(G(z)), the batch means of D's probabilities: what the health checks and the reference
    curves watch. They mean something for the sigmoid losses only."""
    return {"D(x)": tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            "D(G(z))": tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32)))}


def library_step(gan: GAN) -> Callable:
    """The library's step for a preset, as a function of the batch alone."""
    if gan.wasserstein or gan.preset.d_steps > 1:
        family = critic_step
    else:
        family = conditional_step if gan.conditional else gan_step
    tape = ScaledTape.factory(gan) if gan.needs_scaling else tf.GradientTape  # mixed precision, replicas

    def step(batch) -> dict:
        return family(gan, batch, tape=tape)

    step.library = True  # a step that knows how to scale its losses
    step.__name__ = family.__name__
    return step


# --- what a step reads and updates ---------------------------------------------------------------


class GAN:
    """The two networks, their optimizers, the random stream, the step counter, and the tricks composed
    into `discriminate`, `d_loss`, `g_loss` and `draw_noise`: everything a step reads or changes. The
    trainer (`tfgan.train.GANTrainer`, a GAN) saves all of it in the run's checkpoints, with the EMA
    generator and the dropout seeds, so a resumed run goes on exactly where it stopped."""

    def __init__(self, preset: Preset, generator: keras.Model, discriminator: keras.Model, seed: int = 0,
                 mixed_precision: bool | str = False, strategy: tf.distribute.Strategy | None = None):
        # Under a tf.distribute strategy (several GPUs, a TPU) build the models inside strategy.scope().
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        self.preset, self.seed = preset, seed
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = generator.inputs[0].shape[-1]
        self.points = is_toy(generator.output_shape[1:])  # the 2-D toy data (tfgan.data.toy), not images
        self.conditional = preset.num_classes > 0  # G(z, label), D(image, label); batches (images, labels)
        self.wasserstein = losses.is_wasserstein(preset.loss)
        self.needs_scaling = scales_losses(mixed_precision) or self.replicas > 1
        self._check(preset, generator)
        with self.strategy.scope():
            self.g_optimizer = make_optimizer(preset.optimizer, preset.g_lr, preset.beta_1, preset.beta_2,
                                              mixed_precision)
            self.d_optimizer = make_optimizer(preset.optimizer, preset.d_lr, preset.beta_1, preset.beta_2,
                                              mixed_precision)
            # Build optimizer slots now so a checkpoint can restore them before the first step.
            self.g_optimizer.build(generator.trainable_variables)
            self.d_optimizer.build(discriminator.trainable_variables)
            # Created in the scope, each replica draws its own noise stream. Steps draw all their
            # randomness from it: its state is in the checkpoint, so a resumed run draws what an
            # unbroken one would have.
            self.rng = tf.random.Generator.from_seed(seed)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # Instance noise is annealed to 0 over the steps fit() is asked for.
        self.anneal_steps = tf.Variable(float(preset.steps), trainable=False, name="anneal_steps")
        self.d_loss, self.g_loss = losses.for_preset(preset.loss, preset.real_label, preset.label_flip, self.rng)
        self.discriminate = self._discriminator_with_input_tricks()

    def _check(self, preset: Preset, generator: keras.Model) -> None:
        if self.replicas > 1 and preset.loss == "wgan-clip":
            raise TfganError("wgan-clip trains on one device only: use wgan-gp with several devices")
        if preset.diffaugment and self.points:
            raise TfganError("DiffAugment transforms images, not 2-D points: drop --diffaugment for toy data")
        if self.conditional != models.is_conditional(generator):
            raise TfganError(f"preset num_classes={preset.num_classes} but the generator "
                             f"{'takes' if models.is_conditional(generator) else 'does not take'} a label")
        latent.check_latent_kind(preset.latent)

    def _discriminator_with_input_tricks(self) -> Callable:
        """D itself, or D behind instance noise and DiffAugment when the preset turns them on: both see
        real and fake images alike, so neither can tell D which is which."""
        policy = augment.parse_policy(self.preset.diffaugment)
        sigma = self.preset.instance_noise
        if not policy and sigma <= 0:
            return self.discriminator

        def transform(images):
            if sigma > 0:  # instance noise (Sønderby et al. 2017): σ falls linearly to 0 over training
                done = tf.cast(self.step, tf.float32) / tf.maximum(self.anneal_steps, 1.0)
                noise_sigma = sigma * tf.maximum(0.0, 1.0 - done)
                images = images + tf.cast(noise_sigma * self.rng.normal(tf.shape(images)), images.dtype)
            return augment.diff_augment(images, policy, self.rng) if policy else images

        def discriminate(inputs, training=True):
            if isinstance(inputs, (list, tuple)):  # a cGAN's [images, labels]
                return self.discriminator([transform(inputs[0]), *inputs[1:]], training=training)
            return self.discriminator(transform(inputs), training=training)

        return discriminate

    def draw_noise(self, n) -> tf.Tensor:
        """n latent vectors from the run's random stream: Gaussian, on the sphere of radius
        sqrt(latent_dim), or uniform in [-1, 1] (preset.latent)."""
        return latent.draw(self.rng, [n, self.latent_dim], self.preset.latent)

    def make_fakes(self, noise, labels=None):
        """G(z), or G(z, label) for a cGAN, in training mode."""
        return self.generator(noise if labels is None else [noise, labels], training=True)

    def critic(self, images, labels=None) -> tuple:
        """The critic's (or D's) real/fake logits, and an AC-GAN's class logits (else None)."""
        outputs = self.discriminate(images if labels is None else [images, labels], training=True)
        return tuple(outputs) if self.preset.acgan else (outputs, None)


class ScaledTape(tf.GradientTape):
    """`tf.GradientTape` for mixed precision and several replicas.

    Float16 gradients underflow, so the loss is scaled up by the optimizer's loss scale before it is
    differentiated (the LossScaleOptimizer divides it back out and skips steps whose gradients
    overflowed). Replicas' gradients are summed, so each contributes its share of the global mean.
    Both are factors on the loss, applied here as the seed of the backward pass.
    """

    def __init__(self, gan: GAN):
        super().__init__()
        self.gan = gan

    @classmethod
    def factory(cls, gan: GAN) -> Callable[[], ScaledTape]:
        return lambda: cls(gan)

    @staticmethod
    def loss_scale(optimizer) -> tf.Tensor | float:
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return tf.cast(optimizer.dynamic_scale, tf.float32)
        return 1.0

    def gradient(self, target, sources, **kwargs):
        gan = self.gan
        g_vars = {id(v) for v in gan.generator.trainable_variables}
        optimizer = gan.g_optimizer if id(sources[0]) in g_vars else gan.d_optimizer
        factor = tf.cast(self.loss_scale(optimizer), tf.float32) / gan.replicas
        return super().gradient(target, sources, output_gradients=factor * tf.ones_like(target), **kwargs)


def unscale_logs(logs: dict, scales: tuple) -> dict:
    """A ScaledTape's gradient norms divided by the loss scales read before the step (with several
    replicas they stay each replica's share, as before ScaledTape)."""
    g_scale, d_scale = scales
    logs = dict(logs)
    if "g_grad_norm" in logs:
        logs["g_grad_norm"] = logs["g_grad_norm"] / g_scale
        logs["d_grad_norm"] = logs["d_grad_norm"] / d_scale
    return logs


def update_ema(ema_generator: keras.Model, generator: keras.Model, step: tf.Variable, decay: float) -> None:
    """An exponential moving average of G's weights (Karras et al. 2018; Yazıcı et al. 2019), which draws
    smoother samples than the weights of any single step. A warm-up keeps the early average from mostly
    remembering the random initial weights."""
    step = tf.cast(step, tf.float32)
    decay = tf.minimum(decay, (1.0 + step) / (10.0 + step))
    for ema_w, w in zip(ema_generator.weights, generator.weights):
        ema_w.assign(decay * ema_w + (1.0 - decay) * w if w.trainable else w)


def fixed_noise(preset: Preset, latent_dim: int, seed: int) -> tuple[tf.Tensor, tf.Tensor | None]:
    """The progress frames' noise (and a cGAN's labels: one row per class, one noise vector per column,
    so that each column is one "style" in every class)."""
    noise_rng = tf.random.Generator.from_seed(seed + 1)
    labels = None
    if preset.num_classes > 0:
        cols = math.isqrt(preset.num_samples)
        column_noise = latent.draw(noise_rng, [cols, latent_dim], preset.latent)
        noise = tf.tile(column_noise, [preset.num_samples // cols, 1])
        labels = tf.constant(np.arange(preset.num_samples) // cols % preset.num_classes, tf.int32)
    else:
        noise = latent.draw(noise_rng, [preset.num_samples, latent_dim], preset.latent)
    return noise, labels
