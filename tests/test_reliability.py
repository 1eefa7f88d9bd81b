"""What goes wrong for learners: kills, Ctrl-C, wrong folders, bad data, NaN, full disks, sick training.

Subprocess tests run the real command line (`python -m tfgan`, or a small driver that slows it down or
stops it in the middle of a write, so that a kill lands where it should). Comparisons of whole runs
use --deterministic in the subprocesses, so op determinism never leaks into the other tests.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan import cli, presets, run, trained
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.media import animation
from tfgan.media import images as pictures
from tfgan.media.frames import frame_path, list_frames
from tfgan.media.history import read_history
from tfgan.runs import health
from tfgan.runs.files import atomic_write_bytes
from tfgan.train import NonFiniteLoss

pytestmark = pytest.mark.slow  # signals, kills, full disks: real training runs and subprocesses

ROOT = Path(__file__).resolve().parents[1]
STEPS = 48  # 3 epochs of the 256-image set at batch 16
TINY_PRESET = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                                 sample_every=5, checkpoint_every=5)

# Imports tfgan's command line, optionally slowed down (SLOW seconds a step) or frozen in the middle of
# the HANG-th write of a checkpoint, frame or GIF (after touching MARK), and runs it.
DRIVER = '''
import os, sys, time
from pathlib import Path
from tfgan import cli, run, train
from tfgan.media import animation, images
from tfgan.runs import checkpoint, files

slow, hang, mark = float(os.environ.get("SLOW", 0)), os.environ.get("HANG", ""), os.environ.get("MARK")
count = {"n": 0}

def frozen():
    Path(mark).touch()
    time.sleep(600)

def due(kind):
    if hang.split(":")[0] != kind:
        return False
    count["n"] += 1
    return count["n"] == int(hang.split(":")[1])

start_run = run.start_run
def slow_start_run(*args, **kwargs):
    trainer, images = start_run(*args, **kwargs)
    if slow:
        trainer.callbacks.append(lambda trainer, logs: time.sleep(slow))
    return trainer, images
run.start_run = slow_start_run

write = files.atomic_write_bytes
def half_write(path, data):
    path = Path(path)
    if due("gif" if path.suffix == ".gif" else "frame" if path.parent.name == "frames" else "other"):
        (path.parent / f".{path.name}.killed.tmp").write_bytes(data[: len(data) // 2])
        frozen()
    return write(path, data)
for writer in (images, animation, train):  # where frames, GIFs and the history are written
    writer.atomic_write_bytes = half_write

save = checkpoint.RunCheckpoint.save
def half_save(self, step):
    if due("ckpt"):
        prefix = self.directory / f"ckpt-{step}"
        self.checkpoint.write(str(prefix))  # the files, but not yet in the `checkpoint` state file
        data = Path(f"{prefix}.data-00000-of-00001")
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
        (self.directory / f"ckpt-{step}_temp").mkdir(exist_ok=True)
        frozen()
    return save(self, step)
checkpoint.RunCheckpoint.save = half_save

sys.exit(cli.main(sys.argv[1:]))
'''


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
            **{k: str(v) for k, v in extra.items()}}


def tfgan(*args, timeout=300, cwd=None, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfgan", *map(str, args)], capture_output=True, text=True,
                          check=False, env=_env(**env), timeout=timeout, cwd=cwd)


def start(driver: Path, *args, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(driver), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(**env))


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"never happened; output: {process.communicate()[0]}")
        time.sleep(0.01)


def sigkill(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate()
    assert process.returncode == -signal.SIGKILL
    return out


def latest_step(run_dir: Path) -> int | None:
    """The step of the newest checkpoint the `checkpoint` state file lists (complete saves only)."""
    state = tf.train.get_checkpoint_state(str(run_dir / "ckpt"))
    return int(state.model_checkpoint_path.rsplit("-", 1)[1]) if state else None


def checkpoint_values(run_dir: Path) -> dict[str, np.ndarray]:
    path = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    return {name: tf.train.load_variable(path, name) for name, _ in tf.train.list_variables(path)
            if "save_counter" not in name and "OBJECT_GRAPH" not in name}


def assert_same_values(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, f"{len(differ)} of {len(a)} variables differ, e.g. {differ[:3]}"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- shared runs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory, digits):
    tmp = tmp_path_factory.mktemp("reliability")
    np.savez(tmp / "tiny.npz", x_train=digits[:256])
    (tmp / "driver.py").write_text(DRIVER)
    return tmp


def train_args(work: Path, run_dir: Path, steps: int = STEPS) -> list:
    # D dropout on: a resumed run must also continue its dropout masks where they were.
    return ["train", "mnist-dcgan", "--dataset", work / "tiny.npz", "--batch-size", 16, "--width", 8,
            "--d-dropout", 0.3, "--checkpoint-every", 2, "--sample-every", 2, "--no-progress", "--deterministic",
            "--run-dir", run_dir, "--steps", steps]


@pytest.fixture(scope="module")
def reference(work):
    """STEPS steps in one go: what every interrupted and resumed run must end up with, bit for bit."""
    run_dir = work / "reference"
    result = tfgan(*train_args(work, run_dir))
    assert result.returncode == 0, result.stderr
    return run_dir, checkpoint_values(run_dir)


# --- 1. killed at any moment --------------------------------------------------------------------


def test_sigkill_at_any_moment_resumes_where_the_last_checkpoint_left_off(work, reference, tmp_path):
    run_dir, driver, mark = tmp_path / "run", work / "driver.py", tmp_path / "writing"
    args = train_args(work, run_dir)
    rng = random.Random(0)
    expected = None  # the step the next run must resume from
    resumed = []

    def check_resumed(out: str) -> None:
        if expected is None:
            assert "starting a new run" in out, out
        else:
            assert f"resuming {run_dir} from step {expected} (epoch {expected // 16})" in out, out
            resumed.append(expected)

    # Killed as soon as the first checkpoint is complete, then soon after the next one (kills at random
    # moments of any signal: test_stopped_at_random_moments_by_any_signal_loses_at_most_checkpoint_secs).
    p = start(driver, *args, SLOW=0.05)
    wait_for(lambda: latest_step(run_dir) is not None, p)
    check_resumed(sigkill(p))
    expected = latest_step(run_dir)
    p = start(driver, *args, SLOW=0.05)
    wait_for(lambda done=expected: latest_step(run_dir) > done, p)  # training again: kill soon
    time.sleep(rng.uniform(0, 0.4))
    check_resumed(sigkill(p))
    # Killed while writing a checkpoint, a progress frame and the GIF (half the bytes on disk).
    for hang in ("ckpt:2", "frame:3", "gif:1"):
        expected = latest_step(run_dir)
        mark.unlink(missing_ok=True)
        p = start(driver, *args, HANG=hang, MARK=mark)
        wait_for(mark.exists, p)
        check_resumed(sigkill(p))
    expected = latest_step(run_dir)
    assert expected == STEPS  # the GIF is written after the last checkpoint

    result = tfgan(*args)
    assert result.returncode == 0, result.stderr
    check_resumed(result.stdout)
    assert "already trained to step 48" in result.stdout and "progress GIF" in result.stdout
    print("resumed from steps", resumed)
    assert resumed == sorted(set(resumed)) and len(resumed) == 5  # every kill cost a few steps at most
    # Counters, weights, optimizer moments, noise, dropout seeds: as if nothing had happened.
    assert_same_values(checkpoint_values(run_dir), reference[1])
    assert [s for s, _ in list_frames(run_dir / "frames")] == list(range(0, STEPS + 1, 2))
    assert [row["step"] for row in read_history(run_dir)] == list(range(1, STEPS + 1))
    assert not list(run_dir.rglob("*.tmp")) and not list((run_dir / "ckpt").glob("*_temp"))
    gif = tfgan("gif", run_dir, "--out", tmp_path / "again.gif")
    assert gif.returncode == 0, gif.stderr
    assert animation.gif_frame_count(tmp_path / "again.gif") == STEPS // 2 + 1


def _two_checkpoints(tmp_path, digits):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False)
    trainer.fit(images.images, 10, progress=False)  # checkpoints at 5 and 10
    return trainer, images


@pytest.mark.parametrize("damage", ["truncated data", "truncated index", "missing data", "zeroed data"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, digits, capsys, damage):
    _, images = _two_checkpoints(tmp_path, digits)
    at_5 = run.start_run(TINY_PRESET, tmp_path / "copy", images=images, verbose=False)[0]  # for the weights
    at_5.checkpoint.restore(str(tmp_path / "ckpt" / "ckpt-5"))
    data, index = tmp_path / "ckpt" / "ckpt-10.data-00000-of-00001", tmp_path / "ckpt" / "ckpt-10.index"
    if damage == "truncated data":
        os.truncate(data, data.stat().st_size // 3)
    elif damage == "truncated index":
        os.truncate(index, 100)
    elif damage == "missing data":
        data.unlink()
    else:
        data.write_bytes(b"\0" * data.stat().st_size)
    (tmp_path / ".progress.gif.x1y2.tmp").write_bytes(b"GIF8")  # leftovers of a killed write
    (tmp_path / "ckpt" / "ckpt-12_temp").mkdir()
    (tmp_path / "ckpt" / "ckpt-11.data-00000-of-00001").write_bytes(b"x")  # a merge cut short: no index
    for f in (tmp_path / "ckpt").glob("ckpt-5.*"):  # complete, but not in the state file: kept
        shutil.copyfile(f, f.with_name(f.name.replace("ckpt-5", "ckpt-3")))
    assert trained.load_generator(tmp_path)[2] == 5  # `python -m tfgan sample` falls back too
    capsys.readouterr()

    again, _ = run.start_run(TINY_PRESET, tmp_path, images=images)
    out = capsys.readouterr().out
    assert "notice: skipped damaged checkpoint(s) ckpt-10" in out and "resuming from ckpt-5" in out
    assert f"resuming {tmp_path} from step 5 (epoch 0)" in out
    for a, b in zip(again.generator.weights, at_5.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert [s for s, _ in list_frames(tmp_path / "frames")] == [0, 5]
    assert not (tmp_path / ".progress.gif.x1y2.tmp").exists() and not (tmp_path / "ckpt" / "ckpt-12_temp").exists()
    assert not (tmp_path / "ckpt" / "ckpt-11.data-00000-of-00001").exists()
    assert (tmp_path / "ckpt" / "ckpt-3.index").is_file() and (tmp_path / "ckpt" / "ckpt-3.data-00000-of-00001").is_file()
    assert again.fit(images.images, 12, progress=False).step == 12
    assert latest_step(tmp_path) == 12


def test_every_checkpoint_damaged_is_an_error_not_a_fresh_start(tmp_path, digits):
    _, images = _two_checkpoints(tmp_path, digits)
    for data in (tmp_path / "ckpt").glob("*.data-*"):
        os.truncate(data, 10)
    before = snapshot(tmp_path)
    with pytest.raises(TfganError, match="every checkpoint .* is damaged.*--fresh"):
        run.start_run(TINY_PRESET, tmp_path, images=images, verbose=False)
    assert snapshot(tmp_path) == before


def test_a_lost_checkpoint_state_file_still_resumes(tmp_path, digits):
    _, images = _two_checkpoints(tmp_path, digits)
    (tmp_path / "ckpt" / "checkpoint").write_text("garbage {")
    again, _ = run.start_run(TINY_PRESET, tmp_path, images=images, verbose=False)
    assert int(again.step) == 10


def test_checkpoints_come_by_time_too_the_first_one_early(tmp_path, digits, monkeypatch):
    from tfgan import train

    monkeypatch.setattr(train, "FIRST_CHECKPOINT_SECS", 0.2)
    preset = TINY_PRESET.replace(checkpoint_every=1000, sample_every=1000)
    trainer, images = run.start_run(preset, tmp_path, images=Images(digits[:128], None, "d"), verbose=False,
                                    checkpoint_secs=1.0)
    trainer.fit(images.images, 2, progress=False)  # traced: from here a step takes the callback's 0.1 s
    trainer.callbacks.append(lambda trainer, logs: time.sleep(0.1))
    saved = []
    save = trainer.checkpoint.save
    trainer.checkpoint.save = lambda step: (saved.append((step, time.monotonic())), save(step))[1]
    trainer.fit(images.images, 30, progress=False)
    steps, times = [s for s, _ in saved], [t for _, t in saved]
    assert steps[0] <= 2 + 4  # the early one, 0.2 s in: not after 1 s (10 steps)
    assert len(steps) >= 3 and steps[-1] == 30  # more by time (none is a multiple of 1000), then the end
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times[:-1]))  # then every 1 s, not more often
    assert trainer.checkpoint_seconds > 0
    with pytest.raises(TfganError, match="--checkpoint-secs must be 0"):
        run.start_run(preset, tmp_path / "other", images=images, verbose=False, checkpoint_secs=-1)


def test_a_run_killed_before_its_first_checkpoint_starts_clean(tmp_path, digits):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False)
    for step in (0, 5, 10):  # frames of a killed run, never checkpointed
        pictures.save_grid(trainer.generate(), frame_path(tmp_path / "frames", step))
    again, _ = run.start_run(TINY_PRESET, tmp_path, images=images, verbose=False)
    assert again.restore() is None and not list_frames(tmp_path / "frames")
    again.fit(images.images, 5, progress=False)
    assert [s for s, _ in list_frames(tmp_path / "frames")] == [0, 5]


# --- 2. Ctrl-C -----------------------------------------------------------------------------------


# Each round: a signal, and when it comes after the line that says training starts. All within the
# first 10 s; the first SIGKILL lands after the 2 s checkpoint of a fresh run's first save.
SIGNAL_ROUNDS = [(signal.SIGINT, 0.0, 1.0), (signal.SIGKILL, 0.0, 2.0), (signal.SIGTERM, 1.0, 4.0),
                 (signal.SIGKILL, 2.0, 9.0)]


def test_stopped_at_random_moments_by_any_signal_loses_at_most_checkpoint_secs(work, tmp_path):
    """SIGKILL (a dead Colab runtime), SIGTERM (`kill`, `timeout`, `docker stop`) and SIGINT (Ctrl-C) at
    random moments of the first seconds of training: after each, `sample` and `gif` work, and the next
    run resumes from the newest checkpoint, which is never more than --checkpoint-secs behind."""
    run_dir, secs, slack = tmp_path / "run", 2.0, 2.5  # slack: the chunk in flight, the save, a busy machine
    # --steps 10**12: the bar's total is huge, and the run still only ends by a signal.
    args = ["train", "mnist-dcgan", "--dataset", work / "tiny.npz", "--batch-size", 16, "--width", 8,
            "--checkpoint-every", 10**6, "--checkpoint-secs", secs, "--sample-every", 25, "--run-dir", run_dir,
            "--steps", 10**12]
    rng, expected = random.Random(1), None
    for i, (signum, lo, hi) in enumerate(SIGNAL_ROUNDS):
        p = start(work / "driver.py", *args)
        lines: list[str] = []
        reader = ThreadPoolExecutor(1).submit(lambda p=p, lines=lines: [lines.append(line) for line in p.stdout])
        wait_for(lambda lines=lines: any("a new run" in line or "resuming" in line for line in lines), p)
        started = time.time()
        said = "".join(lines)
        assert ("starting a new run" in said if expected is None else
                f"resuming {run_dir} from step {expected} " in said), said  # where the last round left off
        time.sleep(rng.uniform(lo, hi))
        killed = time.time()
        p.send_signal(signum)
        p.wait(timeout=120)
        reader.result(timeout=30)
        out = "".join(lines)
        assert "Traceback" not in out, out
        newest = latest_step(run_dir)
        if signum == signal.SIGKILL:
            assert p.returncode == -signal.SIGKILL
            # No frame older than --checkpoint-secs (plus slack) is past the newest checkpoint.
            late = [s for s, f in list_frames(run_dir / "frames")
                    if f.stat().st_mtime < killed - secs - slack and s > (newest or 0)]
            assert not late, (late, newest)
            since = max(started, (run_dir / "ckpt" / f"ckpt-{newest}.index").stat().st_mtime if newest else 0)
            assert killed - since <= secs + slack, (i, killed - since)
        else:  # the step in progress finishes, then a checkpoint, the history and the GIF
            assert p.returncode == 128 + signum, out
            assert "stopped at step " in out, out
            step = int(out.split("stopped at step ")[1].split()[0])
            assert f"stopped by {signum.name}" in out and "run the same command again to resume" in out
            assert newest == step and frame_path(run_dir / "frames", step).is_file()
            assert animation.gif_frame_count(run_dir / "progress.gif") == len(list_frames(run_dir / "frames"))
            assert len(read_history(run_dir)) == step
        assert not (run_dir / "train.pid").exists() or signum == signal.SIGKILL
        sample = cli_in_process(["sample", run_dir, "--num", 4, "--out", tmp_path / f"sample{i}.png"])
        assert sample.returncode == 0 and f"from step {newest}" in sample.stdout, sample
        gif = cli_in_process(["gif", run_dir, "--out", tmp_path / f"again{i}.gif"])
        assert gif.returncode == 0, gif
        expected = newest
    assert expected > 0
    final = cli_in_process([*args[:-1], expected + 3, "--no-progress"])
    assert final.returncode == 0 and f"from step {expected} " in final.stdout, final


def test_a_signal_while_the_data_loads_stops_at_once_with_its_status(work, tmp_path, monkeypatch):
    load = run.data_lib.load

    def load_then_sigterm(*args, **kwargs):
        load(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # a large folder still decoding: no waiting for it to finish
        raise AssertionError("the signal should have stopped the command")

    monkeypatch.setattr(run.data_lib, "load", load_then_sigterm)
    before = signal.getsignal(signal.SIGTERM)
    result = cli_in_process(["train", "mnist-dcgan", "--dataset", work / "tiny.npz", "--run-dir", tmp_path / "r"])
    assert result.returncode == 143 and "Traceback" not in result.stderr, result
    assert result.stderr.strip().splitlines()[-1] == (
        "stopped by SIGTERM before training started: nothing was trained, so nothing needed saving")
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_at_the_end_of_its_chunk_and_a_second_one_does_not_break_the_save(tmp_path, digits,
                                                                                      signum):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False, steps_per_call=4)
    before = signal.getsignal(signum)

    def kill_twice(trainer, logs):
        if logs["step"] == 7:
            os.kill(os.getpid(), signum)
            os.kill(os.getpid(), signal.SIGINT)

    kill_twice.every = 0  # reads the logs only: chunks of 4 go on
    trainer.callbacks.append(kill_twice)
    result = trainer.fit(images.images, 20, progress=False)
    assert result.interrupted and result.signal == signum.name and result.step == 9  # the chunk 6..9 ran out
    assert latest_step(tmp_path) == 9 and [row["step"] for row in read_history(tmp_path)] == list(range(1, 10))
    assert [s for s, _ in list_frames(tmp_path / "frames")] == [0, 5, 9] and result.gif.is_file()
    assert signal.getsignal(signum) is before  # the handlers are put back


def test_keyboard_interrupt_in_a_notebook_stops_cleanly(tmp_path, digits):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False)

    def ctrl_c(trainer, logs):
        if logs["step"] == 7:
            raise KeyboardInterrupt

    trainer.callbacks.append(ctrl_c)
    result = trainer.fit(images.images, 20, progress=False)
    assert result.interrupted and result.step == 7
    assert latest_step(tmp_path) == 7 and result.gif.is_file()
    assert [s for s, _ in list_frames(tmp_path / "frames")] == [0, 5, 7]


# --- 3. determinism ------------------------------------------------------------------------------


def test_resumed_training_is_bit_identical_to_one_go(work, reference, tmp_path):
    """N steps, then N more after a restart == 2N steps in one go (dropout seeds are checkpointed)."""
    run_dir = tmp_path / "run"
    assert tfgan(*train_args(work, run_dir, STEPS // 2)).returncode == 0
    result = tfgan(*train_args(work, run_dir, STEPS))
    assert f"from step {STEPS // 2}" in result.stdout, result.stderr
    assert_same_values(checkpoint_values(run_dir), reference[1])


def test_steps_per_call_change_nothing_even_between_a_run_and_its_resume(work, reference, tmp_path):
    """5 steps per call, then resumed at 1 per call == the reference (events every 2: 2 per call)."""
    run_dir = tmp_path / "run"
    chunks = ["--sample-every", 10, "--checkpoint-every", 10]
    assert tfgan(*train_args(work, run_dir, STEPS // 2), *chunks, "--steps-per-call", 5).returncode == 0
    result = tfgan(*train_args(work, run_dir, STEPS), *chunks, "--steps-per-call", 1)
    assert f"from step {STEPS // 2}" in result.stdout, result.stderr
    assert_same_values(checkpoint_values(run_dir), reference[1])


def test_dropout_seed_state_is_in_the_checkpoint(tmp_path, digits):
    trainer, images = run.start_run(TINY_PRESET.replace(d_dropout=0.3), tmp_path,
                                    images=Images(digits[:128], None, "d"), verbose=False)
    trainer.fit(images.images, 5, progress=False)
    names = [n for n, _ in tf.train.list_variables(trainer.checkpoint.latest)]
    assert sum(n.startswith("dropout_seeds/") for n in names) == 2  # the discriminator's two Dropouts
    assert any("moving_mean" in n for n in names) and any("moving_variance" in n for n in names)


# --- 4. a checkpoint of other models -------------------------------------------------------------


def test_another_presets_run_dir_is_refused_and_kept(work, tmp_path):
    run_dir = tmp_path / "wgan"
    first = tfgan("train", "wgan-gp", "--dataset", work / "tiny.npz", "--batch-size", 16, "--width", 8,
                  "--steps", 2, "--no-progress", "--run-dir", run_dir)
    assert first.returncode == 0, first.stderr
    before = snapshot(run_dir)
    line = one_error_line(tfgan("train", "mnist-dcgan", "--dataset", work / "tiny.npz", "--width", 8,
                                "--run-dir", run_dir, "--no-progress"))
    assert "holds a 'wgan-gp' run" in line and "loss wgan-gp ≠ nonsaturating" in line and "--fresh" in line
    line = one_error_line(tfgan("train", "wgan-gp", "--dataset", work / "tiny.npz", "--width", 8,
                                "--batch-size", 16, "--latent-dim", 32, "--run-dir", run_dir, "--no-progress"))
    assert "latent_dim 100 ≠ 32" in line
    assert snapshot(run_dir) == before


# --- 5. NaN and Inf ------------------------------------------------------------------------------


def test_a_nan_loss_stops_at_once_and_keeps_the_last_good_checkpoint(tmp_path, digits):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False)
    g_loss = trainer.g_loss
    # From the 7th step on the loss is NaN, and so are the gradients and then the weights.
    trainer.g_loss = lambda logits: g_loss(logits) * tf.where(trainer.step >= 6, np.nan, 1.0)
    saved = {}
    trainer.callbacks.append(lambda t, logs: saved.update(snapshot(tmp_path / "ckpt")) if logs["step"] == 5 else None)
    with pytest.raises(NonFiniteLoss, match=r"g_loss.* at step 7.*checkpoint \(step 5\) is intact"):
        trainer.fit(images.images, 20, progress=False)
    assert not np.isfinite(trainer.generator.weights[0].numpy()).all()
    assert snapshot(tmp_path / "ckpt") == saved and latest_step(tmp_path) == 5
    again, _ = run.start_run(TINY_PRESET, tmp_path, images=images, verbose=False)
    assert int(again.step) == 5 and all(np.isfinite(w.numpy()).all() for w in again.generator.weights)


def test_a_nan_inside_a_chunk_is_caught_at_its_step(tmp_path, digits):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False, steps_per_call=4)
    g_loss = trainer.g_loss
    trainer.g_loss = lambda logits: g_loss(logits) * tf.where(trainer.step >= 6, np.nan, 1.0)
    with pytest.raises(NonFiniteLoss, match=r"g_loss.* at step 7.*checkpoint \(step 5\) is intact"):
        trainer.fit(images.images, 20, progress=False)  # steps 6..9 run in one call
    assert int(trainer.step) == 9 and latest_step(tmp_path) == 5
    assert [row["step"] for row in read_history(tmp_path)] == list(range(1, 8))


def test_nan_weights_are_never_saved(tmp_path, digits):
    trainer, _ = _two_checkpoints(tmp_path, digits)
    before = snapshot(tmp_path / "ckpt")
    trainer.generator.weights[0].assign(tf.fill(trainer.generator.weights[0].shape, np.inf))
    trainer.step.assign(11)
    with pytest.raises(NonFiniteLoss, match="the weights became non-finite at step 11.*step 10"):
        trainer.save_checkpoint()
    assert snapshot(tmp_path / "ckpt") == before


def test_cli_nan_is_one_line_and_a_lower_learning_rate_takes_effect_on_resume(work, tmp_path):
    run_dir = tmp_path / "run"
    assert tfgan(*train_args(work, run_dir, 4)).returncode == 0
    before = snapshot(run_dir / "ckpt")
    # Learning rates live in the optimizer state, so before the fix the checkpoint's 2e-4 came back.
    # (no save by the clock either: on a loaded machine the first step can take a minute)
    line = one_error_line(tfgan(*train_args(work, run_dir, 12), "--g-lr", 1e30, "--d-lr", 1e30,
                                "--checkpoint-secs", 10**6))
    assert "became non-finite at step" in line and "last good checkpoint (step 4) is intact" in line
    assert snapshot(run_dir / "ckpt") == before
    values = checkpoint_values(run_dir)
    assert all(np.isfinite(v).all() for v in values.values() if v.dtype.kind == "f")


# --- 6. folders that cannot take the files ------------------------------------------------------


def test_run_dir_under_a_regular_file(work, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    line = one_error_line(tfgan("train", "mnist-dcgan", "--dataset", work / "tiny.npz",
                                "--run-dir", tmp_path / "notes.txt" / "run"))
    assert "cannot write to run directory" in line and "--run-dir" in line


def test_full_disk_is_refused_before_training(work, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**9, used=10**9, free=2**20))
    assert cli.main(["train", "mnist-dcgan", "--dataset", str(work / "tiny.npz"), "--run-dir",
                     str(tmp_path / "run")]) == 2
    out = capsys.readouterr()
    assert out.err.startswith("error: not enough disk space for this run: it needs about") and "1.0 MB is free" in out.err
    assert not (tmp_path / "run" / "ckpt").exists()


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   tf.errors.ResourceExhaustedError(None, None, "No space left on device")])
def test_disk_full_during_a_checkpoint_save(tmp_path, digits, monkeypatch, error):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False)
    trainer.fit(images.images, 5, progress=False)

    def full(checkpoint_number):
        data = tmp_path / "ckpt" / f"ckpt-{checkpoint_number}.data-00000-of-00001"
        data.write_bytes(b"\1" * 100)  # what fitted on the disk
        (tmp_path / "ckpt" / f"ckpt-{checkpoint_number}.index").write_bytes(b"\1" * 10)
        raise error

    monkeypatch.setattr(trainer.checkpoint.manager, "save", full)
    with pytest.raises(TfganError, match=r"the disk filled up \(No space left on device\): the newest complete "
                                         r"checkpoint \(step 5\) is intact"):
        trainer.fit(images.images, 10, progress=False)
    again, _ = run.start_run(TINY_PRESET, tmp_path, images=images, verbose=False)
    assert int(again.step) == 5


def test_disk_full_during_a_frame_is_one_line(work, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    write = atomic_write_bytes

    def full_at_step_6(path, data):
        if Path(path).name == "step_0000006.png":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write(path, data)

    monkeypatch.setattr(pictures, "atomic_write_bytes", full_at_step_6)  # the frames' writer
    argv = [str(a) for a in train_args(work, run_dir, 10) if a != "--deterministic"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the disk filled up (No space left on device)")
    assert "newest complete checkpoint (step 4) is intact" in err[0] and "free some space" in err[0]
    assert latest_step(run_dir) == 4


# --- 7. training health --------------------------------------------------------------------------


def _healthy(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for step in range(1, n + 1):
        yield {"step": step, "d_loss": 1.2 + 0.2 * rng.standard_normal(),
               "g_grad_norm": float(np.exp(rng.normal(0, 0.5))), "d_grad_norm": float(np.exp(rng.normal(2, 0.7)))}


def _monitor(tmp_path, **kw):
    lines = []
    return health.HealthMonitor(tmp_path, echo=lines.append, **kw), lines


def test_health_is_quiet_on_healthy_curves(tmp_path):
    monitor, lines = _monitor(tmp_path)
    for logs in _healthy(2000):
        monitor.observe(logs)
    rng = np.random.default_rng(0)
    for i, spread in enumerate(np.linspace(0.05, 0.8, 20)):  # samples that grow more varied, then settle
        monitor.observe_samples(i * 100, rng.normal(0, spread, (64, 28, 28, 1)))
    for i in range(10):
        monitor.observe_samples(2000 + i * 100, rng.normal(0, 0.7, (64, 28, 28, 1)))
    assert lines == [] and not (tmp_path / "warnings.log").exists()


def test_health_warns_once_per_episode_when_the_discriminator_wins(tmp_path):
    monitor, lines = _monitor(tmp_path)
    rows = list(_healthy(1000))
    for row in rows[100:450] + rows[600:750] + rows[800:]:  # 350 low steps, 150 low (too few), 200 low
        row["d_loss"] = 0.01
    for row in rows:
        monitor.observe(row)
    assert len(lines) == 2 and all(line.startswith("warning: step ") for line in lines)
    assert lines[0].startswith("warning: step 300: the discriminator is winning")
    assert "--label-smoothing 0.1" in lines[0] and "--d-lr" in lines[0]
    assert lines[1].startswith("warning: step 1000:")
    assert (tmp_path / "warnings.log").read_text().splitlines() == [line[len("warning: "):] for line in lines]


def test_health_ignores_wasserstein_critic_losses(tmp_path):
    monitor, lines = _monitor(tmp_path)
    for row in _healthy(500):
        monitor.observe({**row, "d_loss": -3.0, "wasserstein": 3.0})
    assert lines == []


@pytest.mark.parametrize(("key", "value", "word"), [("g_grad_norm", 1e-6, "vanishing"),
                                                    ("d_grad_norm", 1e6, "exploding"),
                                                    ("d_grad_norm", float("inf"), "exploding")])
def test_health_warns_when_gradients_vanish_or_explode(tmp_path, key, value, word):
    monitor, lines = _monitor(tmp_path)
    rows = list(_healthy(300))
    for row in rows[100:]:
        row[key] = value
    for row in rows:
        monitor.observe(row)
    assert len(lines) == 1 and lines[0].startswith(f"warning: step 120: {key} is {word}")


def test_health_warns_on_mode_collapse(tmp_path):
    monitor, lines = _monitor(tmp_path)
    rng = np.random.default_rng(0)
    for step in (100, 200, 300):
        monitor.observe_samples(step, np.tanh(rng.normal(0, 1, (64, 28, 28, 1))))
    one = np.tanh(rng.normal(0, 1, (1, 28, 28, 1)))
    for step in (400, 500, 600):
        monitor.observe_samples(step, one + rng.normal(0, 0.01, (64, 28, 28, 1)))
    assert len(lines) == 1 and lines[0].startswith("warning: step 500: the samples are collapsing")
    assert "wgan-gp" in lines[0]


def test_health_runs_inside_fit_and_logs_gradient_norms(tmp_path, digits, capsys):
    trainer, images = run.start_run(TINY_PRESET, tmp_path, images=Images(digits[:128], None, "d"),
                                    verbose=False)
    assert trainer.health in trainer.callbacks
    trainer.health.d_loss_floor, trainer.health.d_loss_patience = 100.0, 3  # every loss "too low"
    result = trainer.fit(images.images, 6, progress=False)
    assert all(row["g_grad_norm"] > 0 and row["d_grad_norm"] > 0 for row in result.history)
    assert "warning: step 3: the discriminator is winning" in capsys.readouterr().out
    assert (tmp_path / "warnings.log").read_text().startswith("step 3: the discriminator is winning")


# --- 8. bad input --------------------------------------------------------------------------------


def _bad_inputs(work: Path) -> dict[str, tuple[list, str]]:
    """name -> (command line, what the error line must say)."""
    d = work / "bad"
    if not d.exists():
        (d / "empty").mkdir(parents=True)
        (d / "texts").mkdir()
        (d / "texts" / "a.txt").write_text("not an image")
        (d / "fakes").mkdir()
        for i in range(3):
            (d / "fakes" / f"{i}.png").write_text("<html>404</html>")
        np.savez(d / "weights.npz", w=np.zeros(3))
        np.savez(d / "rank.npz", x=np.zeros((4, 28)))
        np.savez(d / "range.npz", x=np.full((32, 28, 28), 400.0))
        np.savez(d / "nan.npz", x=np.full((32, 28, 28), np.nan))
        np.savez(d / "objects.npz", x=np.array([np.zeros((28, 28)), "not an image"], dtype=object))
    fast = ["--width", 8, "--no-progress"]
    mnist = ["train", "mnist-dcgan", "--dataset"]
    anime = ["train", "anime-dcgan", "--dataset"]
    return {
        "missing npz": ([*mnist, d / "nothing.npz", *fast], "dataset file not found"),
        "missing folder": ([*mnist, d / "nothing", *fast], "dataset not found"),
        "empty folder": ([*anime, d / "empty", *fast], "dataset folder is empty"),
        "no images": ([*anime, d / "texts", *fast], "no image files"),
        "unreadable images": ([*anime, d / "fakes", *fast], "none of the 3 image files"),
        "npz without images": ([*mnist, d / "weights.npz", *fast], "has no image array"),
        "wrong rank": ([*mnist, d / "rank.npz", *fast], "must have shape"),
        "value range": ([*mnist, d / "range.npz", *fast], "pixel values span [400, 400]"),
        "nan pixels": ([*mnist, d / "nan.npz", *fast], "NaN"),
        "unknown preset": (["train", "mnist-gan"], "unknown preset 'mnist-gan'"),
        "unknown loss": ([*mnist, work / "tiny.npz", "--loss", "wasserstein", *fast], "unknown loss"),
        "negative steps": ([*mnist, work / "tiny.npz", "--steps", -3], "argument --steps: must be at least 1"),
        "batch size 0": ([*mnist, work / "tiny.npz", "--batch-size", 0], "--batch-size: must be at least 1"),
        "batch too big": ([*mnist, work / "tiny.npz", "--batch-size", 512, *fast], "only 256 images"),
        "negative seed": ([*mnist, work / "tiny.npz", "--seed", -1], "--seed: must be at least 0"),
        "unknown option": ([*mnist, work / "tiny.npz", "--bacth-size", 8], "unrecognized arguments"),
        "image size 50": (["train", "anime-dcgan", "--image-size", 50, *fast], "image size 50 is not supported"),
        "label smoothing": ([*mnist, work / "tiny.npz", "--label-smoothing", 1.5], "--label-smoothing"),
        "run dir in data": ([*anime, d / "fakes", "--run-dir", d / "fakes" / "run"], "inside the dataset folder"),
        "sample to a file's child": (["sample", work / "reference", "--out", work / "tiny.npz" / "x.png"],
                                     "a file is in the way"),
        "image size 100000": (["train", "anime-dcgan", "--image-size", 100000, *fast],
                              "image size 100000 is not supported"),
        "pickled npz": ([*mnist, d / "objects.npz", *fast], "never unpickles"),
        "batch of a billion": ([*mnist, work / "tiny.npz", "--batch-size", 10**9, *fast], "only 256 images"),
        "checkpoint secs": ([*mnist, work / "tiny.npz", "--checkpoint-secs", -5, *fast], "--checkpoint-secs"),
    }


def cli_in_process(argv: list) -> subprocess.CompletedProcess:
    """cli.main as `python -m tfgan` would run it, without paying for a TensorFlow import each time."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as e:  # argparse
            code = e.code
        except BaseException:  # noqa: BLE001 - a crash: what the user would see
            code, err = 1, io.StringIO(traceback.format_exc())
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def bad_input_results(work, reference, tmp_path_factory):
    """Every bad command line, each pointed at a copy of a finished run."""
    existing = work / "existing"
    shutil.copytree(reference[0], existing)
    before = snapshot(existing)
    cases = _bad_inputs(work)
    assert list(cases) == BAD_INPUTS
    results = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFGAN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        for name, (argv, _) in cases.items():
            if argv[0] == "train" and "--run-dir" not in argv:
                argv = [*argv, "--run-dir", existing]
            results[name] = cli_in_process(argv)
    return results, before, snapshot(existing)


