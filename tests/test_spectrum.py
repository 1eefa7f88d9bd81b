import numpy as np
import pytest

from tfgan.evaluation.spectrum import checkerboard_share, mean_log_spectrum


def _smooth(n=8, size=28, seed=0):
    """Blurry blobs: power at low frequencies only."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    centres = rng.uniform(6, size - 6, size=(n, 2))
    return np.exp(-((y - centres[:, :1, None]) ** 2 + (x - centres[:, 1:, None]) ** 2) / 30.0)


def test_a_checkerboard_holds_its_power_at_period_two_and_a_smooth_image_does_not():
    smooth = _smooth()
    checks = np.indices((28, 28)).sum(axis=0) % 2  # 0/1 checks: all power (mean aside) at (N/2, N/2)
    assert checkerboard_share(smooth) < 0.001
    assert checkerboard_share(checks[None].astype(float)) == pytest.approx(1.0)
    stripes = np.tile(np.arange(28) % 2, (28, 1))  # stripes of period 2 along one axis count too
    assert checkerboard_share(stripes[None].astype(float)) == pytest.approx(1.0)
    blended = 0.9 * smooth + 0.1 * checks  # a faint pattern over a digit-like image
    assert 0.01 < checkerboard_share(blended) < 0.5


def test_share_ignores_the_mean_and_accepts_channels_and_uint8():
    smooth = _smooth()
    assert checkerboard_share(smooth + 0.5) == pytest.approx(checkerboard_share(smooth))
    rgb = np.repeat(smooth[..., None], 3, axis=-1)
    assert checkerboard_share(rgb) == pytest.approx(checkerboard_share(smooth))
    as_bytes = (smooth / smooth.max() * 255).astype(np.uint8)
    assert checkerboard_share(as_bytes) < 0.001


def test_odd_sizes_are_refused_and_the_spectrum_is_centred():
    with pytest.raises(ValueError, match="even image sizes"):
        checkerboard_share(np.zeros((2, 27, 27)))
    checks = (np.indices((28, 28)).sum(axis=0) % 2)[None].astype(float)
    spectrum = mean_log_spectrum(checks)
    assert spectrum.shape == (28, 28)
    assert np.unravel_index(spectrum.argmax(), spectrum.shape) == (0, 0)  # (N/2, N/2) lands in the corner
