"""A trained generator back from its run directory, and whether a run can be reused."""

from tfgan import presets, run, trained
from tfgan.data import Images

TINY = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                                 sample_every=5, checkpoint_every=5)


def test_trained_step_says_how_far_a_run_of_the_same_generator_got(tmp_path, digits):
    assert trained.trained_step(tmp_path / "missing", TINY) == 0
    trainer, images = run.start_run(TINY, tmp_path / "run", images=Images(digits[:128], None, "d"), verbose=False)
    assert trained.trained_step(tmp_path / "run", TINY) == 0  # a config, no checkpoint yet
    trainer.fit(images.images, 10, progress=False)
    assert trained.trained_step(tmp_path / "run", TINY) == 10
    assert trained.trained_step(tmp_path / "run", TINY.replace(steps=99, batch_size=32)) == 10  # not G's shape
    assert trained.trained_step(tmp_path / "run", TINY.replace(width=16)) == 0  # another generator
    assert trained.trained_step(tmp_path / "run", presets.get_preset("wgan-gp")) == 0  # another preset
