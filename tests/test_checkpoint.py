import numpy as np
import pytest

from tfgan import presets, run, trained
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.media.history import read_history
from tfgan.runs.checkpoint import CheckpointMismatch

TINY = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                          sample_every=5, checkpoint_every=5)


def _start(run_dir, digits, preset=TINY, **kw):
    return run.start_run(preset, run_dir, images=Images(digits[:128], None, "digits"), verbose=False, **kw)


def test_round_trip_restores_everything(tmp_path, digits):
    trainer, images = _start(tmp_path, digits)
    trainer.fit(images.images, 12, progress=False)  # checkpoint at 12 (end of fit)
    noise = np.random.default_rng(1).standard_normal((4, 16)).astype(np.float32)
    before = trainer.generate(noise)
    sample_noise = trainer.sample_noise.numpy()
    adam_m = [v.numpy() for v in trainer.g_optimizer.variables]

    again, _ = _start(tmp_path, digits)
    assert int(again.step) == 12 and int(again.epoch) == 1
    np.testing.assert_array_equal(again.generate(noise), before)
    np.testing.assert_array_equal(again.sample_noise.numpy(), sample_noise)
    for a, b in zip(adam_m, [v.numpy() for v in again.g_optimizer.variables]):
        np.testing.assert_array_equal(a, b)
    result = again.fit(images.images, 15, progress=False)
    assert result.step == 15
    assert [row["step"] for row in read_history(tmp_path)] == list(range(1, 16))


def test_fresh_discards_the_old_run(tmp_path, digits):
    trainer, images = _start(tmp_path, digits)
    trainer.fit(images.images, 5, progress=False)
    again, _ = _start(tmp_path, digits, fresh=True)
    assert int(again.step) == 0
    assert not (tmp_path / "frames").exists() or not any((tmp_path / "frames").iterdir())


def test_other_architecture_is_refused(tmp_path, digits):
    trainer, images = _start(tmp_path, digits)
    trainer.fit(images.images, 5, progress=False)
    with pytest.raises(CheckpointMismatch, match="latent_dim 16 ≠ 32"):
        _start(tmp_path, digits, TINY.replace(latent_dim=32))
    with pytest.raises(CheckpointMismatch, match="architecture"):
        _start(tmp_path, digits, presets.get_preset("mnist-dcgan-tutorial"))
    with pytest.raises(CheckpointMismatch, match=f"hidden {TINY.hidden} ≠ {TINY.hidden + 8}"):
        _start(tmp_path, digits, TINY.replace(hidden=TINY.hidden + 8))


def test_a_run_saved_before_hidden_layers_existed_counts_as_none(tmp_path, digits):
    import json

    trainer, images = _start(tmp_path, digits, TINY.replace(hidden=0))
    trainer.fit(images.images, 5, progress=False)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["hidden"]  # as an older tfgan wrote it
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert int(_start(tmp_path, digits, TINY.replace(hidden=0))[0].step) == 5
    with pytest.raises(CheckpointMismatch, match="hidden 0 ≠ 8"):
        _start(tmp_path, digits, TINY.replace(hidden=8))


def test_mismatch_caught_even_without_config(tmp_path, digits):
    """A checkpoint whose config.json was lost still cannot be half-restored."""
    trainer, images = _start(tmp_path, digits)
    trainer.fit(images.images, 5, progress=False)
    (tmp_path / "config.json").unlink()
    with pytest.raises(CheckpointMismatch, match="does not fit"):
        _start(tmp_path, digits, TINY.replace(width=16))


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "is unreadable"), ("[1, 2]", "is not a tfgan run config"),
    ('{"config_version": 2, "preset": "mnist-dcgan"}', "written by a newer tfgan .config version 2")])
def test_garbage_or_future_config_is_one_line_and_changes_nothing(tmp_path, digits, content, message):
    trainer, images = _start(tmp_path, digits)
    trainer.fit(images.images, 5, progress=False)
    (tmp_path / "config.json").write_text(content)
    before = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    with pytest.raises(TfganError, match=message):
        _start(tmp_path, digits)
    with pytest.raises(TfganError, match=message):
        trained.load_generator(tmp_path)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == before
    assert (tmp_path / "config.json").read_text() == content
    trainer, _ = _start(tmp_path, digits, fresh=True)  # --fresh still starts over
    assert int(trainer.step) == 0


def test_a_resize_convolution_run_refuses_a_transposed_one_and_old_configs_mean_transposed(tmp_path, digits):
    import json

    trainer, images = _start(tmp_path, digits)
    trainer.fit(images.images, 5, progress=False)
    with pytest.raises(CheckpointMismatch, match="g_upsample transpose ≠ resize"):
        _start(tmp_path, digits, TINY.replace(g_upsample="resize"))
    config = json.loads((tmp_path / "config.json").read_text())
    del config["g_upsample"]  # as a tfgan without the setting wrote it
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert int(_start(tmp_path, digits)[0].step) == 5
