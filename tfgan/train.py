"""Train steps (`tf.function` + `tf.GradientTape`) and the training loop around them.

`GANTrainer.train_step` is the heart of it: for one-step losses it is the TF tutorial's step (one
generator pass, both networks updated from the same batch); for WGAN and extra discriminator steps it
alternates `d_steps` critic updates with one generator update. For a conditional GAN (cGAN) every
batch is (images, labels), and both networks also take the label. The loop around it draws the progress
frames, saves checkpoints, keeps the history and turns Ctrl-C into a clean stop.
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan import augment, health, latent, losses, media, models
from tfgan import data as data_lib
from tfgan.checkpoint import RunCheckpoint
from tfgan.errors import TfganError
from tfgan.presets import Preset


class NonFiniteLoss(TfganError):
    """A loss became NaN or Inf."""


@dataclass
class FitResult:
    step: int
    epoch: int
    interrupted: bool = False
    gif: Path | None = None
    history: list[dict] = field(default_factory=list)


def make_optimizer(name: str, lr: float, beta_1: float, beta_2: float, mixed_precision: bool = False):
    if name == "adam":
        opt = keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2)
    elif name == "rmsprop":
        opt = keras.optimizers.RMSprop(lr)
    else:
        raise TfganError(f"unknown optimizer '{name}': use adam or rmsprop")
    # Float16 gradients underflow; the loss-scale wrapper scales losses up and gradients back down.
    return keras.optimizers.LossScaleOptimizer(opt) if mixed_precision else opt


class GANTrainer:
    """Owns the two networks, their optimizers, the counters and the run directory's files."""

    def __init__(
        self,
        preset: Preset,
        generator: keras.Model,
        discriminator: keras.Model,
        run_dir: str | os.PathLike,
        seed: int = 0,
        jit_compile: bool = False,
        mixed_precision: bool = False,
        max_to_keep: int = 3,
        strategy: tf.distribute.Strategy | None = None,
    ):
        # Under a tf.distribute strategy (several GPUs, a TPU) build the models inside strategy.scope().
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        if self.replicas > 1 and preset.loss == "wgan-clip":
            raise TfganError("wgan-clip trains on one device only: use wgan-gp with several devices")
        self.preset = preset
        self.augment_policy = augment.parse_policy(preset.diffaugment)
        self.generator = generator
        self.discriminator = discriminator
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.latent_dim = generator.inputs[0].shape[-1]
        self.d_loss_fn, self.g_loss_fn = losses.get(preset.loss)
        self.wasserstein = losses.is_wasserstein(preset.loss)
        # A conditional GAN: G(z, label), D(image, label); batches are (images, labels).
        self.conditional = preset.num_classes > 0
        if self.conditional != models.is_conditional(generator):
            raise TfganError(f"preset num_classes={preset.num_classes} but the generator "
                             f"{'takes' if models.is_conditional(generator) else 'does not take'} a label")
        latent.check(preset.latent)
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
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
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
        self.frame_samples: np.ndarray | None = None  # the samples of the latest progress frame
        # Instance noise is annealed to 0 over the steps fit() is asked for.
        self.anneal_steps = tf.Variable(float(preset.steps), trainable=False, name="anneal_steps")
        # Dropout draws its masks from SeedGenerators whose state Keras keeps out of `model.weights`,
        # and so out of a checkpoint of the model: save it too, or a resumed run repeats old masks.
        seed_states = [v for m in (generator, discriminator) for v in m.variables
                       if all(v is not w for w in m.weights)]
        # An exponential moving average of the generator's weights draws smoother samples than the
        # weights of any single step (Karras et al. 2018; Yazıcı et al. 2019). Used for frames and sampling.
        self.ema_generator = None
        extra = {}
        if preset.ema > 0:
            with self.strategy.scope():
                self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            extra["ema_generator"] = self.ema_generator
        self.checkpoint = RunCheckpoint(
            self.run_dir, max_to_keep,
            generator=generator, discriminator=discriminator,
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
            step=self.step, epoch=self.epoch, sample_noise=self.sample_noise, rng=self.rng,
            dropout_seeds=seed_states, **extra,
        )
        joint = preset.d_steps == 1 and not self.wasserstein
        step_fn = self.joint_step if joint else self.alternating_step
        self.replica_step = step_fn
        self.train_step = tf.function(self.distributed_step, jit_compile=jit_compile)
        self.history: list[dict] = []
        self.saved_step = -1
        # Warns (once per episode) when D wins, samples collapse or gradients vanish or explode.
        self.health = health.HealthMonitor(self.run_dir)
        self.callbacks: list[Callable[[GANTrainer, dict], None]] = [self.health]
        self.stop_training = False  # a callback may set it to end fit() after the current step

    # --- the train steps --------------------------------------------------------------------------

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
                    alpha = self.rng.uniform([tf.shape(real_images)[0], 1, 1, 1])

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

    # --- samples, checkpoints, history -----------------------------------------------------------

    def generate(self, noise: tf.Tensor | np.ndarray | None = None, labels=None) -> np.ndarray:
        """Generator output in [-1, 1] for the given noise (default: the fixed sample noise).

        A conditional GAN also takes labels (default: those of the fixed grid, one row per class).
        """
        generator = self.ema_generator or self.generator
        if noise is None:
            noise, labels = self.sample_noise, getattr(self, "sample_labels", None)
        if self.conditional:
            if labels is None:
                raise TfganError("a conditional generator needs labels: generate(noise, labels)")
            return np.asarray(generator([tf.convert_to_tensor(noise, tf.float32),
                                         tf.convert_to_tensor(labels, tf.int32)], training=False), np.float32)
        return np.asarray(generator(noise, training=False), dtype=np.float32)

    def save_frame(self) -> Path:
        step = int(self.step)
        # Kept for the callbacks of this step (the health check), so the samples are drawn once.
        self.frame_samples = self.generate()
        return media.save_grid(self.frame_samples, media.frame_path(self.run_dir / "frames", step),
                               scale=2 if self.generator.output_shape[1] < 48 else 1)

    def save_checkpoint(self) -> None:
        step = int(self.step)
        if step == self.saved_step:
            return
        # History first: rows past the checkpoint are dropped on resume, missing rows would stay missing.
        self.write_history()
        variables = self.generator.weights + self.discriminator.weights  # BatchNorm statistics included
        if not all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables):
            raise NonFiniteLoss(self._non_finite_message("the weights", step))
        self.checkpoint.save(step)
        self.saved_step = step

    def _non_finite_message(self, what: str, step: int) -> str:
        kept = f"step {self.saved_step}" if self.saved_step >= 0 else "none saved yet"
        return (f"{what} became non-finite at step {step}; training stopped without saving, so the last "
                f"good checkpoint ({kept}) is intact. Lower the learning rates (--g-lr / --d-lr) and "
                "re-run to resume")

    def restore(self) -> int | None:
        """Resume from the latest checkpoint; returns its step, or None when starting fresh."""
        for leftover in [*self.run_dir.glob(".*.tmp"), *(self.run_dir / "frames").glob(".*.tmp")]:
            leftover.unlink(missing_ok=True)  # half-written files of a killed run (media.atomic_write_bytes)
        restored = self.checkpoint.restore()
        step = int(self.step) if restored else 0
        # Frames drawn after the checkpoint came from weights that are gone: drop them (all of them
        # when there is no checkpoint: fit draws the untrained generator's frame again).
        for frame_step, path in media.list_frames(self.run_dir / "frames"):
            if frame_step > step or not restored:
                path.unlink(missing_ok=True)
        if not restored:
            return None
        self.saved_step = step
        self.history = [row for row in read_history(self.run_dir) if row["step"] <= step]
        # The learning rates are optimizer variables, so the checkpoint brought back the old ones: use
        # this run's, so that re-running with a lower --g-lr / --d-lr takes effect.
        self.g_optimizer.learning_rate = self.preset.g_lr
        self.d_optimizer.learning_rate = self.preset.d_lr
        return step

    def write_history(self) -> None:
        write_history(self.run_dir, self.history)

    def finish_media(self) -> Path | None:
        """Loss plot and progress GIF from everything saved so far."""
        media.plot_history(self.history, self.run_dir / "losses.png")
        if media.list_frames(self.run_dir / "frames"):
            return media.make_gif(self.run_dir / "frames", self.run_dir / "progress.gif")
        return None

    # --- the loop ---------------------------------------------------------------------------------

    def fit(self, images: np.ndarray, steps: int, labels: np.ndarray | None = None,
            progress: bool = True) -> FitResult:
        """Train until the step counter reaches `steps` (a total, so re-running resumes).

        A conditional GAN needs `labels` (one int per image); an unconditional one ignores them.
        """
        from tqdm.auto import tqdm

        p = self.preset
        if self.conditional and labels is None:
            raise TfganError("a conditional GAN trains on labelled images: pass labels=images.labels")
        labels = labels if self.conditional else None
        self.anneal_steps.assign(float(steps))
        (self.run_dir / "frames").mkdir(parents=True, exist_ok=True)
        # (0 when the data is smaller than a batch: batches() below says so in words)
        per_epoch = max(1, data_lib.steps_per_epoch(len(images), p.batch_size, p.d_steps))
        if not media.list_frames(self.run_dir / "frames"):
            self.save_frame()  # the untrained generator: the GIF's first frame
        # Where the data stream starts: the epoch in progress, minus the batches it has already used.
        skip = max(0, int(self.step) - int(self.epoch) * per_epoch)
        self.epoch.assign_add(skip // per_epoch)  # a checkpoint from the last step of an epoch
        skip %= per_epoch
        batches = data_lib.batches(images, p.batch_size, self.seed, int(self.epoch), skip, p.d_steps, labels,
                                   epochs=None)
        if self.replicas > 1:  # each replica gets its slice of every global batch
            batches = self.strategy.experimental_distribute_dataset(batches)
        bar = tqdm(total=steps, initial=min(int(self.step), steps), unit="step", disable=not progress,
                   dynamic_ncols=True, smoothing=0.1)
        interrupted = False
        self.stop_training = False
        last = time.perf_counter()
        try:
            if int(self.step) < steps:
                for batch in batches:
                    logs = {k: float(v) for k, v in self.train_step(batch).items()}
                    now = time.perf_counter()
                    step, epoch = int(self.step), int(self.epoch)
                    if step == (epoch + 1) * per_epoch:  # counted before any save: a checkpoint says where to go on
                        self.epoch.assign_add(1)
                    logs = {"step": step, "epoch": epoch, **logs,
                            "images/s": p.batch_size * p.d_steps / max(now - last, 1e-9)}
                    last = now
                    self.history.append(logs)
                    # Gradient norms may overflow under loss scaling (the step is then skipped); NaN
                    # weights still never reach a checkpoint: save_checkpoint checks them.
                    bad = [k for k, v in logs.items() if not math.isfinite(v) and not k.endswith("grad_norm")]
                    if bad:
                        raise NonFiniteLoss(self._non_finite_message(", ".join(bad), step))
                    if step % p.sample_every == 0:
                        self.save_frame()
                    if step % p.checkpoint_every == 0:
                        self.save_checkpoint()
                    for callback in self.callbacks:
                        callback(self, logs)
                    bar.update(1)
                    if step % 10 == 0 or step == steps:
                        bar.set_postfix({k: f"{logs[k]:.3g}" for k in ("d_loss", "g_loss", "images/s")},
                                        refresh=False)
                    if step >= steps or self.stop_training:
                        break
        except KeyboardInterrupt:
            interrupted = True
            print(f"\ninterrupted at step {int(self.step)}: saving a checkpoint and the GIF so far")
        except NonFiniteLoss:
            self.write_history()
            raise
        finally:
            bar.close()
        if not media.frame_path(self.run_dir / "frames", int(self.step)).exists():
            self.save_frame()
        self.save_checkpoint()
        gif = self.finish_media()
        return FitResult(int(self.step), int(self.epoch), interrupted, gif, self.history)


# --- history files ----------------------------------------------------------------------------------


def write_history(run_dir: str | os.PathLike, history: Sequence[dict]) -> None:
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    media.atomic_write_bytes(Path(run_dir) / "history.csv", buf.getvalue().encode())


def read_history(run_dir: str | os.PathLike) -> list[dict]:
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed = {k: float(v) for k, v in row.items() if v not in ("", None)}
            parsed["step"] = int(parsed["step"])
            parsed["epoch"] = int(parsed.get("epoch", 0))
            rows.append(parsed)
    return rows
