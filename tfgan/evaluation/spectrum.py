"""Checkerboard artefacts, measured in the frequency domain.

A transposed convolution of stride 2 makes even and odd output pixels from different kernel taps; when
the taps are not balanced the image carries a pattern of period 2 (Odena, Dumoulin & Olah 2016,
"Deconvolution and checkerboard artifacts", Distill). A pattern of period 2 is exactly the highest
frequencies a pixel grid holds: row or column frequency N/2 in the 2-D Fourier transform. Natural
images, digits included, put little power there, so the share of an image's power at those
frequencies, set beside the same share for real images, counts the artefact.
"""

from __future__ import annotations

import numpy as np

from tfgan.samples import as_unit_float


def _power(images) -> np.ndarray:
    """|FFT|² of each image's channels-mean, mean removed: (N, H, W)."""
    x = as_unit_float(np.asarray(images)).astype(np.float64)
    x = x.mean(axis=-1) if x.ndim == 4 else x
    x = x - x.mean(axis=(1, 2), keepdims=True)
    return np.abs(np.fft.fft2(x)) ** 2


def mean_log_spectrum(images) -> np.ndarray:
    """log10 of the mean power spectrum (H, W), zero frequency at the centre (for a picture: a
    checkerboard lights the edges and corners)."""
    return np.fft.fftshift(np.log10(_power(images).mean(axis=0) + 1e-12))


def checkerboard_share(images) -> float:
    """The share of the images' power (zero frequency aside) at period-2 frequencies: every Fourier
    component whose row or column frequency is N/2, the line of stripes and checks a stride-2
    upsampling paints. Even image sizes only."""
    power = _power(images)
    h, w = power.shape[1:]
    if h % 2 or w % 2:
        raise ValueError(f"checkerboard_share needs even image sizes, got {h}×{w}")
    nyquist = power[:, h // 2, :].sum() + power[:, :, w // 2].sum() - power[:, h // 2, w // 2].sum()
    return float(nyquist / max(power.sum(), 1e-12))