BAD_INPUTS = ["missing npz", "missing folder", "empty folder", "no images", "unreadable images",
              "npz without images", "wrong rank", "value range", "nan pixels", "unknown preset", "unknown loss",
              "negative steps", "batch size 0", "batch too big", "negative seed", "unknown option",
              "image size 50", "label smoothing", "run dir in data", "sample to a file's child",
              "image size 100000", "pickled npz", "batch of a billion", "checkpoint secs"]


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_clear_line(work, bad_input_results, name):
    results, before, after = bad_input_results
    line = one_error_line(results[name])
    assert _bad_inputs(work)[name][1] in line, line
    assert after == before  # the existing run dir is untouched
    # refused before loading data (the batch can only be checked against the data)
    assert "data:" not in results[name].stdout or name in ("batch too big", "batch of a billion")


def test_bad_data_leaves_no_new_run_folder_behind(work, tmp_path):
    """The run folder is made early (to refuse a read-only one before the data loads); a refusal of the
    data removes it again, with the parents it made, so a typo leaves no empty folder to wonder about."""
    cases = _bad_inputs(work)
    for name in ("missing folder", "empty folder", "wrong rank"):
        argv, message = cases[name]
        result = cli_in_process([*argv, "--run-dir", tmp_path / "new" / "deeper" / "run"])
        assert result.returncode == 2 and message in one_error_line(result)
        assert not (tmp_path / "new").exists(), name
    (tmp_path / "kept").mkdir()  # a folder that was there before stays
    result = cli_in_process([*cases["missing folder"][0], "--run-dir", tmp_path / "kept"])
    assert result.returncode == 2 and (tmp_path / "kept").is_dir()


