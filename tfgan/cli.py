"""`python -m tfgan train|sample|gif`: argument parsing and one-line errors; no training logic."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from tfgan.errors import TfganError
from tfgan.runs.signals import StoppedEarly, StopRequests


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


TRUNCATION_HELP = "the truncation trick: shrink the noise towards 0 by PSI (below 1: cleaner, less varied samples)"


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _natural_int(text: str) -> int:
    return _int_at_least(text, 0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tfgan", description="Train GANs and watch them learn.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = _add_train(sub)
    _add_train_recipe(train)
    _add_train_machinery(train)
    _add_sample(sub)
    _add_eval(sub)
    _add_frames(sub)
    _add_export(sub)
    _add_gif(sub)
    _add_course(sub)
    return parser


def _add_train(sub) -> argparse.ArgumentParser:
    """`train`: the preset, the data, how long, and where the run lives."""
    from tfgan import presets

    train = sub.add_parser(
        "train", help="train a preset (re-run the same command to resume)",
        description="Train a preset; re-run the same command to resume. A run directory keeps config.json, the "
                    "latest --max-checkpoints checkpoints (3; each holds both networks, the weight average and "
                    "both optimizers' state: 47 MB for mnist-dcgan, 15 MB for anime-dcgan) and those of "
                    "--keep-every, a PNG frame every --sample-every steps, history.csv, losses.png and "
                    "progress.gif. Before the first step, training says how much disk space the run needs and "
                    "refuses to start when it is not there.")
    train.add_argument("preset", help=f"one of: {', '.join(presets.PRESETS)}")
    train.add_argument("--dataset", help="mnist, fashion_mnist, anime, faces, FILE.npz, a folder of images, or 2-D "
                                         "toy data for toy-gan: ring8, grid25, spiral")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_positive_int, help="train until this many generator steps")
    length.add_argument("--epochs", type=_positive_int, help="train until this many epochs")
    train.add_argument("--minutes", type=_positive_float,
                       help="stop after this many minutes of training (alone: train that long; with --steps or "
                            "--epochs: whichever comes first); the checkpoint and GIF are written as usual")
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--run-dir", help="where the run keeps everything (default checkpoints/PRESET)")
    train.add_argument("--seed", type=_natural_int, default=0)
    train.add_argument("--fresh", action="store_true", help="discard the run directory's checkpoints")
    train.add_argument("--image-size", type=_positive_int, help="resize image folders to this (64, 96)")
    return train


def _add_train_recipe(train: argparse.ArgumentParser) -> None:
    """`train`: what changes the recipe: loss, learning rates, sizes, regularisation and tricks."""
    train.add_argument("--loss", help="nonsaturating, minimax, lsgan, hinge, wgan-gp, wgan-clip")
    train.add_argument("--g-lr", type=_positive_float)
    train.add_argument("--d-lr", type=_positive_float)
    train.add_argument("--d-steps", type=_positive_int, help="discriminator steps per generator step")
    train.add_argument("--width", type=_positive_int, help="base number of filters")
    train.add_argument("--hidden", type=_natural_int, metavar="UNITS",
                       help="a fully connected hidden layer in G and D (the 28×28 and DCGAN models; 0: none)")
    train.add_argument("--latent-dim", type=_positive_int)
    train.add_argument("--sample-every", type=_positive_int, help="steps between progress frames")
    train.add_argument("--checkpoint-every", type=_positive_int, metavar="N",
                       help="also checkpoint every N steps (default 5000; checkpoints by time do the regular saving)")
    train.add_argument("--label-smoothing", type=float, help="one-sided: real label = 1 - this")
    train.add_argument("--ema", type=float, help="average G's weights with this decay (e.g. 0.999) for samples")
    train.add_argument("--acgan", action="store_true",
                       help="conditional presets: D also classifies the digit (AC-GAN)")
    train.add_argument("--label-flip", type=float, help="noisy labels: flip D's targets with this probability")
    train.add_argument("--instance-noise", type=float,
                       help="σ of Gaussian noise added to D's inputs, annealed to 0 over training")
    train.add_argument("--latent", choices=["gaussian", "sphere", "uniform"], help="how z is drawn")
    train.add_argument("--spectral-norm", action="store_true", help="spectral normalisation in D")
    train.add_argument("--g-dropout", type=float, help="dropout rate in G (the 28×28 and toy models)")
    train.add_argument("--g-upsample", choices=["transpose", "resize"],
                       help="how the 28×28 G doubles its size: transposed convolutions (the default) or "
                            "nearest-neighbour resizing and a convolution (no checkerboard)")
    train.add_argument("--d-dropout", type=float, help="dropout rate in D (the 28×28 models)")
    train.add_argument("--draw-size", type=_natural_int, metavar="PIXELS",
                       help="DCGAN models: G draws and D judges at this smaller size (e.g. 32 for 64×64 images; "
                            "a quarter of the arithmetic); images are scaled up to the image size. 0: full size")
    train.add_argument("--minibatch-std", action="store_true",
                       help="DCGAN models: D also sees how much the batch varies (against mode collapse)")
    train.add_argument("--pack", type=_positive_int, metavar="N",
                       help="DCGAN models: D judges N images at a time, one verdict per pack (PacGAN, against "
                            "mode collapse; the batch size must divide by N). 1: one image per verdict")
    train.add_argument("--init-from", metavar="RUN_DIR|FILE.keras",
                       help="fine-tune: start from another run's networks (its latest checkpoint) or an exported "
                            "generator (D then starts from scratch); optimizers and counters start fresh. A new "
                            "run only: a run with checkpoints resumes from its own")
    train.add_argument("--diffaugment", metavar="POLICY",
                       help="DiffAugment for small datasets: color,translation,cutout (any of them)")


def _precision(args: argparse.Namespace) -> bool | str:
    if args.mixed_precision and args.bfloat16:
        raise TfganError("--mixed-precision (float16) and --bfloat16 exclude each other: choose one")
    return "bfloat16" if args.bfloat16 else args.mixed_precision


def _add_train_machinery(train: argparse.ArgumentParser) -> None:
    """`train`: how it runs: compilation, devices, evaluation, checkpoints, determinism."""
    train.add_argument("--xla", action="store_true", help="compile the train step with XLA")
    train.add_argument("--mixed-precision", action="store_true", help="float16 compute (GPU)")
    train.add_argument("--bfloat16", action="store_true",
                       help="bfloat16 compute: CPUs with bfloat16 instructions (AVX-512 BF16, AMX) and TPUs")
    train.add_argument("--distribute", choices=["mirrored", "multiworker", "tpu"],
                       help="train on all local GPUs (mirrored), several hosts (multiworker, reads "
                            "TF_CONFIG) or a TPU; --batch-size is the global batch")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--eval-every", type=_positive_int,
                       help="score samples every N steps, log them, keep the best checkpoint in RUN_DIR/best")
    train.add_argument("--eval-metric",
                       help="what --eval-every keeps the best by: confident_share (the default for MNIST and "
                            "the procedural faces), fd (for other colour data), kid_mean, combos_covered, ...")
    train.add_argument("--checkpoint-secs", type=float, default=60.0, metavar="S",
                       help="also checkpoint by time: 10 s into training, then every S seconds (default 60; "
                            "0: only every --checkpoint-every steps)")
    train.add_argument("--keep-every", type=_natural_int, default=0, metavar="N",
                       help="also keep the checkpoint of every N-th step for good (default 0: only the latest "
                            "3), so that `frames` can redraw the progress later with new noise or a larger grid")
    train.add_argument("--max-checkpoints", type=_positive_int, default=3, metavar="N",
                       help="keep the latest N checkpoints (default 3); 1 for a small disk, which then needs room "
                            "for 2: a resumed run deletes its older ones")
    train.add_argument("--steps-per-call", type=_positive_int, metavar="K",
                       help="train steps per compiled call (default: automatic, about 0.25 s of work per call)")
    train.add_argument("--deterministic", action="store_true",
                       help="bit-identical results for the same seed, resumed or not (slower ops)")


def _add_sample(sub) -> None:
    """`sample`: images from a run or an exported generator."""
    sample = sub.add_parser("sample", help="draw images from a run's latest checkpoint (or an exported .keras file)")
    sample.add_argument("run_dir", help="a run directory, or a .keras file from `export`")
    sample.add_argument("--num", type=_positive_int, default=64)
    sample.add_argument("--out", required=True, help=".png for a grid, .npy for a float32 array in [-1, 1]")
    sample.add_argument("--seed", type=_natural_int, default=0)
    sample.add_argument("--label", type=int, help="conditional runs (mnist-cgan): draw this class only")
    sample.add_argument("--truncation", type=_positive_float, metavar="PSI",
                        help=TRUNCATION_HELP)


def _add_eval(sub) -> None:
    """`eval`: score a run's samples."""
    evaluate = sub.add_parser("eval", help="score a run's samples (digit or face classifier metrics, "
                                           "Inception KID)")
    evaluate.add_argument("run_dir", nargs="?", help="a run directory, or a .keras file from `export`")
    evaluate.add_argument("--images", metavar="PATH", help="score images made elsewhere instead of a run: a folder "
                                                           "of images, a .npy or an .npz (needs --against)")
    evaluate.add_argument("--against", metavar="DATASET", help="with --images: the real data to compare with "
                                                               "(mnist, faces, ring8, a FILE.npz, a folder...)")
    evaluate.add_argument("--num", type=_positive_int, default=2000, help="samples to score")
    evaluate.add_argument("--seed", type=_natural_int, default=0)
    evaluate.add_argument("--best", action="store_true", help="the best checkpoint kept by --eval-every")
    evaluate.add_argument("--neighbours", type=_positive_int, nargs="?", const=3, default=0, metavar="K",
                          help="memorisation check: how many samples are copies of training images, and a "
                               "picture of samples beside their K nearest training images (default K 3)")


