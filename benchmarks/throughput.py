"""Throughput: the TF tutorial's train step against tfgan's, and tfgan's whole loop against its bare steps.

One process, one run, interleaved rounds, medians: these machines are noisy, so only the ratios mean
much. The reference is the official TensorFlow DCGAN tutorial's `train_step`, written out below as the
tutorial has it; tfgan trains the identical models (`mnist-dcgan-tutorial` preset) with the same batch.

    python benchmarks/throughput.py [--rounds 5] [--steps 100] [--batch-size 128] [--out FILE.md]
    python benchmarks/throughput.py --loop-overhead [--rounds 5] [--steps 600] [--out FILE.md]
    python benchmarks/throughput.py --train-marginal [--rounds 3] [--out FILE.md]

`--loop-overhead` measures the loop's own cost with a model so small (`mnist-dcgan` at width 4, hidden
16, batch 16) that a CPU step takes a few milliseconds, as a real one does on a GPU: the bare compiled
step called from Python, K steps fused into one call (a `tf.while_loop`, and unrolled), and `fit`.

`--train-marginal` measures what a user gets: the `train` command itself (same tiny models, EMA and
DiffAugment off, default frames, checkpoints and bar), its marginal cost per step (a 4,500-step run
minus a 500-step run, so that start-up cancels), against the TF tutorial's plain step on the same
models (two tapes, two `apply_gradients`, one `tf.function` called from a Python loop, nothing read
back).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from tfgan import data, models, presets, run
from tfgan.assets import MNIST_SUBSET


# --- the reference: the TensorFlow DCGAN tutorial's training step, verbatim in substance -----------
def make_reference(batch_size: int, noise_dim: int = 100, generator=None, discriminator=None):
    generator = generator or models.tutorial_generator(noise_dim)
    discriminator = discriminator or models.tutorial_discriminator()
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    generator_optimizer = keras.optimizers.Adam(1e-4)
    discriminator_optimizer = keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, noise_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step, generator, discriminator


# --- FLOPs, counted from the layers ---------------------------------------------------------------
def forward_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one forward pass for one image (Dense, Conv2D, Conv2DTranspose)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            # every input pixel scatters a k×k×out patch
            h, w = layer.input.shape[1:3]
            total += h * w * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):
            h, w = layer.output.shape[1:3]
            total += h * w * int(np.prod(layer.kernel.shape))
    return total


def step_flops(generator, discriminator) -> float:
    """FLOPs of one joint step per image: G forward + backward (×3), D on real (×3: forward and two
    backward products) and on fakes (×4: the generator's gradient also flows back through D)."""
    g, d = forward_macs(generator), forward_macs(discriminator)
    return 2.0 * (3 * g + 3 * d + 4 * d)


def cpu_peak_gflops() -> tuple[float, str]:
    """2 FMA units × 8 float32 lanes (AVX2) × 2 FLOPs per FMA × clock × cores."""
    mhz = 0.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    mhz = float(line.split(":")[1])
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    peak = 2 * 8 * 2 * mhz / 1000 * cores
    return peak, f"{cores} cores × {mhz / 1000:.2f} GHz × 32 FLOP/cycle (AVX2 FMA)"


def timed(fn, batches, steps: int) -> float:
    """Seconds per step over `steps` calls, synchronised by reading a result."""
    start = time.perf_counter()
    out = None
    for i in range(steps):
        out = fn(batches[i % len(batches)])
    float(tf.nest.flatten(out)[0])
    return (time.perf_counter() - start) / steps


def unrolled_steps(trainer, k: int):
    """K steps unrolled in one tf.function (one trace per K): the alternative to the while loop."""

    @tf.function
    def steps(iterator):
        return [trainer.train_step(next(iterator)) for _ in range(k)]

    return steps


def loop_overhead(args) -> str:
    images = data.load_npz(MNIST_SUBSET).images
    preset = presets.get_preset("mnist-dcgan").replace(width=4, hidden=16, batch_size=16)
    n = args.steps
    trainer, _ = run.start_run(preset, tempfile.mkdtemp(prefix="tfgan-loop-"),
                               images=data.Images(images, None, "bench"), verbose=False)
    batches = [b for b in data.batches(images, preset.batch_size, seed=0, epoch=0)][:32]
    iterator = iter(data.batches(images, preset.batch_size, seed=0, epoch=0, epochs=None))
    ks = (10, 50)
    trainer.finish_media = lambda: None  # the GIF of the whole run, made once at its end
    unrolled = {k: unrolled_steps(trainer, k) for k in ks}

    def bare():
        for i in range(n):
            trainer.train_step(batches[i % len(batches)])
        float(trainer.step)  # wait for the last step

    def bare_read():
        for i in range(n):
            {key: float(v) for key, v in trainer.train_step(batches[i % len(batches)]).items()}

    def fused(k):
        def go():
            for _ in range(n // k):
                trainer.train_steps(iterator, tf.constant(k, tf.int32)).numpy()
        return go

    def fused_unrolled(k):
        def go():
            for _ in range(n // k):
                [{key: float(v) for key, v in logs.items()} for logs in unrolled[k](iterator)]
        return go

    last_step_at = []

    def on_step(_trainer, logs):
        last_step_at.append(time.perf_counter())

    on_step.every = 0  # reads the clock only: chunks need not end for it
    trainer.callbacks.append(on_step)

    def fit(k):
        def go():
            trainer.steps_per_call = k
            trainer.fit(images, int(trainer.step) + n, progress=True)
            return last_step_at[-1]  # the checkpoint, plot and GIF after the last step come once per run
        return go

    cases = {"bare step, outputs not read": bare, "bare step, logs read every step": bare_read,
             **{f"{k} steps per call (tf.while_loop)": fused(k) for k in ks},
             **{f"{k} steps per call (unrolled)": fused_unrolled(k) for k in ks},
             "fit, one step per call": fit(1), "fit, automatic steps per call": fit(None)}
    for fn in cases.values():  # trace and warm up
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(args.rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            end = fn() or time.perf_counter()
            times[name].append((end - start) / n)
        print(f"round {r + 1}: " + ", ".join(f"{name} {1e3 * t[-1]:.2f} ms" for name, t in times.items()),
              flush=True)
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    best = min(v for name, v in ms.items() if not name.startswith("fit"))
    lines = [f"### Loop overhead, {time.strftime('%Y-%m-%d')}", "",
             (f"`mnist-dcgan` at width 4, hidden 16, batch 16; {args.rounds} interleaved rounds of {n} steps, "
             f"medians; fit draws a frame every {preset.sample_every} steps and checkpoints every "
             f"{preset.checkpoint_every} (timed to its last step: the save, plot and GIF after it come once per run)."), "",
             "| what | ms / step | vs the best bare or fused |", "|---|---|---|"]
    lines += [f"| {name} | {v:.2f} | {best / v:.2f}× |" for name, v in ms.items()]
    return "\n".join(lines)


TINY_CLI = ["mnist-dcgan", "--width", "4", "--hidden", "16", "--batch-size", "16", "--ema", "0",
            "--diffaugment", ""]


def train_command_seconds(steps: int) -> float:
    """Wall time of `python -m tfgan train` with the tiny models for `steps` steps, in a fresh run dir."""
    import subprocess
    import sys

    with tempfile.TemporaryDirectory(prefix="tfgan-marginal-") as run_dir:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tfgan", "train", *TINY_CLI, "--steps", str(steps),
                        "--run-dir", run_dir], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        return time.perf_counter() - start


def train_marginal(args) -> str:
    preset = presets.get_preset("mnist-dcgan").replace(width=4, hidden=16, batch_size=16, ema=0.0, diffaugment="")
    images = data.load_npz(MNIST_SUBSET).images
    batches = [b for b in data.batches(images, preset.batch_size, seed=0, epoch=0)][:32]
    generator, discriminator = run.build_models(preset, (28, 28, 1))
    ref_step, _, _ = make_reference(preset.batch_size, preset.latent_dim, generator, discriminator)
    n = 4000
    timed(ref_step, batches, 50)  # trace and warm up
    ref, cli = [], []
    for r in range(args.rounds):
        ref.append(timed(ref_step, batches, n))
        cli.append((train_command_seconds(4500) - train_command_seconds(500)) / n)
        print(f"round {r + 1}: tutorial step {1e3 * ref[-1]:.2f} ms, train command {1e3 * cli[-1]:.2f} ms "
              f"per marginal step", flush=True)
    ref_ms, cli_ms = 1e3 * statistics.median(ref), 1e3 * statistics.median(cli)
    return "\n".join([
        f"### The train command against the tutorial's plain step, {time.strftime('%Y-%m-%d')}", "",
        (f"`python -m tfgan train {' '.join(a or repr(a) for a in TINY_CLI)}`: (4,500-step run - 500-step run) / "
        f"4,000, against the TF tutorial's step on the same models from a Python loop; {args.rounds} interleaved "
        "rounds, medians."), "",
        "| what | ms / step | tutorial step / this |", "|---|---|---|",
        f"| TF tutorial step, Python loop, nothing read back | {ref_ms:.2f} | 1.00× |",
        f"| `train` command, marginal per step | {cli_ms:.2f} | {ref_ms / cli_ms:.2f}× |"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100, help="steps per timed round")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", help="append a Markdown table here")
    parser.add_argument("--loop-overhead", action="store_true", help="the loop-overhead section only")
    parser.add_argument("--train-marginal", action="store_true",
                        help="the train command's marginal cost per step against the tutorial's step")
    args = parser.parse_args()
    if args.train_marginal or args.loop_overhead:
        report = train_marginal(args) if args.train_marginal else loop_overhead(args)
        print(report)
        if args.out:
            with open(args.out, "a") as f:
                f.write(report + "\n\n")
        return
    bs = args.batch_size

    images = data.load_npz(MNIST_SUBSET).images
    batches = [b for b in data.batches(images, bs, seed=0, epoch=0)][:8]

    keras.utils.set_random_seed(0)
    ref_step, ref_g, ref_d = make_reference(bs)
    preset = presets.get_preset("mnist-dcgan-tutorial").replace(batch_size=bs)
    run_dir = tempfile.mkdtemp(prefix="tfgan-bench-")
    trainer, _ = run.start_run(preset, run_dir, images=data.Images(images, None, "bench"), verbose=False)
    assert trainer.generator.count_params() == ref_g.count_params()
    assert trainer.discriminator.count_params() == ref_d.count_params()

    for fn in (ref_step, trainer.train_step):  # trace and warm up
        timed(fn, batches, 3)

    ref_times, step_times, loop_times = [], [], []
    for r in range(args.rounds):
        ref_times.append(timed(ref_step, batches, args.steps))
        step_times.append(timed(trainer.train_step, batches, args.steps))
        # The whole loop: data pipeline, progress bar, history, and frames and checkpoints at the
        # preset's own intervals. The rounds continue one run, so that overhead lands where it would.
        start_step = int(trainer.step)
        step_ends: list[float] = []
        def record(_trainer, _logs, ends=step_ends):
            ends.append(time.perf_counter())

        record.every = 0  # reads the clock only: the loop need not end its chunks for it
        trainer.callbacks = [record]
        t0 = time.perf_counter()
        trainer.fit(images, start_step + args.steps, progress=True)
        # Timed to the end of the last step: the GIF and loss plot that fit writes when it returns
        # happen once per run, not once per step.
        loop_times.append((step_ends[-1] - t0) / args.steps)
        print(f"round {r + 1}: reference {bs / ref_times[-1]:.0f} img/s, tfgan step "
              f"{bs / step_times[-1]:.0f} img/s, tfgan loop {bs / loop_times[-1]:.0f} img/s")

    ref, step = statistics.median(ref_times), statistics.median(step_times)
    loop = statistics.mean(loop_times)  # a mean: frames and checkpoints fall in some rounds only
    flops = step_flops(ref_g, ref_d) * bs
    peak, peak_how = cpu_peak_gflops()
    rows = [
        ("TF tutorial train_step (reference)", bs / ref, 1.0, flops / ref / 1e9),
        ("tfgan train_step, same models", bs / step, ref / step, flops / step / 1e9),
        ("tfgan whole loop (fit)", bs / loop, ref / loop, flops / loop / 1e9),
    ]
    lines = [
        f"### Throughput, {time.strftime('%Y-%m-%d')}, {platform.node() or 'this machine'}",
        "",
        (f"TensorFlow {tf.__version__}, Keras {keras.__version__}, batch {bs}, {args.rounds} interleaved "
         f"rounds of {args.steps} steps, medians. Peak: {peak:.0f} GFLOP/s ({peak_how}). "
         f"{flops / bs / 1e6:.0f} MFLOP per image per step."),
        "",
        "| what | img/s | vs reference | GFLOP/s | % of peak |",
        "|---|---|---|---|---|",
    ]
    for name, ips, ratio, gflops in rows:
        lines.append(f"| {name} | {ips:.0f} | {ratio:.2f}× | {gflops:.1f} | {100 * gflops / peak:.0f}% |")
    lines.append("")
    lines.append(f"whole loop / bare tfgan steps: {step / loop:.3f}×")
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "a") as f:
            f.write(report + "\n\n")


if __name__ == "__main__":
    main()
