"""What is learned: the train steps (`tf.function` + `tf.GradientTape`), the losses they use, and EMA.

`GANSteps.joint_step` is the TF tutorial's step: one generator pass, both networks updated from the same
batch. `alternating_step` is the one for WGAN and extra discriminator steps: `d_steps` critic updates,
then one generator update. For a conditional GAN (cGAN) every batch is (images, labels), and both
networks also take the label.

`train_steps(iterator, k)` runs k steps in one compiled call and returns every step's logs stacked in
one tensor, fetched in one transfer: on a GPU a step can take a millisecond, less than Python's own
work around a call. When things happen (frames, checkpoints, callbacks) is `tfgan.train`'s business.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from tfgan import losses, models
from tfgan.errors import TfganError
from tfgan.presets import Preset
from tfgan.samples import is_toy
from tfgan.tricks import augment, latent


def make_optimizer(name: str, lr: float, beta_1: float, beta_2: float, mixed_precision: bool = False):
    if name == "adam":
        opt = keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2)
    elif name == "rmsprop":
        opt = keras.optimizers.RMSprop(lr)
    else:
        raise TfganError(f"unknown optimizer '{name}': use adam or rmsprop")
    # Float16 gradients underflow; the loss-scale wrapper scales losses up and gradients back down.
    return keras.optimizers.LossScaleOptimizer(opt) if mixed_precision else opt


class GANSteps:
    """The two networks, their optimizers, the noise, the step counter and the compiled steps."""

    def __init__(
        self,
        preset: Preset,
        generator: keras.Model,
        discriminator: keras.Model,
        seed: int = 0,
        jit_compile: bool = False,
        mixed_precision: bool = False,
        strategy: tf.distribute.Strategy | None = None,
    ):
        # Under a tf.distribute strategy (several GPUs, a TPU) build the models inside strategy.scope().
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        if self.replicas > 1 and preset.loss == "wgan-clip":
            raise TfganError("wgan-clip trains on one device only: use wgan-gp with several devices")
        self.preset = preset
        self.augment_policy = augment.parse_policy(preset.diffaugment)
        self.points = is_toy(generator.output_shape[1:])  # the 2-D toy data (tfgan.data.toy), not images
        if self.augment_policy and self.points:
            raise TfganError("DiffAugment transforms images, not 2-D points: drop --diffaugment for toy data")
        self.generator = generator
        self.discriminator = discriminator
        self.seed = seed
        self.latent_dim = generator.inputs[0].shape[-1]
        self.d_loss_fn, self.g_loss_fn = losses.get(preset.loss)
        self.wasserstein = losses.is_wasserstein(preset.loss)
        # A conditional GAN: G(z, label), D(image, label); batches are (images, labels).
        self.conditional = preset.num_classes > 0
        if self.conditional != models.is_conditional(generator):
            raise TfganError(f"preset num_classes={preset.num_classes} but the generator "
                             f"{'takes' if models.is_conditional(generator) else 'does not take'} a label")
        latent.check_latent_kind(preset.latent)
        if preset.label_flip > 0 and preset.loss not in ("nonsaturating", "minimax"):
            raise TfganError(f"label flipping needs a cross-entropy loss (nonsaturating, minimax), not {preset.loss}")
        with self.strategy.scope():
            self.g_optimizer = make_optimizer(preset.optimizer, preset.g_lr, preset.beta_1, preset.beta_2,
                                              mixed_precision)
            self.d_optimizer = make_optimizer(preset.optimizer, preset.d_lr, preset.beta_1, preset.beta_2,
                                              mixed_precision)
            # Build optimizer slots now so a checkpoint can restore them before the first step.
            self.g_optimizer.build(generator.trainable_variables)
            self.d_optimizer.build(discriminator.trainable_variables)
            # Created in the scope, each replica draws its own noise stream.
            self.rng = tf.random.Generator.from_seed(seed)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # The noise generator's state is saved in the checkpoint, so a resumed run draws the same noise.
        noise_rng = tf.random.Generator.from_seed(seed + 1)
        if self.conditional:
            # One row per class, one noise vector per column: each column is one "style" in every class.
            cols = math.isqrt(preset.num_samples)
            noise = tf.tile(noise_rng.normal([cols, self.latent_dim]), [preset.num_samples // cols, 1])
            self.sample_labels = tf.constant(np.arange(preset.num_samples) // cols % preset.num_classes,
                                             tf.int32)
        else:
            noise = noise_rng.normal([preset.num_samples, self.latent_dim])
        if preset.latent == "sphere":
            noise = latent.to_sphere(noise)
        self.sample_noise = tf.Variable(noise, trainable=False, name="sample_noise")
        # Instance noise is annealed to 0 over the steps fit() is asked for.
        self.anneal_steps = tf.Variable(float(preset.steps), trainable=False, name="anneal_steps")
        # Dropout draws its masks from SeedGenerators whose state Keras keeps out of `model.weights`,
        # and so out of a checkpoint of the model: they are saved too, or a resumed run repeats old masks.
        self.seed_states = [v for m in (generator, discriminator) for v in m.variables
                            if all(v is not w for w in m.weights)]
        # An exponential moving average of the generator's weights draws smoother samples than the
        # weights of any single step (Karras et al. 2018; Yazıcı et al. 2019). Used for frames and sampling.
        self.ema_generator = None
        if preset.ema > 0:
            with self.strategy.scope():
                self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        joint = preset.d_steps == 1 and not self.wasserstein
        self.replica_step = self.joint_step if joint else self.alternating_step
        # One step per call (XLA-compiled with jit_compile), and k steps per call around it.
        self.train_step = tf.function(self.distributed_step, jit_compile=jit_compile)
        self.train_steps = tf.function(self._steps_on_iterator)
        self.log_keys: list[str] = []  # the columns of train_steps' result, known once it is traced
        self._fixed_samples = tf.function(
            lambda: self._generate(self.sample_noise, getattr(self, "sample_labels", None)))

    # --- k steps per call -------------------------------------------------------------------------

    def _steps_on_iterator(self, iterator, k: tf.Tensor) -> tf.Tensor:
        """k train steps on k batches from `iterator`; returns their logs, shape (k, len(log_keys)).

        The loop is a `tf.while_loop` over a tensor k, so that every chunk size shares one trace (TPU
        guide: "multiple steps within tf.function"). The first step is taken before the loop, which is
        where the logs' names are learnt.
        """
        def step() -> tf.Tensor:
            logs = self.train_step(next(iterator))
            self.log_keys = list(logs)  # a Python side effect, at trace time only
            return tf.stack([tf.cast(logs[key], tf.float32) for key in self.log_keys])

        first = step()
        rows = tf.TensorArray(tf.float32, size=k, element_shape=first.shape).write(0, first)
        for i in tf.range(1, k):
            rows = rows.write(i, step())
        return rows.stack()


    # --- one step --------------------------------------------------------------------------

    def distributed_step(self, batch: tf.Tensor) -> dict:
        """Run the step on every replica (just once without a strategy), then average the logs."""
        logs = self.strategy.run(self.replica_step, args=(batch,))
        logs = {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in logs.items()}
        self._update_ema()
        self.step.assign_add(1)
        return logs

    def joint_step(self, batch) -> dict:
        """The TF tutorial's step: one batch of noise, one generator pass, both networks updated."""
        real_images, labels = self._unpack(batch)  # labels: None unless conditional
        noise = self.draw_noise(tf.shape(real_images)[0])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            # A cGAN's fakes get the real batch's labels: G is asked for the same digits D sees.
            fake_images = self.generate_batch(noise, labels)
            real_logits, real_classes = self.discriminate(real_images, labels)
            fake_logits, fake_classes = self.discriminate(fake_images, labels)
            # AC-GAN: D learns to classify real images, G to make fakes D classifies as asked.
            g_loss = self.g_loss_fn(fake_logits) + self._class_loss(labels, fake_classes)
            d_loss = self._d_loss(real_logits, fake_logits) + self._class_loss(labels, real_classes)
            g_scaled, d_scaled = self._scale(g_loss, self.g_optimizer), self._scale(d_loss, self.d_optimizer)
        g_norm = self._apply(g_tape, g_scaled, self.generator, self.g_optimizer)
        d_norm = self._apply(d_tape, d_scaled, self.discriminator, self.d_optimizer)
        return {**self._logs(d_loss, g_loss, real_logits, fake_logits),
                "g_grad_norm": g_norm, "d_grad_norm": d_norm}

    def alternating_step(self, batch) -> dict:
        """d_steps critic updates (one real batch each), then one generator update.

        The images have shape (batch, d_steps, H, W, C) (labels (batch, d_steps)): batch first, so a
        strategy can split it.
        """
        real_batches, label_batches = self._unpack(batch)
        if self.preset.d_steps == 1:
            real_batches = real_batches[:, None]
            label_batches = None if label_batches is None else label_batches[:, None]
        extra = {}
        for i in range(self.preset.d_steps):  # unrolled: d_steps is a small constant
            real_images = real_batches[:, i]
            labels = None if label_batches is None else label_batches[:, i]
            noise = self.draw_noise(tf.shape(real_images)[0])
            with tf.GradientTape() as d_tape:
                fake_images = self.generate_batch(noise, labels)
                real_logits, real_classes = self.discriminate(real_images, labels)
                fake_logits, _ = self.discriminate(fake_images, labels)
                d_loss = self._d_loss(real_logits, fake_logits) + self._class_loss(labels, real_classes)
                if self.preset.loss == "wgan-gp":
                    alpha = self.rng.uniform(losses.alpha_shape(real_images))

                    def critic(images, training=True, labels=labels):
                        return self.discriminate(images, labels)[0]

                    gp, grad_norm = losses.gradient_penalty(critic, real_images, fake_images, alpha,
                                                            loss_scale=self._loss_scale(self.d_optimizer))
                    extra = {"wasserstein": -d_loss, "gp": gp, "grad_norm": grad_norm}
                    d_loss = d_loss + self.preset.gp_weight * gp
                elif self.wasserstein:
                    extra = {"wasserstein": -d_loss}
                d_scaled = self._scale(d_loss, self.d_optimizer)
            d_norm = self._apply(d_tape, d_scaled, self.discriminator, self.d_optimizer)
            if self.preset.loss == "wgan-clip":
                for w in self.discriminator.trainable_variables:
                    w.assign(tf.clip_by_value(w, -self.preset.clip_value, self.preset.clip_value))
        noise = self.draw_noise(tf.shape(real_images)[0])
        with tf.GradientTape() as g_tape:
            fake_logits, fake_classes = self.discriminate(self.generate_batch(noise, labels), labels)
            g_loss = self.g_loss_fn(fake_logits) + self._class_loss(labels, fake_classes)
            g_scaled = self._scale(g_loss, self.g_optimizer)
        g_norm = self._apply(g_tape, g_scaled, self.generator, self.g_optimizer)
        return {**self._logs(d_loss, g_loss, real_logits, fake_logits), **extra,
                "g_grad_norm": g_norm, "d_grad_norm": d_norm}

    # --- what the steps are made of ---------------------------------------------------------------

    def _unpack(self, batch):
        """(images, labels) for a conditional GAN, (images, None) otherwise."""
        if not self.conditional:
            return batch, None
        images, labels = batch
        return images, tf.cast(labels, tf.int32)

    def draw_noise(self, n) -> tf.Tensor:
        """n latent vectors: Gaussian, or on the sphere of radius sqrt(latent_dim) (preset.latent)."""
        z = self.rng.normal([n, self.latent_dim])
        return latent.to_sphere(z) if self.preset.latent == "sphere" else z

    def generate_batch(self, noise, labels=None, training=True):
        """G(z), or G(z, label) for a conditional GAN."""
        return self.generator(noise if labels is None else [noise, labels], training=training)

    def discriminate(self, images, labels=None):
        """D's real/fake logits, and its class logits for an AC-GAN (else None).

        Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017), when on, blurs real and fake
        alike so that their distributions overlap early in training; its σ falls linearly to 0.
        """
        if self.preset.instance_noise > 0:
            done = tf.cast(self.step, tf.float32) / tf.maximum(self.anneal_steps, 1.0)
            sigma = self.preset.instance_noise * tf.maximum(0.0, 1.0 - done)
            images = images + tf.cast(sigma * self.rng.normal(tf.shape(images)), images.dtype)
        if self.augment_policy:  # DiffAugment: the same kind of augmentation on real and fake images
            images = augment.diff_augment(images, self.augment_policy, self.rng)
        outputs = self.discriminator(images if labels is None else [images, labels], training=True)
        return outputs if self.preset.acgan else (outputs, None)

    def _class_loss(self, labels, class_logits):
        """AC-GAN's auxiliary loss: cross-entropy of D's class prediction (0 without a class head)."""
        if class_logits is None:
            return 0.0
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels, tf.cast(class_logits, tf.float32)))

    def _update_ema(self) -> None:
        if self.ema_generator is None:
            return
        # Warm-up: early on the average would mostly remember the random initial weights.
        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.preset.ema, (1.0 + step) / (10.0 + step))
        for ema_w, w in zip(self.ema_generator.weights, self.generator.weights):
            ema_w.assign(decay * ema_w + (1.0 - decay) * w if w.trainable else w)

    def _d_loss(self, real_logits, fake_logits):
        if self.preset.label_flip > 0:
            # Noisy labels: a random share of D's targets is swapped (real called fake and vice versa).
            flip_real = self.rng.uniform(tf.shape(real_logits)) < self.preset.label_flip
            flip_fake = self.rng.uniform(tf.shape(fake_logits)) < self.preset.label_flip
            real_targets = tf.where(flip_real, 0.0, self.preset.real_label)
            fake_targets = tf.where(flip_fake, 1.0, 0.0)
            return self.d_loss_fn(real_logits, fake_logits, real_targets, fake_targets)
        if self.preset.loss in ("nonsaturating", "minimax"):
            return self.d_loss_fn(real_logits, fake_logits, self.preset.real_label)
        return self.d_loss_fn(real_logits, fake_logits)

    def _logs(self, d_loss, g_loss, real_logits, fake_logits) -> dict:
        logs = {"d_loss": d_loss, "g_loss": g_loss}
        if not self.wasserstein:  # D's probabilities only mean something for the sigmoid losses
            logs["D(x)"] = tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32)))
            logs["D(G(z))"] = tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32)))
        return logs

    @staticmethod
    def _loss_scale(optimizer):
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return tf.cast(optimizer.dynamic_scale, tf.float32)
        return 1.0

    def _scale(self, loss, optimizer):
        # Replicas' gradients are summed, so each contributes its share of the global-batch mean.
        loss = loss / self.replicas
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.scale_loss(loss)
        return loss

    @staticmethod
    def _apply(tape, loss, model, optimizer) -> tf.Tensor:
        """One update; returns the gradients' global norm, for the health checks."""
        grads = tape.gradient(loss, model.trainable_variables)
        norm = tf.linalg.global_norm(grads)
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            norm = norm / optimizer.dynamic_scale  # report the true gradient, not the scaled one
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return norm

    def generate(self, noise: tf.Tensor | np.ndarray | None = None, labels=None) -> np.ndarray:
        """Generator output in [-1, 1] for the given noise (default: the fixed sample noise).

        A conditional GAN also takes labels (default: those of the fixed grid, one row per class).
        """
        if noise is None:  # the progress frames: compiled, since the loop draws one every few steps
            return self._fixed_samples().numpy()
        if self.conditional and labels is None:
            raise TfganError("a conditional generator needs labels: generate(noise, labels)")
        labels = tf.convert_to_tensor(labels, tf.int32) if self.conditional else None
        return self._generate(tf.convert_to_tensor(noise, tf.float32), labels).numpy()

    def _generate(self, noise: tf.Tensor, labels: tf.Tensor | None) -> tf.Tensor:
        generator = self.ema_generator or self.generator
        return tf.cast(generator(noise if labels is None else [noise, labels], training=False), tf.float32)