def _add_frames(sub) -> None:
    """`frames`: redraw a run's progress from its checkpoints."""
    frames = sub.add_parser("frames", help="redraw a run's progress frames from its checkpoints, with new noise or "
                                           "a larger grid (train with --keep-every N to keep more checkpoints)")
    frames.add_argument("run_dir")
    frames.add_argument("--num", type=_positive_int, default=64, help="samples per frame (default 64)")
    frames.add_argument("--seed", type=_natural_int, default=0, help="the noise, the same at every step")
    frames.add_argument("--out", help="the frames folder (default RUN_DIR/frames-seedS-nN[-psiPSI])")
    frames.add_argument("--truncation", type=_positive_float, metavar="PSI",
                        help=TRUNCATION_HELP)


def _add_export(sub) -> None:
    """`export`: the generator alone, with a model card."""
    export = sub.add_parser("export", help="the generator alone, as a file that needs no tfgan, with a model card")
    export.add_argument("run_dir")
    export.add_argument("--format", choices=["keras", "savedmodel", "tflite"], default="keras",
                        help="keras: a .keras file (the default); savedmodel: for TF Serving, uint8 images; "
                             "tflite: for phones and browsers")
    export.add_argument("--out", help="default RUN_DIR/export/generator.keras, saved_model or generator.tflite")
    export.add_argument("--best", action="store_true", help="the best checkpoint kept by --eval-every")
    export.add_argument("--num", type=_natural_int, default=2000,
                        help="samples scored for the model card's metrics (0: no metrics)")
    export.add_argument("--seed", type=_natural_int, default=0)
    export.add_argument("--truncation", type=_positive_float, metavar="PSI",
                        help="build the truncation trick into the model: it shrinks its noise by PSI")


