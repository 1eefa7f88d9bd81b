import numpy as np
import pytest

from tfgan import presets, run
from tfgan.data import Images

TINY = presets.get("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                          sample_every=5, checkpoint_every=10)


def _trainer(tmp_path, digits, preset=TINY, **kw):
    return run.start_run(preset, tmp_path / "run", images=Images(digits[:128], None, "test digits"),
                         verbose=False, **kw)


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_train_step_updates_both_networks(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits)
    g0, d0 = _weights(trainer.generator), _weights(trainer.discriminator)
    batch = images.images[:16].astype(np.float32) / 127.5 - 1
    logs = trainer.train_step(batch)
    assert set(logs) == {"d_loss", "g_loss", "D(x)", "D(G(z))", "g_grad_norm", "d_grad_norm"}
    assert int(trainer.step) == 1
    assert any(not np.allclose(a, b) for a, b in zip(g0, trainer.generator.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, trainer.discriminator.get_weights()))


def test_fit_traces_once_across_epochs_and_writes_media(tmp_path, digits):
    trainer, images = _trainer(tmp_path, digits)
    # 128 images at batch 16 = 8 steps an epoch: 20 steps cross two epoch boundaries.
    result = trainer.fit(images.images, 20, progress=False)
    assert result.step == 20 and result.epoch == 2
    assert trainer.train_step.experimental_get_tracing_count() == 1
    frames = sorted(p.name for p in (tmp_path / "run" / "frames").iterdir())
    assert frames == ["step_0000000.png", "step_0000005.png", "step_0000010.png", "step_0000015.png",
                      "step_0000020.png"]
    assert (tmp_path / "run" / "progress.gif").is_file()
    assert (tmp_path / "run" / "losses.png").is_file()
    assert [row["step"] for row in result.history] == list(range(1, 21))
    assert all(row["images/s"] > 0 for row in result.history)


@pytest.mark.parametrize("loss", ["wgan-gp", "wgan-clip", "hinge"])
def test_alternating_steps(tmp_path, digits, loss):
    preset = presets.with_loss(TINY, loss).replace(d_steps=2)
    trainer, images = _trainer(tmp_path, digits, preset)
    d_opt_iterations = int(trainer.d_optimizer.iterations)
    result = trainer.fit(images.images, 3, progress=False)
    assert result.step == 3
    # Two discriminator updates per generator update.
    assert int(trainer.d_optimizer.iterations) - d_opt_iterations == 6
    assert int(trainer.g_optimizer.iterations) == 3
    row = result.history[-1]
    if loss == "wgan-gp":
        assert {"wasserstein", "gp", "grad_norm"} <= set(row) and row["gp"] >= 0
    if loss == "wgan-clip":
        biggest = max(np.abs(w).max() for w in trainer.discriminator.get_weights())
        assert biggest <= preset.clip_value + 1e-7
