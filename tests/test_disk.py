"""A disk that is too small, or fills up mid-run: an honest estimate before training, nothing half-written
after a failed write, the newest complete checkpoint intact and resumable, and `--max-checkpoints`.

Each kind of write (checkpoint, frame, history, GIF, config) fails with a simulated ENOSPC; where the
machine allows it (root), a real tmpfs fills up while a run trains."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from tfgan import cli, presets, run
from tfgan.data import Images
from tfgan.media import animation
from tfgan.media import images as pictures
from tfgan.media.frames import list_frames
from tfgan.media.history import read_history
from tfgan.runs import checkpoint as ckpt_lib
from tfgan.runs import config as config_lib
from tfgan.runs import disk
from tfgan.runs.files import truncate_lines

PRESET = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                                   sample_every=5, checkpoint_every=5, hidden=32)
ROOT = Path(__file__).resolve().parents[1]


def start(run_dir, digits, **kwargs):
    return run.start_run(PRESET, run_dir, images=Images(digits[:128], None, "digits"), verbose=False,
                         checkpoint_secs=0, **kwargs)


def full(path="") -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def leftovers(run_dir: Path) -> list[str]:
    """Half-written files: TensorFlow's temporary checkpoint folders and our own temporary files."""
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if "_temp" in p.name or p.name.endswith(".tmp"))


def files_of(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()
            and p.name != "train.pid"}


def assert_as_last_saved(run_dir: Path, step: int) -> None:
    """The folder is as the save of `step` left it: that checkpoint is the newest, and nothing after it
    is there, nothing half-written."""
    assert leftovers(run_dir) == []
    listed = [Path(p).name for p in ckpt_lib.checkpoint_paths(run_dir / "ckpt")]
    assert listed[0] == f"ckpt-{step}"
    assert {p.name.split(".")[0] for p in (run_dir / "ckpt").glob("ckpt-*")} <= set(listed)  # no part of another
    assert max(int(p.name[len("ckpt-"):-len(".index")]) for p in (run_dir / "ckpt").glob("ckpt-*.index")) == step
    assert max(s for s, _ in list_frames(run_dir / "frames")) <= step
    assert [row["step"] for row in read_history(run_dir)][-1] == step


# --- the estimate -------------------------------------------------------------------------------------


def test_estimate_matches_a_real_run_directory(tmp_path, digits):
    """The checkpoint's size comes from its variables, and the whole estimate covers the real folder
    at its peak (the kept checkpoints and the one being written) without doubling it."""
    trainer, images = start(tmp_path, digits)
    needed = trainer.space_needed(40)
    trainer.fit(images.images, 40, progress=False)
    real_checkpoint = sum(f.stat().st_size for f in disk.checkpoint_files(ckpt_lib.checkpoint_paths(tmp_path / "ckpt")[0]))
    assert real_checkpoint <= needed.checkpoint_bytes <= real_checkpoint + disk.CHECKPOINT_OVERHEAD
    assert needed.checkpoints == 4 and needed.frames == 9  # 3 kept + 1 being written; steps 0, 5, ..., 40
    held = sum(disk.held(tmp_path).values())
    peak = held + real_checkpoint
    assert peak <= needed.total <= 2 * peak + disk.OTHER_BYTES
    frame_sizes = [p.stat().st_size for _, p in list_frames(tmp_path / "frames")]
    assert max(frame_sizes) <= needed.frame_bytes <= 3 * np.mean(frame_sizes)


def test_estimate_counts_what_the_folder_holds_and_keep_every():
    base = {"checkpoint_bytes": 10 * disk.MB, "max_to_keep": 3, "keep_every": 0, "step": 0, "steps": 1000,
            "sample_every": 100, "frame_bytes": 1000, "log_values": 8, "checkpoints_held": [], "frames_held": 0}
    assert disk.space_needed(**base).checkpoints == 4
    resumed = {**base, "checkpoints_held": [True] * 3, "step": 500}
    assert disk.space_needed(**resumed).checkpoints == 1
    assert disk.space_needed(**{**base, "keep_every": 250}).checkpoints == 8  # 4 more kept for good
    # Held checkpoints that --keep-every also links free nothing when newer ones replace them.
    assert disk.space_needed(**{**resumed, "checkpoints_held": [False, True, False]}).checkpoints == 3
    resumed_small = disk.space_needed(**{**resumed, "max_to_keep": 1})
    assert resumed_small.checkpoints == 1 and resumed_small.dropped == 2  # the older two go first
    assert resumed_small.total < disk.space_needed(**resumed).total
    assert disk.space_needed(**{**resumed, "max_to_keep": 1, "checkpoints_held": [True, False, True]}).dropped == 1
    assert disk.space_needed(**{**base, "frames_held": 6, "step": 500}).frames == 5