def _add_gif(sub) -> None:
    """`gif`: re-export the progress as GIF, WebP or MP4."""
    gif = sub.add_parser("gif", help="re-export a run's progress as GIF, WebP or MP4 from its saved frames "
                                     "(several runs: side by side)")
    gif.add_argument("run_dir", nargs="+", help="a run directory; several put their runs side by side")
    gif.add_argument("--out", help=".gif, .webp or .mp4; default RUN_DIR/progress.gif (required for several runs)")
    gif.add_argument("--titles", help="several runs: their titles, comma-separated (default: the folder names)")
    gif.add_argument("--samples", type=_positive_int, metavar="N", help="keep the first N cells of each frame's grid")
    gif.add_argument("--cells", metavar="LIST", help="keep these cells of each frame's grid, e.g. 0,5,9-12")
    gif.add_argument("--rows", metavar="LIST", help="keep these rows of each frame's grid (a cGAN: digits), e.g. 3,7")
    gif.add_argument("--steps", metavar="A:B", help="only frames from step A to step B (A: or :B for open ends)")
    gif.add_argument("--pace", choices=["linear", "log"], default="linear",
                     help="frames evenly in steps (linear) or in log-steps, so the early changes get screen time")
    gif.add_argument("--duration", type=_positive_float, metavar="SECONDS", help="total length, instead of --fps")
    gif.add_argument("--hold-last", type=float, default=1.5, metavar="SECONDS", help="hold the last frame (default 1.5)")
    gif.add_argument("--caption", default="step {step}",
                     help="caption template: {step}, {epoch}, {minutes}, and metrics logged by --eval-every "
                          "such as {fd} or {confident_share} (default 'step {step}')")
    gif.add_argument("--no-caption", action="store_true")
    gif.add_argument("--align", choices=["step", "time"], default="step",
                     help="several runs: frames at the same step, or at the same wall time")
    gif.add_argument("--max-mb", type=_positive_float, metavar="M",
                     help="fit this size: lower the frame rate, then the frame count, then the scale")
    gif.add_argument("--frames", default="frames", metavar="FOLDER",
                     help="each run's frames folder (default frames; a folder drawn by `frames`, e.g. frames-seed3-n100)")
    gif.add_argument("--fps", type=_positive_float, default=8.0)
    gif.add_argument("--every", type=_positive_int, default=1, help="keep every k-th frame")
    gif.add_argument("--scale", type=_positive_float, default=1.0)


