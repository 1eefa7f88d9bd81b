"""When things happen: the training loop around a train step (`tfgan.step`, or one of your own).

`GANTrainer.fit` asks for several steps per compiled call (a "chunk", about 0.25 s of work unless
`steps_per_call` fixes it) and gets every step's logs back in one transfer. A chunk ends where
something needs the networks as they are: a progress frame, a checkpoint, a callback's `every`, the
last step. Between chunks the loop keeps the history (a row per step), checks for NaN, updates the bar,
runs the callbacks, and turns Ctrl-C, SIGTERM and SIGHUP into a clean stop with everything saved.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan import data as data_lib
from tfgan.errors import TfganError
from tfgan.media import animation, frames, history
from tfgan.media.images import grid, png_bytes, save_grid
from tfgan.presets import Preset
from tfgan.runs import bands, disk, health, preemption
from tfgan.runs import checkpoint as ckpt_lib
from tfgan.runs.checkpoint import RunCheckpoint
from tfgan.runs.files import atomic_write_bytes, truncate_lines
from tfgan.runs.signals import StopRequests
from tfgan.step import GAN, ScaledTape, fixed_noise, library_step, unscale_logs, update_ema


class _OwnFunctionsTraceOncePerTrainer(logging.Filter):
    """TensorFlow warns of "retracing" when several trainers in one process (a notebook makes one per
    run) each trace their own copy of the loop's functions. Each traces once per trainer (the tests
    count it), so for tfgan's own functions the warning says nothing and would only alarm."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "GANTrainer" in message)


tf.get_logger().addFilter(_OwnFunctionsTraceOncePerTrainer())

CHUNK_SECONDS = 0.25  # the work one compiled call aims at when steps_per_call is automatic
MAX_STEPS_PER_CALL = 1000
FIRST_CHECKPOINT_SECS = 10.0  # a run killed in its first minute keeps all but a few seconds of it


class NonFiniteLoss(TfganError):
    """A loss became NaN or Inf."""


@dataclass
class FitResult:
    step: int
    epoch: int
    interrupted: bool = False
    gif: Path | None = None
    history: list[dict] = field(default_factory=list)
    signal: str = ""  # SIGINT, SIGTERM or SIGHUP when one stopped the run
    seconds: float = 0.0  # wall time of this fit() call
    checkpoint_seconds: float = 0.0  # of which saving checkpoints


