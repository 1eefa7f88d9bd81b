"""tfgan: GANs in Keras / TensorFlow 2, small enough to read, complete enough to train for real."""

from tfgan.errors import DataError, TfganError
from tfgan.presets import PRESETS, Preset, get_preset

__all__ = ["PRESETS", "DataError", "Preset", "TfganError", "get_preset"]
__version__ = "0.1.0"