def make_strategy(name: str | None):
    """A tf.distribute strategy by name; None keeps TensorFlow's default (one device)."""
    if name is None:
        return None
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as e:
        raise TfganError(f"no TPU found ({str(e).splitlines()[0][:100]}): in Colab choose a TPU runtime") from e
    return tf.distribute.TPUStrategy(resolver)


def _add_course(sub) -> None:
    course = sub.add_parser("course", help="a course kit: the student notebooks, with the exercises' solutions cut "
                            "out (the committed notebooks are the instructor's)")
    course.add_argument("version", choices=["student"], help="which version to write")
    course.add_argument("out_dir", help="the folder to write the notebooks into")
    course.add_argument("--notebooks", help="the instructor notebooks (default: this clone's notebooks/)")


def cmd_course(args: argparse.Namespace) -> int:
    from tfgan.exercises import course

    written = course.write_student_versions(args.out_dir, args.notebooks)
    for name, count in written.items():
        print(f"{args.out_dir}/{name}: {count} exercise{'s' * (count != 1)} left for the student")
    print(f"{sum(written.values())} exercises in {len(written)} notebooks; each has its check below it, and an "
          "undone one falls back to tfgan's answer")
    return 0


def _init_from(source: str | None):
    """--init-from as start_run's `init`: the other run's weights, checked before anything is written."""
    if source is None:
        return None
    from tfgan import trained

    if not Path(source).exists():
        raise TfganError(f"--init-from {source}: not found; pass a run directory or a .keras file from export")
    return lambda trainer: trained.start_from(trainer, source)