@pytest.mark.parametrize("command", [["sample", "some_run"], ["eval", "some_run"], ["export", "some_run"]])
def test_a_negative_seed_is_refused_by_every_command(command):
    assert "--seed: must be at least 0" in one_error_line(cli_in_process([*command, "--seed", -1]))


def test_a_misspelt_preset_gets_a_guess_and_nonsense_only_the_list():
    with pytest.raises(TfganError, match="did you mean 'mnist-dcgan'"):
        presets.get_preset("mnist-dcgn")
    with pytest.raises(TfganError, match="unknown preset 'zzz': choose one of mnist-dcgan"):
        presets.get_preset("zzz")


def test_a_failed_write_names_the_file_asked_for_and_leaves_no_temporary(tmp_path, monkeypatch):
    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", src)

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(tmp_path / "grid.png", b"png")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "grid.png")
    assert list(tmp_path.iterdir()) == []


def test_bad_input_from_a_shell_is_one_line_too(work, tmp_path):
    """In a real process, TensorFlow's start-up logging must not bury the error line."""
    cases = _bad_inputs(work)
    names = ["unknown preset", "empty folder", "image size 50", "negative steps"]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda name: tfgan(*cases[name][0], cwd=tmp_path), names))
    for name, result in zip(names, results):
        assert cases[name][1] in one_error_line(result)