class GANTrainer(GAN):
    """A GAN (`tfgan.step.GAN`) and its run directory: the step, frames, checkpoints, history, callbacks.

    The step is the library's for the preset (`tfgan.step.library_step`) unless you give your own:
    `trainer.use_train_step(fn)` or `trainer.fit(..., train_step=fn)`. A step is a function of one batch that
    updates both networks and returns a dict of scalar tensors (its logs):

        def train_step(images):                        # a cGAN's batch is (images, labels)
            noise = trainer.draw_noise(tf.shape(images)[0])
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                ...                                    # G, D, the two losses
            ...                                        # two tape.gradient, two apply_gradients
            return {"d_loss": d_loss, "g_loss": g_loss}

    For resume and `--deterministic` to hold, everything the step changes must be saved in the
    checkpoint: update `trainer.generator` / `trainer.discriminator` with `trainer.g_optimizer` /
    `trainer.d_optimizer`, and draw every random number from `trainer.rng` (`trainer.draw_noise(n)`;
    `tf.random.normal` is not saved, so a resumed run would draw other noise). The preset's tricks reach
    a step of your own only through `trainer.discriminate` (D behind DiffAugment, instance noise),
    `trainer.d_loss` / `trainer.g_loss` (label smoothing, flips) and `trainer.draw_noise`. The loop adds
    the rest: the step counter, the EMA generator, several steps per compiled call, frames, checkpoints,
    the history, health warnings (from "d_loss" and "*_grad_norm" when the step logs them; a critic's
    step logs "wasserstein" too, or its negative d_loss reads as a winning D), evaluation, the GIF and
    clean stops on signals. The step runs inside `tf.function`: no
    Python side effects per step, and no `.numpy()`. It runs on one device; several replicas and
    mixed precision need the library's steps (their tape scales the losses).

    Callbacks are functions of `(trainer, logs)`, called once for every step with that step's logs,
    after the chunk that ran it. A callback with an attribute `every` sees the networks as they were
    at its step whenever `step % every == 0` (chunks end there); `every = 0` says it reads the logs
    only. A callback without the attribute gets one step per chunk, so it always sees live networks.
    """

    def __init__(
        self,
        preset: Preset,
        generator: keras.Model,
        discriminator: keras.Model,
        run_dir: str | os.PathLike,
        seed: int = 0,
        jit_compile: bool = False,
        mixed_precision: bool | str = False,
        max_to_keep: int = 3,
        strategy: tf.distribute.Strategy | None = None,
        steps_per_call: int | None = None,
        checkpoint_secs: float = 60.0,
        keep_every: int = 0,
    ):
        super().__init__(preset, generator, discriminator, seed=seed, mixed_precision=mixed_precision,
                         strategy=strategy)
        self.jit_compile = jit_compile
        self._sampling_state(preset, generator, discriminator, seed)
        self.use_train_step(library_step(self))
        self.run_dir = Path(run_dir)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.frame_samples: np.ndarray | None = None  # the samples of the latest progress frame
        # 2-D toy data: which dataset (for the frames' axes) and real points drawn faintly behind samples
        self.toy_dataset, self._frame_real = preset.dataset, None
        self._frame_writer = ThreadPoolExecutor(1, thread_name_prefix="tfgan-frames")
        self._frame_writes: list[Future] = []
        extra = {"ema_generator": self.ema_generator} if self.ema_generator is not None else {}
        self.checkpoint = RunCheckpoint(
            self.run_dir, max_to_keep, keep_every,
            generator=generator, discriminator=discriminator,
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
            step=self.step, epoch=self.epoch, sample_noise=self.sample_noise, rng=self.rng,
            dropout_seeds=self.seed_states, **extra,
        )
        self.history: list[dict] = []
        self.saved_step = -1
        # Warns (once per episode) when D wins, samples collapse or gradients vanish or explode.
        self.band = bands.load(preset)  # what normal runs of this preset look like, when recorded
        self.health = health.HealthMonitor(self.run_dir, band=self.band)
        self.callbacks: list[Callable[[GANTrainer, dict], None]] = [self.health]
        self.stop_training = False  # a callback may set it to end fit() after the current chunk
        if steps_per_call is not None and steps_per_call < 1:
            raise TfganError(f"steps per call must be at least 1, got {steps_per_call}")
        self.steps_per_call = steps_per_call  # None: automatic, about CHUNK_SECONDS of work per call
        if checkpoint_secs < 0:
            raise TfganError(f"--checkpoint-secs must be 0 (by steps only) or more, got {checkpoint_secs:g}")
        # Checkpoints by time as well as every preset.checkpoint_every steps: the first after
        # FIRST_CHECKPOINT_SECS of training, then every checkpoint_secs (0: by steps only).
        self.checkpoint_secs = checkpoint_secs
        self.checkpoint_seconds = 0.0  # wall time spent saving checkpoints, for the cost in RESULTS.md
        self._saves_this_fit, self._last_save = 0, time.monotonic()

    def _sampling_state(self, preset: Preset, generator: keras.Model, discriminator: keras.Model, seed: int):
        """The frames' fixed noise, the dropout seeds and the EMA generator: state the checkpoint saves
        beside the networks and optimizers."""
        self.sample_noise, labels = fixed_noise(preset, self.latent_dim, seed)
        # The frames' noise is saved in the checkpoint, so a resumed run draws the same grid.
        self.sample_noise = tf.Variable(self.sample_noise, trainable=False, name="sample_noise")
        if labels is not None:
            self.sample_labels = labels
        # Dropout draws its masks from SeedGenerators whose state Keras keeps out of `model.weights`,
        # and so out of a checkpoint of the model: they are saved too, or a resumed run repeats old masks.
        self.seed_states = [v for m in (generator, discriminator) for v in m.variables
                            if all(v is not w for w in m.weights)]
        # The weight average draws the frames and the samples (Karras et al. 2018).
        self.ema_generator = None
        if preset.ema > 0:
            with self.strategy.scope():
                self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.log_keys: list[str] = []  # the columns of train_steps' result, known once it is traced
        self._fixed_samples = tf.function(
            lambda: self._generate(self.sample_noise, getattr(self, "sample_labels", None)))

    # --- the step, and k steps per compiled call --------------------------------------------------

    def use_train_step(self, step: Callable[..., dict]) -> None:
        """Train with `step(batch) -> dict of scalar tensors` from now on (see the class docstring)."""
        if step is getattr(self, "step_fn", None):
            return  # already compiled: tracing it again would cost seconds and change nothing
        if not callable(step):
            raise TfganError(f"a train step must be a function of a batch, got {type(step).__name__}")
        if self.needs_scaling and not getattr(step, "library", False):
            raise TfganError("a step of your own runs on one device in float32: drop --mixed-precision and "
                             "--distribute (mixed_precision= and strategy= in Python), or use the library's step")
        self.step_fn = step
        # One step per call (XLA-compiled with jit_compile), and k steps per call around it.
        self.train_step = tf.function(self._counted_step, jit_compile=self.jit_compile)
        self.train_steps = tf.function(self._steps_on_iterator)

    def _counted_step(self, batch) -> dict:
        """The step on every replica (just once without a strategy), the logs averaged, then the EMA
        and the step counter."""
        scales = (ScaledTape.loss_scale(self.g_optimizer), ScaledTape.loss_scale(self.d_optimizer)) \
            if self.needs_scaling else None  # read before the update changes them
        logs = self.strategy.run(self.step_fn, args=(batch,))
        if not isinstance(logs, dict) or not logs:
            self._step_problem(f"the train step returned {type(logs).__name__}, not a dict of losses: end it "
                               "with return {'d_loss': d_loss, 'g_loss': g_loss}")
        logs = {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in logs.items()}
        if scales is not None:
            logs = unscale_logs(logs, scales)
        if self.ema_generator is not None:
            update_ema(self.ema_generator, self.generator, self.step, self.preset.ema)
        self.step.assign_add(1)
        return logs

    def _steps_on_iterator(self, iterator, k: tf.Tensor) -> tf.Tensor:
        """k train steps on k batches from `iterator`; returns their logs, shape (k, len(log_keys)).

        The loop is a `tf.while_loop` over a tensor k, so that every chunk size shares one trace (TPU
        guide: "multiple steps within tf.function"). The first step is taken before the loop, which is
        where the logs' names are learnt.
        """
        def step() -> tf.Tensor:
            logs = self.train_step(next(iterator))
            self.log_keys = list(logs)  # a Python side effect, at trace time only
            for key, value in logs.items():
                if tf.convert_to_tensor(value).shape.rank:
                    self._step_problem(f"the train step's log '{key}' has shape {tuple(value.shape)}: log "
                                       "scalars (e.g. tf.reduce_mean of it)")
            return tf.stack([tf.cast(logs[key], tf.float32) for key in self.log_keys])

        first = step()
        rows = tf.TensorArray(tf.float32, size=k, element_shape=first.shape).write(0, first)
        for i in tf.range(1, k):
            rows = rows.write(i, step())
        return rows.stack()

    def _step_problem(self, message: str):
        """Raised while the step is traced; `run_steps` turns it back into one line (tf.function would
        wrap it in a traceback of its own)."""
        self._traced_problem = message
        raise TfganError(message)

    def run_steps(self, iterator, k: int) -> np.ndarray:
        """k steps in one compiled call; their logs as an array (k, len(log_keys)), in one transfer."""
        self._traced_problem = None
        try:
            return self.train_steps(iterator, tf.constant(k, tf.int32)).numpy()
        except Exception:
            if self._traced_problem:
                raise TfganError(self._traced_problem) from None
            raise

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

    # --- frames, checkpoints, history -----------------------------------------------------------

    def save_frame(self) -> Path:
        """Draw the fixed noise's samples now; encode and write the PNG on a helper thread.

        The PNG costs ~10 ms, several GPU steps: written beside the next steps, not between them.
        `wait_for_frames` (called before every checkpoint and at the end) makes sure it is on disk.
        """
        step = int(self.step)
        # Kept for the callbacks of this step (the health check), so the samples are drawn once.
        self.frame_samples = self.generate()
        path = frames.frame_path(self.run_dir / "frames", step)
        if self.points:  # 2-D toy data: the samples over the real points, D's field behind them
            draw = self._toy_drawing(self.frame_samples, step)
            self._frame_writes.append(self._frame_writer.submit(
                lambda: atomic_write_bytes(path, png_bytes(draw(), compress_level=1))))
            return path
        self._frame_writes.append(self._frame_writer.submit(
            save_grid, self.frame_samples, path, scale=frames.frame_scale(self.generator.output_shape[1]),
            compress_level=1))
        return path

    def _toy_drawing(self, samples: np.ndarray, step: int) -> Callable[[], np.ndarray]:
        """A toy frame to draw (on the helper thread): D's field is read now, while D is as it was."""
        from tfgan.media import toy_frames

        name, real = self.toy_dataset, self._frame_real
        field = np.asarray(self.discriminator(toy_frames.field_grid(name), training=False), np.float32)
        return lambda: toy_frames.draw_points(samples, name, real, field, f"step {step}")

    def frame_size(self) -> int:
        """Bytes of one progress frame, drawn and encoded (not written) from the models now."""
        samples = self.generate()
        picture = self._toy_drawing(samples, int(self.step))() if self.points else \
            grid(samples, scale=frames.frame_scale(self.generator.output_shape[1]))
        return len(png_bytes(picture, compress_level=1))

    def space_needed(self, steps: int, max_to_keep: int | None = None, frame_bytes: int | None = None
                     ) -> disk.SpaceNeeded:
        """What training on to `steps` will still write: checkpoints sized from the variables they hold,
        frames from one drawn now (or `frame_bytes` each), the GIF and the history (keeping `max_to_keep`
        checkpoints, default the run's own)."""
        return disk.space_needed(
            self.checkpoint.size_bytes(), max_to_keep or self.checkpoint.max_to_keep, self.checkpoint.keep_every,
            # Before the step is traced its logs are unknown: the library step's 6 values at least.
            int(self.step), steps, self.preset.sample_every, frame_bytes or self.frame_size(),
            max(len(self.log_keys), 6) + 3,
            checkpoints_held=[disk.frees_space(path) for path in self.checkpoint.paths()],
            frames_held=len(frames.list_frames(self.run_dir / "frames")),
            callbacks_bytes=sum(callback.disk_bytes(self) for callback in self.callbacks if hasattr(callback, "disk_bytes")))

    def wait_for_frames(self) -> None:
        """Block until every frame is written; a failed write (a full disk) raises here."""
        writes, self._frame_writes = self._frame_writes, []
        for write in writes:
            write.result()

    def save_checkpoint(self) -> None:
        step = int(self.step)
        if step == self.saved_step:
            return
        start = time.perf_counter()
        self.wait_for_frames()  # a checkpoint never lists a step whose frame is missing
        # History first: rows past the checkpoint are dropped on resume, missing rows would stay missing.
        self.write_history()
        variables = self.generator.weights + self.discriminator.weights  # BatchNorm statistics included
        if not bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in variables])):  # one sync
            raise NonFiniteLoss(self._non_finite_message("the weights", step))
        self.checkpoint.save(step)
        self.saved_step = step
        self._saves_this_fit, self._last_save = self._saves_this_fit + 1, time.monotonic()
        self.checkpoint_seconds += time.perf_counter() - start

    def checkpoint_due(self) -> bool:
        """Is a checkpoint due by time? The first of this fit() after FIRST_CHECKPOINT_SECS, then every
        checkpoint_secs, however fast or slow a step is."""
        if not self.checkpoint_secs:
            return False
        wait = min(self.checkpoint_secs, FIRST_CHECKPOINT_SECS) if not self._saves_this_fit else self.checkpoint_secs
        return time.monotonic() - self._last_save >= wait

    def _non_finite_message(self, what: str, step: int) -> str:
        kept = f"step {self.saved_step}" if self.saved_step >= 0 else "none saved yet"
        return (f"{what} became non-finite at step {step}; training stopped without saving, so the last "
                f"good checkpoint ({kept}) is intact. Lower the learning rates (--g-lr / --d-lr) and "
                "re-run to resume")

    def restore(self) -> int | None:
        """Resume from the latest checkpoint; returns its step, or None when starting fresh."""
        for leftover in [*self.run_dir.glob(".*.tmp"), *(self.run_dir / "frames").glob(".*.tmp")]:
            leftover.unlink(missing_ok=True)  # half-written files of a killed run (runs.files.atomic_write_bytes)
        restored = self.checkpoint.restore()
        step = int(self.step) if restored else 0
        # Frames drawn after the checkpoint came from weights that are gone: drop them (all of them
        # when there is no checkpoint: fit draws the untrained generator's frame again).
        self._drop_frames_after(step if restored else -1)
        if not restored:
            return None
        self.checkpoint.drop_kept_after(step)
        self.saved_step = step
        self.history = [row for row in history.read_history(self.run_dir) if row["step"] <= step]
        # The learning rates are optimizer variables, so the checkpoint brought back the old ones: use
        # this run's, so that re-running with a lower --g-lr / --d-lr takes effect.
        self.g_optimizer.learning_rate = self.preset.g_lr
        self.d_optimizer.learning_rate = self.preset.d_lr
        return step

    def _check_space(self, planned: int, say: Callable[[str], None]) -> None:
        """Refuse to start when the disk cannot take what the next preset-length of steps will write
        (the checkpoints, most of all); a longer run whose frames would fill the disk only later is told
        so, and stops cleanly when it does (a run of 10**9 steps is one to be stopped by hand)."""
        horizon = min(planned, int(self.step) + self.preset.steps)
        frame = self.frame_size()  # drawn once for the three reckonings
        one = None if self.checkpoint.max_to_keep == 1 else self.space_needed(horizon, 1, frame)
        say(disk.check_space(self.run_dir, self.space_needed(horizon, frame_bytes=frame), one))
        whole = self.space_needed(planned, frame_bytes=frame) if horizon < planned else None
        if whole is not None and whole.total > shutil.disk_usage(self.run_dir).free:
            say(f"disk: all {planned:,} steps would need {whole.describe()}, more than is free: the run will "
                "stop at its newest checkpoint when the disk fills")

    def _drop_frames_after(self, step: int) -> None:
        for frame_step, path in frames.list_frames(self.run_dir / "frames"):
            if frame_step > step:
                path.unlink(missing_ok=True)

    def _disk_filled(self, error: BaseException) -> disk.DiskFull:
        """The disk filled up: undo every write past the newest checkpoint that restores (so the folder
        is as that save left it, and holds no half-written file), and say what the run holds and what
        can go. The networks and counters go back to that checkpoint too, for a fit() called again."""
        writes, self._frame_writes = self._frame_writes, []
        for write in writes:
            write.exception()  # wait for it; its error is this one's
        self.checkpoint.clean_failed_save()
        ckpt_lib.remove_partial(self.run_dir / "best")  # --eval-every's best generator
        step = self.restore()  # also drops the frames, kept checkpoints and history rows past it
        if step is None:
            step = -1
            (self.run_dir / "history.csv").unlink(missing_ok=True)
        else:  # cut in place: a rewrite would need room. The rows up to the step come first.
            truncate_lines(self.run_dir / "history.csv", 1 + len(self.history))
        return disk.DiskFull(disk.full_message(self.run_dir, step, error, self.checkpoint.paths()))

    def write_history(self) -> None:
        write_history(self.run_dir, self.history)

    def finish_media(self) -> Path | None:
        """Loss plot and progress GIF from everything saved so far."""
        self.wait_for_frames()
        history.plot_history(self.history, self.run_dir / "losses.png", band=self.band)
        if frames.list_frames(self.run_dir / "frames"):
            return animation.make_gif(self.run_dir / "frames", self.run_dir / "progress.gif")
        return None

    # --- the loop ---------------------------------------------------------------------------------

    def fit(self, images: np.ndarray, steps: int, labels: np.ndarray | None = None,
            progress: bool = True, max_seconds: float | None = None,
            stop_requests: StopRequests | None = None, train_step: Callable[..., dict] | None = None) -> FitResult:
        """Train until the step counter reaches `steps` (a total, so re-running resumes).

        A conditional GAN needs `labels` (one int per image); an unconditional one ignores them.
        `max_seconds` also ends training, at the end of the chunk that passes it (comparing two GANs
        at equal wall time, or a 10-minute recipe); the end is a normal one: checkpoint, GIF, history.
        `stop_requests`: signal handling already set up by the caller (the CLI, from before the data
        loaded); a stop it caught before fit() began saves at once. Default: fit() sets up its own.
        `train_step`: a train step of your own (see the class docstring), used from now on.
        Before the first step, the disk must hold what the run will write (`space_needed`); a disk that
        fills up later stops the run at its newest complete checkpoint, with nothing half-written.
        """
        try:
            return self._fit(images, steps, labels, progress, max_seconds, stop_requests, train_step)
        except BaseException as error:
            if isinstance(error, disk.DiskFull) or not disk.is_disk_full(error, self.run_dir):
                raise
            raise self._disk_filled(error) from error

    def _fit(self, images: np.ndarray, steps: int, labels: np.ndarray | None, progress: bool,
             max_seconds: float | None, stop_requests: StopRequests | None, train_step) -> FitResult:
        from tqdm.auto import tqdm

        if train_step is not None:
            self.use_train_step(train_step)
        fit_start, checkpoint_seconds_before = time.perf_counter(), self.checkpoint_seconds
        # With a time limit the last step is unknown: the space is reckoned for the preset's length more.
        planned = steps if max_seconds is None else min(steps, int(self.step) + self.preset.steps)
        iterator, per_epoch = self._start_data(images, labels, steps, planned, say=print if progress else None)
        # With a time limit the last step is unknown: the bar counts steps and their rate, with no total.
        bar = tqdm(total=steps if max_seconds is None else None, initial=min(int(self.step), steps), unit="step",
                   disable=not progress, dynamic_ncols=True, smoothing=0.1)
        self.stop_training = False
        # Every worker of a multi-worker job must make the same calls: a fixed chunk, not a clocked one.
        multiworker = preemption.uses_handler(self.strategy)
        chunk = ChunkSizer(self.steps_per_call or (1 if multiworker else None))
        self._saves_this_fit, self._last_save = 0, time.monotonic()
        if stop_requests is not None:
            stop_requests.raise_now = False  # from here a signal stops at the next chunk's end, and saves
        interrupted = preempted = False
        with StopRequests(echo=tqdm.write) if stop_requests is None else contextlib.nullcontext(stop_requests) \
                as stop:
            # Multi-worker: TensorFlow's handler takes SIGTERM over, so that all workers save at one step.
            handler = preemption.make_handler(self.strategy, self.checkpoint.manager, self.save_checkpoint) \
                if multiworker else None
            deadline = None if max_seconds is None else fit_start + max_seconds
            try:
                self._train_chunks(iterator, steps, per_epoch, chunk, bar, stop, handler, deadline)
            except KeyboardInterrupt:  # raised by a callback, or Ctrl-C outside the main thread
                interrupted = True
            except preemption.Preempted:
                interrupted = preempted = True
            except NonFiniteLoss:
                self.write_history()
                self.wait_for_frames()
                raise
            finally:
                bar.close()
            interrupted = interrupted or stop.requested
            if interrupted:
                how = (" by SIGTERM: preempted, every worker saved at this step" if preempted else
                       f" by {stop.name}" if stop.requested else "")
                print(f"\nstopped at step {int(self.step)}{how}: saving a checkpoint and the GIF so far")
            gif = self._save_the_end()
        return FitResult(int(self.step), int(self.epoch), interrupted, gif, self.history,
                         signal=stop.name or ("SIGTERM" if preempted else "SIGINT" if interrupted else ""),
                         seconds=time.perf_counter() - fit_start,
                         checkpoint_seconds=self.checkpoint_seconds - checkpoint_seconds_before)

    def _start_data(self, images: np.ndarray, labels: np.ndarray | None, steps: int, planned: int,
                    say: Callable[[str], None] | None = None):
        """The endless batch iterator, started where the run stands, and the steps in an epoch; but first
        the disk is checked for what training on to step `planned` will write."""
        p = self.preset
        if self.conditional and labels is None:
            raise TfganError("a conditional GAN trains on labelled images: pass labels=images.labels")
        labels = labels if self.conditional else None
        self.anneal_steps.assign(float(steps))
        (self.run_dir / "frames").mkdir(parents=True, exist_ok=True)
        if self.points:
            from tfgan.data import toy

            self.toy_dataset, self._frame_real = toy.identify(images), np.asarray(images[:1500])
        if int(self.step) < planned:  # a run trained to the end has nothing to write but its GIF
            self._check_space(planned, say or (lambda line: None))
        # (0 when the data is smaller than a batch: batches() below says so in words)
        per_epoch = max(1, data_lib.steps_per_epoch(len(images), p.batch_size, p.d_steps))
        if not frames.list_frames(self.run_dir / "frames"):
            self.save_frame()  # the untrained generator: the GIF's first frame
        # Where the data stream starts: the epoch in progress, minus the batches it has already used.
        skip = max(0, int(self.step) - int(self.epoch) * per_epoch)
        self.epoch.assign_add(skip // per_epoch)  # a checkpoint from the last step of an epoch
        skip %= per_epoch
        batches = data_lib.batches(images, p.batch_size, self.seed, int(self.epoch), skip, p.d_steps, labels,
                                   epochs=None)
        if self.replicas > 1:  # each replica gets its slice of every global batch
            batches = self.strategy.experimental_distribute_dataset(batches)
        return iter(batches), per_epoch

    def _train_chunks(self, iterator, steps: int, per_epoch: int, chunk: ChunkSizer, bar, stop, handler,
                      deadline: float | None) -> None:
        """Chunks of compiled steps until `steps`, a stop request, a callback's stop or the deadline."""
        p = self.preset
        step, epoch, last = int(self.step), int(self.epoch), time.perf_counter()
        while step < steps and not (self.stop_training or stop.requested):
            k = min(chunk.size, self._steps_to_next_event(step, steps))
            start = time.perf_counter()
            rows = self.run_steps(iterator, k)
            now = time.perf_counter()
            chunk.observe(k, now - start)
            # The rate as the loop delivers it: frames, checkpoints and callbacks included.
            rate = p.batch_size * p.d_steps * k / max(now - last, 1e-9)
            last = now
            logs = []
            for row in rows.tolist():
                step += 1
                logs.append({"step": step, "epoch": epoch, **dict(zip(self.log_keys, row)), "images/s": rate})
                if step == (epoch + 1) * per_epoch:  # counted before any save: a checkpoint says where to go on
                    epoch += 1
            self.epoch.assign(epoch)
            self._record(logs)
            self._after_chunk(step, logs)
            if handler is not None:
                handler.save_checkpoint_if_preempted()  # raises Preempted once all have saved
            bar.update(k)
            bar.set_postfix({key: f"{logs[-1][key]:.3g}" for key in ("d_loss", "g_loss", "images/s")
                             if key in logs[-1]}, refresh=False)
            if deadline is not None and time.perf_counter() >= deadline:
                break

    def _after_chunk(self, step: int, logs: list[dict]) -> None:
        """What is due at the chunk's last step: a frame, a checkpoint; then the callbacks, row by row."""
        if step % self.preset.sample_every == 0:
            self.save_frame()
        kept = self.checkpoint.keep_every and step % self.checkpoint.keep_every == 0
        if step % self.preset.checkpoint_every == 0 or kept or self.checkpoint_due():
            self.save_checkpoint()
        for row in logs:
            for callback in self.callbacks:
                callback(self, row)

    def _save_the_end(self) -> Path | None:
        """The last frame, the checkpoint, the loss plot and the GIF, however training ended."""
        self.wait_for_frames()
        if not frames.frame_path(self.run_dir / "frames", int(self.step)).exists():
            self.save_frame()
        self.save_checkpoint()
        return self.finish_media()

    def _steps_to_next_event(self, step: int, steps: int) -> int:
        """Steps until the next one at which something needs the networks: a chunk ends there."""
        periods = [self.preset.sample_every, self.preset.checkpoint_every, self.checkpoint.keep_every]
        periods += [getattr(callback, "every", 1) for callback in self.callbacks]
        return min([steps - step] + [period - step % period for period in periods if period > 0])

    def _record(self, logs: list[dict]) -> None:
        """Add a chunk's rows to the history; stop at the first non-finite loss in them."""
        for row in logs:
            self.history.append(row)
            # Gradient norms may overflow under loss scaling (the step is then skipped); NaN weights
            # still never reach a checkpoint: save_checkpoint checks them.
            bad = [k for k, v in row.items() if not math.isfinite(v) and not k.endswith("grad_norm")]
            if bad:
                raise NonFiniteLoss(self._non_finite_message(", ".join(bad), row["step"]))


class ChunkSizer:
    """How many steps to run per compiled call: `fixed`, or enough for about CHUNK_SECONDS of work."""

    def __init__(self, fixed: int | None = None):
        self.fixed = fixed
        self.size = fixed or 1
        self._calls = 0

    def observe(self, steps: int, seconds: float) -> None:
        self._calls += 1
        if self.fixed or self._calls == 1:  # the first call also traced the function
            return
        per_step = max(seconds / steps, 1e-6)
        self.size = int(min(MAX_STEPS_PER_CALL, max(1, CHUNK_SECONDS / per_step)))


# --- history files ----------------------------------------------------------------------------------


def write_history(run_dir: str | os.PathLike, history: Sequence[dict]) -> None:
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_bytes(Path(run_dir) / "history.csv", buf.getvalue().encode())