def test_kept_checkpoints_are_not_counted_as_room_and_the_history_before_a_trace(tmp_path, digits):
    trainer, images = start(tmp_path, digits, keep_every=5)
    assert trainer.space_needed(100).history_bytes == 2 * 100 * 9 * disk.HISTORY_ROW_BYTES  # 6 logs, untraced
    trainer.fit(images.images, 15, progress=False)
    again, _ = start(tmp_path, digits, keep_every=5)
    assert [disk.frees_space(p) for p in again.checkpoint.paths()] == [False] * 3  # all linked in ckpt/kept
    assert again.space_needed(25).checkpoints == 1 + 3 + 2  # being written, 3 latest anew, 20 and 25 for good
    again.fit(images.images, 25, progress=False)
    held = disk.held(tmp_path)  # five checkpoints' room: 5 ... 25, none freed by the latest moving on
    assert held["checkpoints"] + held["kept checkpoints"] >= 5 * (again.checkpoint.size_bytes())


def test_a_disk_without_room_is_refused_before_anything_is_written(tmp_path, digits, monkeypatch):
    trainer, images = start(tmp_path, digits)
    needed = trainer.space_needed(40).total
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**12, used=0, free=needed - 1))
    with pytest.raises(disk.DiskFull, match=r"not enough disk space.*needs about .*4 checkpoints.*--max-checkpoints 1 "
                                            r"needs about .*2 checkpoints"):
        trainer.fit(images.images, 40, progress=False)
    assert not (tmp_path / "ckpt").exists() and list_frames(tmp_path / "frames") == []
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**12, used=0, free=needed))
    assert trainer.fit(images.images, 40, progress=False).step == 40


def test_the_command_line_says_the_figure_and_refuses_in_one_line(tmp_path, digits_npz, monkeypatch, capsys,
                                                                 refused):
    argv = ["train", "mnist-dcgan", "--dataset", digits_npz, "--run-dir", str(tmp_path / "run"), "--width", "8",
            "--checkpoint-secs", "0", "--steps"]
    assert cli.main([*argv, "2"]) == 0
    assert "disk: this run needs about" in capsys.readouterr().out
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**9, used=10**9, free=2**20))
    error = refused(*argv, "4")
    assert error.startswith("error: not enough disk space for this run: it needs about")
    assert "only 1.0 MB is free" in error and "--max-checkpoints 1" in error
    help_text = subprocess.run([sys.executable, "-m", "tfgan", "train", "--help"], capture_output=True, text=True,
                               cwd=ROOT, check=True).stdout
    assert "A run directory keeps" in help_text and "--max-checkpoints" in help_text


# --- a write that fails: each kind ---------------------------------------------------------------


def _fail_checkpoint(trainer, monkeypatch):
    manager = trainer.checkpoint.manager
    real = manager.save

    def save(checkpoint_number):
        if checkpoint_number < 15:
            return real(checkpoint_number=checkpoint_number)
        ckpt = trainer.run_dir / "ckpt"  # what TensorFlow leaves when the disk fills mid-save
        (ckpt / f"ckpt-{checkpoint_number}_temp").mkdir()
        (ckpt / f"ckpt-{checkpoint_number}_temp" / "part-00000-of-00001.data-00000-of-00001.tempstate1").write_bytes(b"1")
        (ckpt / f"ckpt-{checkpoint_number}.data-00000-of-00001").write_bytes(b"\1" * 100)
        raise tf.errors.ResourceExhaustedError(None, None, f"{ckpt}/x; No space left on device [Op:SaveV2]")

    monkeypatch.setattr(manager, "save", save)


def _fail_frame(trainer, monkeypatch):
    write = pictures.atomic_write_bytes

    def frame(path, data):
        if Path(path).name == "step_0000015.png":
            Path(path).with_name(".step_0000015.png.x.tmp").write_bytes(b"1")  # a kill's leftover, too
            raise full(path)
        return write(path, data)

    monkeypatch.setattr(pictures, "atomic_write_bytes", frame)


def _fail_history(trainer, monkeypatch):
    import tfgan.train as train_module

    write = train_module.atomic_write_bytes

    def history(path, data):
        if Path(path).name == "history.csv" and data.count(b"\n") > 12:  # the save at step 15
            raise full(path)
        return write(path, data)

    monkeypatch.setattr(train_module, "atomic_write_bytes", history)


def _fail_gif(trainer, monkeypatch):
    monkeypatch.setattr(animation, "atomic_write_bytes", lambda path, data: (_ for _ in ()).throw(full(path)))


@pytest.mark.parametrize("fail, step", [(_fail_checkpoint, 10), (_fail_frame, 10), (_fail_history, 10),
                                        (_fail_gif, 20)])
