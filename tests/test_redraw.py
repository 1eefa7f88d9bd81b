"""--keep-every keeps checkpoints for good; `frames` redraws the progress from them with new noise."""

import itertools

import numpy as np
import pytest
from PIL import Image

from tfgan import cli, presets, run, trained
from tfgan.artefacts import redraw
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.media import animation
from tfgan.media import images as pictures
from tfgan.media.frames import frame_layout, frame_path, list_frames
from tfgan.runs import checkpoint

TINY = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                          sample_every=5, checkpoint_every=50)


def _train(run_dir, digits, steps, keep_every=4):
    trainer, images = run.start_run(TINY, run_dir, images=Images(digits[:128], None, "digits"), verbose=False,
                                    checkpoint_secs=0, keep_every=keep_every)
    trainer.fit(images.images, steps, progress=False)
    return trainer


def test_keep_every_keeps_every_nth_checkpoint_beyond_the_latest_three(tmp_path, digits):
    _train(tmp_path, digits, 18)  # kept: 4, 8, 12, 16; the end of fit saves 18
    managed = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "ckpt").glob("ckpt-*.index"))
    assert managed == [12, 16, 18]  # the manager keeps the latest 3, as without --keep-every
    assert [s for s, _ in checkpoint.kept_checkpoints(tmp_path)] == [4, 8, 12, 16, 18]
    # Hard links: the kept checkpoint is the same file as the managed one, not a second copy.
    kept16, managed16 = tmp_path / "ckpt/kept/ckpt-16.index", tmp_path / "ckpt/ckpt-16.index"
    assert kept16.stat().st_ino == managed16.stat().st_ino


def test_frames_redraws_every_kept_checkpoint_and_gif_animates_them(tmp_path, digits, capsys):
    trainer = _train(tmp_path, digits, 12)  # kept: 4, 8, 12
    assert cli.main(["frames", str(tmp_path), "--num", "9", "--seed", "3"]) == 0
    assert "--frames frames-seed3-n9" in capsys.readouterr().out
    folder = tmp_path / "frames-seed3-n9"
    frames = list_frames(folder)
    assert [s for s, _ in frames] == [0, 4, 8, 12]  # 0: the untrained models, rebuilt from the run's seed
    # A 3×3 grid of 28-pixel digits drawn at scale 2: new noise, a different grid from the training frames.
    last = np.asarray(Image.open(frames[-1][1]).convert("RGB"))
    # The preset averages G's weights (EMA): samples, and so the redrawn frames, come from the average.
    expected = pictures.grid(trained.sample_images(trainer.ema_generator, 9, 16, seed=3, batch_size=256), scale=2)
    np.testing.assert_array_equal(last, expected)
    training_frame = np.asarray(Image.open(frame_path(tmp_path / "frames", 10)))
    assert last.shape != training_frame.shape[:2] + (3,)  # 16 samples there, 9 here
    # Each frame comes from its own step's weights, not the latest ones.
    drawn = [np.asarray(Image.open(path).convert("RGB")) for _, path in frames]
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(drawn))

    out = tmp_path / "redrawn.gif"
    assert cli.main(["gif", str(tmp_path), "--frames", folder.name, "--cells", "0-3", "--no-caption",
                     "--out", str(out)]) == 0
    gif = Image.open(out)
    assert gif.n_frames == 4
    layout = frame_layout(tmp_path, folder.name)  # a 9-sample frame (frames.json), not the run's 16
    assert (layout.rows, layout.cols, layout.cell) == (3, 3, 56)
    crop = animation.crop_cells(last, layout, [0, 1, 2, 3], None)
    assert gif.size == (crop.shape[1], crop.shape[0])


def test_frames_without_a_checkpoint_or_into_the_training_frames_is_one_line(tmp_path, digits):
    run.start_run(TINY, tmp_path, images=Images(digits[:128], None, "digits"), verbose=False)
    with pytest.raises(TfganError, match="no checkpoint yet"):
        redraw.redraw_frames(tmp_path)
    _train(tmp_path, digits, 4)
    with pytest.raises(TfganError, match="training frames stay"):
        redraw.redraw_frames(tmp_path, out=tmp_path / "frames")
    with pytest.raises(TfganError, match="draw them first"):
        animation.export_progress(tmp_path, tmp_path / "x.gif", frames="frames-seed0-n64")