def test_corrupt_images_among_good_ones_are_skipped_and_counted(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff" + rng.bytes(500))
    (folder / "half.png").write_bytes((folder / "00.png").read_bytes()[:200])
    result = tfgan("train", "anime-dcgan", "--dataset", folder, "--image-size", 32, "--width", 8,
                   "--batch-size", 16, "--steps", 2, "--no-progress", "--run-dir", tmp_path / "run",
                   TFGAN_CACHE_DIR=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert "skipped 2 of 42 files" in result.stdout and "40 images" in result.stdout
    assert (tmp_path / "run" / "progress.gif").is_file()


def test_two_trainings_cannot_share_a_run_dir(tmp_path):
    """A second process training into a live run's folder is refused; a dead one's claim is not."""
    import subprocess
    import sys

    from tfgan import run
    from tfgan.errors import TfganError

    tmp_path.mkdir(exist_ok=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "train.pid").write_text(str(sleeper.pid))
        with pytest.raises(TfganError, match=f"another process \\(pid {sleeper.pid}\\) is training"):
            run.claim_run_dir(tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()
    run.claim_run_dir(tmp_path)  # the claimant is gone: its claim is stale
    assert (tmp_path / "train.pid").read_text() == str(os.getpid())
    run.claim_run_dir(tmp_path)  # the same process may claim again (a notebook training on)