def test_a_write_that_fills_the_disk_leaves_the_last_save_whole(tmp_path, digits, monkeypatch, fail, step):
    trainer, images = start(tmp_path, digits)
    trainer.fit(images.images, 10, progress=False)
    gif = (tmp_path / "progress.gif").read_bytes()
    fail(trainer, monkeypatch)
    with pytest.raises(disk.DiskFull) as caught:
        trainer.fit(images.images, 20, progress=False)
    message = str(caught.value)
    assert message.startswith("the disk filled up (No space left on device): the newest complete checkpoint")
    assert f"(step {step}) is intact" in message and f"{tmp_path} holds" in message
    assert "re-run the same command to resume" in message and "\n" not in message
    assert_as_last_saved(tmp_path, step)  # the GIF is made after the last checkpoint (step 20)
    assert (tmp_path / "progress.gif").read_bytes() == gif
    monkeypatch.undo()  # space freed
    again, _ = start(tmp_path, digits)
    assert int(again.step) == step
    assert again.fit(images.images, 25, progress=False).step == 25
    assert [row["step"] for row in read_history(tmp_path)] == list(range(1, 26))


def test_a_config_that_cannot_be_written_is_one_line_and_keeps_the_run(tmp_path, digits, monkeypatch):
    trainer, images = start(tmp_path, digits)
    trainer.fit(images.images, 10, progress=False)
    before = files_of(tmp_path)
    monkeypatch.setattr(config_lib, "atomic_write_bytes", lambda path, data: (_ for _ in ()).throw(full(path)))
    with pytest.raises(disk.DiskFull, match=r"the disk filled up .*newest complete checkpoint \(step 10\) is intact"):
        start(tmp_path, digits)
    assert files_of(tmp_path) == before


def test_the_full_disk_message_says_what_the_run_holds_and_what_can_go(tmp_path, digits):
    trainer, images = start(tmp_path, digits)
    trainer.fit(images.images, 20, progress=False)
    message = disk.full_message(tmp_path, 20, full(), trainer.checkpoint.paths())
    assert "safe to delete: the 2 checkpoint(s) older than the newest" in message
    assert "or resume with --max-checkpoints 1" in message and "once you have copied progress.gif" in message


def test_max_checkpoints_one_resumes_on_a_full_disk_by_dropping_the_older_ones(tmp_path, digits):
    trainer, images = start(tmp_path, digits)
    trainer.fit(images.images, 15, progress=False)
    assert len(ckpt_lib.checkpoint_paths(tmp_path / "ckpt")) == 3
    small, _ = start(tmp_path, digits, max_checkpoints=1)
    assert int(small.step) == 15
    assert [Path(p).name for p in ckpt_lib.checkpoint_paths(tmp_path / "ckpt")] == ["ckpt-15"]
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("ckpt-*")) == ["ckpt-15.data-00000-of-00001",
                                                                          "ckpt-15.index"]
    assert small.space_needed(25).checkpoints == 1
    small.fit(images.images, 25, progress=False)
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("ckpt-*.index")) == ["ckpt-25.index"]
    again, _ = start(tmp_path, digits)
    assert int(again.step) == 25


def test_disk_full_errors_are_recognised_through_their_causes(tmp_path):
    wrapped = RuntimeError("could not write")
    wrapped.__cause__ = full()
    assert disk.is_disk_full(wrapped)
    assert disk.is_disk_full(tf.errors.UnknownError(None, None, "x; Disk quota exceeded"))
    assert not disk.is_disk_full(OSError(errno.EACCES, "Permission denied"))
    path = tmp_path / "h.csv"
    path.write_bytes(b"step\n1\n2\n3\n")
    truncate_lines(path, 3)
    assert path.read_bytes() == b"step\n1\n2\n"
    truncate_lines(path, 10)
    assert path.read_bytes() == b"step\n1\n2\n"