def cmd_train(args: argparse.Namespace) -> int:
    from tfgan import presets, run

    preset = presets.get_preset(args.preset)
    if args.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    if args.loss:
        preset = presets.with_loss(preset, args.loss)
    if args.dataset:
        adapted = presets.for_dataset(preset, args.dataset)
        if adapted != preset:
            print(f"{preset.name} on {args.dataset}: colour images with the DCGAN-style models, at the "
                  "anime-dcgan preset's image size and width unless --image-size / --width say otherwise")
            preset = adapted
    overrides = {
        "batch_size": args.batch_size, "image_size": args.image_size, "g_lr": args.g_lr,
        "d_lr": args.d_lr, "d_steps": args.d_steps, "width": args.width, "hidden": args.hidden,
        "latent_dim": args.latent_dim, "draw_size": args.draw_size,
        "minibatch_std": args.minibatch_std or None, "pack": args.pack,
        "sample_every": args.sample_every, "checkpoint_every": args.checkpoint_every,
    }
    if args.label_smoothing is not None:
        if not 0 <= args.label_smoothing < 1:
            raise TfganError(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
        overrides["real_label"] = 1.0 - args.label_smoothing
    if args.ema is not None:
        if not 0 <= args.ema < 1:
            raise TfganError(f"--ema must be in [0, 1), e.g. 0.999; got {args.ema}")
        overrides["ema"] = args.ema
    for name, value in (("--label-flip", args.label_flip), ("--g-dropout", args.g_dropout),
                        ("--d-dropout", args.d_dropout)):
        if value is not None and not 0 <= value < 1:
            raise TfganError(f"{name} must be in [0, 1), got {value}")
    if args.checkpoint_secs < 0:
        raise TfganError(f"--checkpoint-secs must be 0 (by steps only) or more, got {args.checkpoint_secs:g}")
    if args.instance_noise is not None and args.instance_noise < 0:
        raise TfganError(f"--instance-noise must be 0 or more, got {args.instance_noise}")
    if args.acgan and not preset.num_classes:
        raise TfganError(f"--acgan needs a conditional preset such as mnist-cgan, not {preset.name}")
    if args.diffaugment is not None:
        from tfgan.tricks import augment

        augment.parse_policy(args.diffaugment)  # an unknown name fails here, before any data loads
        overrides["diffaugment"] = args.diffaugment
    overrides.update(label_flip=args.label_flip, instance_noise=args.instance_noise, latent=args.latent,
                     g_dropout=args.g_dropout, g_upsample=args.g_upsample, d_dropout=args.d_dropout,
                     acgan=args.acgan or None,
                     spectral_norm=args.spectral_norm or None)
    preset = preset.replace(**{k: v for k, v in overrides.items() if v is not None})
    with StopRequests() as stop:
        stop.raise_now = True  # nothing to save until the trainer exists: a signal stops at once
        trainer, images = run.start_run(
            preset, args.run_dir, args.dataset, seed=args.seed, fresh=args.fresh,
            jit_compile=args.xla, mixed_precision=_precision(args), strategy=make_strategy(args.distribute),
            steps_per_call=args.steps_per_call, checkpoint_secs=args.checkpoint_secs, keep_every=args.keep_every,
            init=_init_from(args.init_from), max_checkpoints=args.max_checkpoints,
        )
        stop.raise_now = False  # from here a signal finishes the step in progress, then saves
        return _train_on(args, preset, trainer, images, stop)


def _train_on(args: argparse.Namespace, preset, trainer, images, stop: StopRequests) -> int:
    from tfgan import data

    if args.epochs:
        steps = args.epochs * data.steps_per_epoch(len(images.images), preset.batch_size, preset.d_steps)
    elif args.minutes and not args.steps:
        steps = 10**12  # the clock ends the run
    else:
        steps = args.steps or preset.steps
    if int(trainer.step) >= steps:
        print(f"already trained to step {int(trainer.step)} ≥ {steps}: pass a larger --steps to train on")
    if args.eval_every:
        from tfgan.evaluation import evaluate

        trainer.callbacks.append(evaluate.EvalCallback(images, args.eval_every, metric=args.eval_metric,
                                                       seed=args.seed))
    result = trainer.fit(images.images, steps, labels=images.labels, progress=not args.no_progress,
                         max_seconds=args.minutes * 60 if args.minutes else None, stop_requests=stop)
    print(f"step {result.step}: checkpoint in {trainer.run_dir / 'ckpt'} (saving checkpoints took "
          f"{result.checkpoint_seconds:.1f} s of {result.seconds:.0f} s)")
    if result.gif:
        print(f"progress GIF: {result.gif}")
    if result.interrupted:
        import signal

        name = result.signal or "SIGINT"
        print(f"stopped by {name} at step {result.step}; run the same command again to resume")
        return 128 + signal.Signals[name].value  # the shell's convention: 130, 143, 129
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from tfgan import trained
    from tfgan.media import frames
    from tfgan.media import images as pictures
    from tfgan.runs.files import atomic_write_bytes
    from tfgan.samples import is_toy

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise TfganError(f"--out must end in .png (a grid) or .npy (an array), got '{out.name}'")
    generator, config, step = trained.load_generator(args.run_dir)
    classes = config.get("num_classes", 0)
    if args.label is not None and not classes:
        raise TfganError(f"{args.run_dir} is an unconditional GAN ('{config.get('preset')}'): it cannot draw a "
                         "chosen class; drop --label, or train a conditional preset such as mnist-cgan")
    if args.label is not None and not 0 <= args.label < classes:
        raise TfganError(f"--label must be from 0 to {classes - 1}, got {args.label}")
    # A conditional run without --label draws every class in turn.
    images = trained.sample_images(generator, args.num, config["latent_dim"], args.seed, batch_size=256,
                                   labels=args.label, latent_kind=config.get("latent", "gaussian"),
                                   truncation=args.truncation)
    if out.suffix.lower() == ".npy":
        import io

        buf = io.BytesIO()
        np.save(buf, images.astype(np.float32))
        atomic_write_bytes(out, buf.getvalue())
    elif is_toy(images.shape[1:]):  # 2-D toy points: a scatter plot over the real data
        from tfgan.data import toy
        from tfgan.media.toy_frames import draw_points

        name = toy.check_toy_name(config.get("dataset", "ring8"))
        picture = draw_points(images, name, toy.sample_points(name, 2000, config.get("seed", 0)), size=400)
        atomic_write_bytes(out, pictures.png_bytes(picture))
    else:
        pictures.save_grid(images, out, scale=frames.frame_scale(images.shape[1]))
    which = f" of class {args.label}" if args.label is not None else ""
    which += f", truncation ψ {args.truncation:g}" if args.truncation not in (None, 1) else ""
    print(f"{args.num} samples{which} from step {step} -> {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from tfgan.evaluation import evaluate

    if args.images or args.against:
        return _eval_files(args)
    if not args.run_dir:
        raise TfganError("eval needs a run directory (or a .keras file), or --images PATH --against DATASET")
    result = evaluate.evaluate_run(args.run_dir, num=args.num, seed=args.seed, best=args.best,
                                   neighbours=args.neighbours)
    print(f"{args.run_dir} at step {result['step']}:")
    print(evaluate.format_metrics(result))
    for line in result["normal_runs"]:
        print(line)
    if args.neighbours:
        from tfgan.evaluation import neighbours

        print(neighbours.format_copies(result["neighbours"]))
        print(f"samples beside their {args.neighbours} nearest training images -> {result['neighbours_picture']}")
    return 0


def _eval_files(args: argparse.Namespace) -> int:
    from tfgan.evaluation import evaluate, files

    if not (args.images and args.against):
        raise TfganError("--images and --against go together: e.g. eval --images samples/ --against mnist")
    if args.run_dir or args.best or args.neighbours:
        raise TfganError("--images scores files, not a run: drop the run directory, --best and --neighbours")
    result = files.evaluate_files(args.images, args.against, num=args.num, seed=args.seed)
    converted = f", converted {result['converted']}" if result["converted"] else ""
    print(f"{result['scored']:,} samples from {args.images}{converted}, against {result['against']}:")
    print(evaluate.format_metrics(result))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tfgan.artefacts import export

    card = export.export_run(args.run_dir, args.out, args.format, best=args.best, num=args.num, seed=args.seed,
                             truncation=args.truncation)
    info = card["generator"]
    print(f"generator at step {info['step']} ({'weight average' if info['weights'] == 'ema' else 'weights'} of the "
          f"{info['checkpoint']} checkpoint) -> {card['path']}")
    if args.format == "savedmodel":
        print(f"signature: {export.savedmodel_signature(card['path'])}")
    folder = Path(card["path"]).parent
    print(f"model card -> {folder / 'model_card.json'} and {folder / 'README.md'}")
    if args.format == "keras":
        print(f"load it anywhere: {card['load']}")
    return 0


def cmd_frames(args: argparse.Namespace) -> int:
    from tfgan.artefacts import redraw

    result = redraw.redraw_frames(args.run_dir, num=args.num, seed=args.seed, out=args.out,
                                  truncation=args.truncation)
    steps, folder = result["steps"], Path(result["folder"])
    print(f"{len(steps)} frames of {args.num} samples (seed {args.seed}), steps {steps[0]}..{steps[-1]} -> {folder}")
    if not (Path(args.run_dir) / "ckpt" / "kept").is_dir():
        print("notice: only the latest checkpoints were kept; train with --keep-every N to keep every N-th step's")
    if folder.parent.resolve() == Path(args.run_dir).resolve():
        out = Path(args.run_dir) / f"progress-{folder.name.removeprefix('frames-')}.gif"
        print(f"animate them: python -m tfgan gif {args.run_dir} --frames {folder.name} --out {out}")
    return 0


def cmd_gif(args: argparse.Namespace) -> int:
    from tfgan.media import animation

    run_dirs = [Path(d) for d in args.run_dir]
    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise TfganError(f"run directory not found: {run_dir}")
    if len(run_dirs) > 1 and not args.out:
        raise TfganError("several runs make one side-by-side animation: say where with --out FILE.gif")
    out = Path(args.out) if args.out else run_dirs[0] / "progress.gif"
    result = animation.export_progress(
        run_dirs, out, fps=args.fps, duration=args.duration, every=args.every, scale=args.scale, cells=args.cells,
        samples=args.samples, rows=args.rows, steps=args.steps, pace=args.pace, hold_last=args.hold_last,
        caption=None if args.no_caption else args.caption, titles=args.titles.split(",") if args.titles else None,
        align=args.align, max_mb=args.max_mb, frames=args.frames)
    side = f" of {len(run_dirs)} runs side by side" if len(run_dirs) > 1 else ""
    print(f"{result['frames']} frames{side} at {result['fps']:.3g} fps, {result['bytes'] / 2**20:.2f} MB -> {out}"
          + (f" ({result['note']})" if result["note"] else ""))
    return 0


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with stderr silenced: TF 2.2x logs CUDA probes and oneDNN notes from C++
    before TF_CPP_MIN_LOG_LEVEL takes effect, burying the one line that matters. Set
    TF_CPP_MIN_LOG_LEVEL=0 to see them."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _os_error(e: OSError, command: str) -> str:
    where = f" ({e.filename})" if e.filename else ""
    hints = {errno.ENOSPC: "free some disk space", errno.EDQUOT: "free some disk space",
             errno.EROFS: "choose a writable folder", errno.EACCES: "choose a folder you can write to",
             errno.EPERM: "choose a folder you can write to",
             errno.EEXIST: "a file is in the way of a folder", errno.ENOTDIR: "a file is in the way of a folder"}
    text = f"{e.strerror or e}{where}: {hints.get(e.errno, 'check the path')}"
    if command == "train":
        text += "; checkpoints saved so far are intact: re-run the same command to resume"
    return text


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ start-up chatter
    args = build_parser().parse_args(argv)
    try:
        if args.command != "gif":
            _import_tensorflow_quietly()
        commands = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "gif": cmd_gif, "export": cmd_export,
                    "frames": cmd_frames, "course": cmd_course}
        return commands[args.command](args)
    except TfganError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, read-only folder, a file where a folder should be...
        print(f"error: {_os_error(e, args.command)}", file=sys.stderr)
        return 2
    except StoppedEarly as e:
        print(f"\nstopped by {e} before training started: nothing was trained, so nothing needed saving",
              file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
