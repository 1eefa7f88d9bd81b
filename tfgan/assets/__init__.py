"""The files shipped inside the package: where each one lies."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent
MNIST_SUBSET = ASSETS / "mnist_5k.npz"  # 5,000 real MNIST digits for offline use
MNIST_CLASSIFIER_WEIGHTS = ASSETS / "mnist_classifier.weights.h5"
FACE_CLASSIFIER_WEIGHTS = ASSETS / "face_classifier.weights.h5"