# --- a real small disk --------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(tmp_path: Path, mb: int):
    """A real tmpfs of `mb` MB (root only), unmounted afterwards."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}M", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()[:80]}); the simulated "
                    "ENOSPC tests above cover each kind of write")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_real_disk_that_fills_up_mid_run(tmp_path, digits):
    """Another program fills the disk while the run trains: the run stops with the newest complete
    checkpoint, no temporary files; once space is freed, the same run resumes and finishes."""
    with small_disk(tmp_path, 12) as mount:
        run_dir = mount / "run"
        trainer, images = start(run_dir, digits)
        checkpoint = trainer.space_needed(60).checkpoint_bytes
        ballast = mount / "ballast"

        def fill_at_step_22(trainer, logs):
            if logs["step"] == 22:  # leave less than a checkpoint free
                free = shutil.disk_usage(mount).free
                ballast.write_bytes(b"\0" * (free - checkpoint // 2))

        trainer.callbacks.append(fill_at_step_22)
        with pytest.raises(disk.DiskFull, match=r"the disk filled up \(No space left on device\)") as caught:
            trainer.fit(images.images, 60, progress=False)
        assert "(step 20) is intact" in str(caught.value) and "holds" in str(caught.value)
        assert_as_last_saved(run_dir, 20)
        again, _ = start(run_dir, digits)  # the full disk still lets it read its checkpoint
        assert int(again.step) == 20
        ballast.unlink()
        again, _ = start(run_dir, digits)
        result = again.fit(images.images, 60, progress=False)
        assert result.step == 60 and (run_dir / "progress.gif").is_file() and leftovers(run_dir) == []


def test_eval_every_best_generator_is_counted_and_cleaned(tmp_path, digits):
    from tfgan.evaluation import evaluate

    trainer, images = start(tmp_path, digits)
    without = trainer.space_needed(20)
    callback = evaluate.EvalCallback(images, 5, num=64)
    trainer.callbacks.append(callback)
    generator = disk.variable_bytes([trainer.ema_generator or trainer.generator])
    assert trainer.space_needed(20).total - without.total == 2 * generator + disk.MB
    trainer.fit(images.images, 10, progress=False)
    best = tmp_path / "best"
    (best / "ckpt-15_temp").mkdir()  # a best-generator save the full disk cut short
    real = trainer.checkpoint.manager.save
    trainer.checkpoint.manager.save = lambda checkpoint_number: (_ for _ in ()).throw(full()) \
        if checkpoint_number >= 15 else real(checkpoint_number=checkpoint_number)
    with pytest.raises(disk.DiskFull, match=r"\(step 10\) is intact"):
        trainer.fit(images.images, 20, progress=False)
    assert leftovers(tmp_path) == [] and (best / "best.json").is_file()


def test_a_damaged_newest_checkpoint_is_not_called_intact(tmp_path, digits, monkeypatch):
    trainer, images = start(tmp_path, digits)
    trainer.fit(images.images, 15, progress=False)
    data = next((tmp_path / "ckpt").glob("ckpt-15.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])  # a bad copy
    resumed, _ = start(tmp_path, digits)
    assert int(resumed.step) == 10
    _fail_frame(resumed, monkeypatch)
    with pytest.raises(disk.DiskFull, match=r"\(step 10\) is intact"):
        resumed.fit(images.images, 20, progress=False)
    assert [row["step"] for row in read_history(tmp_path)][-1] == 10
    assert max(s for s, _ in list_frames(tmp_path / "frames")) == 10


def test_without_a_state_file_only_what_has_no_index_goes(tmp_path, digits):
    trainer, images = start(tmp_path, digits)
    trainer.fit(images.images, 10, progress=False)
    ckpt = tmp_path / "ckpt"
    (ckpt / "checkpoint").unlink()
    (ckpt / "ckpt-15.data-00000-of-00001").write_bytes(b"\1" * 100)  # a save cut short before its index
    ckpt_lib.remove_partial(ckpt)
    assert sorted(p.name for p in ckpt.glob("ckpt-*")) == sorted(
        f"ckpt-{n}.{kind}" for n in (5, 10) for kind in ("index", "data-00000-of-00001"))
    again, _ = start(tmp_path, digits)
    assert int(again.step) == 10


def test_a_full_disk_elsewhere_is_not_the_runs(tmp_path):
    elsewhere = OSError(errno.ENOSPC, "No space left on device", "/dev/shm/x")
    same = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "history.csv"))
    (tmp_path / "run").mkdir()
    assert disk.is_disk_full(same, tmp_path / "run")
    assert disk.is_disk_full(elsewhere, tmp_path / "run") == (os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev)


def test_a_run_longer_than_the_disk_holds_starts_and_is_told(tmp_path, digits, monkeypatch, capsys):
    """Frames for 10**9 steps never fit: such a run (one to be stopped by hand) is refused only when the
    next preset-length of steps does not fit, and is told that the disk will fill later."""
    trainer, images = start(tmp_path, digits)
    near = trainer.space_needed(PRESET.steps).total
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**12, used=0, free=near))
    trainer.callbacks.append(lambda trainer, logs: setattr(trainer, "stop_training", True))  # stopped by hand
    trainer.fit(images.images, 10**9, progress=True)
    out = capsys.readouterr().out
    assert "disk: all 1,000,000,000 steps would need" in out and "stop at its newest checkpoint when the disk" in out
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**12, used=0, free=near // 10))
    with pytest.raises(disk.DiskFull, match="not enough disk space"):
        trainer.fit(images.images, 10**9, progress=False)
