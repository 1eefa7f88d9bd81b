"""Generators and discriminators as Keras `Sequential` builders, one function per network.

Every builder takes the latent size and/or the image shape, starts from `keras.Input`, and checks the
shape it produces, so a wrong size fails here with a readable message rather than deep inside a loss.
Discriminators and critics return raw logits (no sigmoid): the losses apply it where needed.
"""

from __future__ import annotations

import keras
from keras import layers

from tfgan.errors import TfganError

ImageShape = tuple[int, int, int]


def _check(model: keras.Model, expected: tuple) -> keras.Model:
    got = tuple(model.output_shape)
    assert got == expected, f"{model.name}: output shape {got}, expected {expected}"
    return model


# --- The official TensorFlow DCGAN tutorial's MNIST models, unchanged -------------------------------


def tutorial_generator(latent_dim: int = 100) -> keras.Sequential:
    """Dense 7·7·256 -> Conv2DTranspose 128 / 64 / 1 (kernel 5), BatchNorm, LeakyReLU, tanh."""
    model = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
        ],
        name="generator",
    )
    return _check(model, (None, 28, 28, 1))


def tutorial_discriminator(image_shape: ImageShape = (28, 28, 1)) -> keras.Sequential:
    """Conv 64 / 128 (kernel 5, stride 2), LeakyReLU, Dropout 0.3, Dense 1 logit."""
    model = keras.Sequential(
        [
            keras.Input(image_shape),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="discriminator",
    )
    return _check(model, (None, 1))


# --- tfgan's 28×28 models: the tutorial's shape, narrower and with 4×4 kernels (faster on a CPU) ----


def mnist_generator(latent_dim: int = 100, width: int = 64, channels: int = 1) -> keras.Sequential:
    """Dense 7·7·2w -> Conv2DTranspose w (4×4, stride 2) -> Conv2DTranspose channels, tanh."""
    model = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 2 * width, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Reshape((7, 7, 2 * width)),
            layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh"),
        ],
        name="generator",
    )
    return _check(model, (None, 28, 28, channels))


def mnist_discriminator(
    image_shape: ImageShape = (28, 28, 1), width: int = 64, dropout: float = 0.3
) -> keras.Sequential:
    """Conv w / 2w (4×4, stride 2), LeakyReLU 0.2, Dropout, Dense 1 logit. No BatchNorm, so it also
    serves as a WGAN-GP critic (the penalty is per sample; BatchNorm would mix samples)."""
    model = keras.Sequential(
        [
            keras.Input(image_shape),
            layers.Conv2D(width, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(dropout),
            layers.Conv2D(2 * width, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(dropout),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="discriminator",
    )
    return _check(model, (None, 1))


def mlp_generator(latent_dim: int = 100, image_shape: ImageShape = (28, 28, 1), width: int = 256):
    """The original fully connected GAN generator (Goodfellow et al. 2014): Dense, LeakyReLU, tanh."""
    h, w, c = image_shape
    model = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(width),
            layers.LeakyReLU(0.2),
            layers.Dense(2 * width),
            layers.LeakyReLU(0.2),
            layers.Dense(4 * width),
            layers.LeakyReLU(0.2),
            layers.Dense(h * w * c, activation="tanh"),
            layers.Reshape(image_shape),
        ],
        name="generator",
    )
    return _check(model, (None, h, w, c))


def mlp_discriminator(image_shape: ImageShape = (28, 28, 1), width: int = 256):
    """Flatten -> Dense 4w / 2w / w with LeakyReLU -> one logit."""
    model = keras.Sequential(
        [
            keras.Input(image_shape),
            layers.Flatten(),
            layers.Dense(4 * width),
            layers.LeakyReLU(0.2),
            layers.Dense(2 * width),
            layers.LeakyReLU(0.2),
            layers.Dense(width),
            layers.LeakyReLU(0.2),
            layers.Dense(1),
        ],
        name="discriminator",
    )
    return _check(model, (None, 1))


# --- DCGAN (Radford et al. 2015) for 64×64 / 96×96 colour images -----------------------------------

# The paper initialises every convolution from N(0, 0.02).
def _init() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _upsamplings(image_size: int) -> int:
    if image_size % 16 or image_size < 32:
        raise TfganError(
            f"image size {image_size} is not supported by the DCGAN models: use a multiple of 16 "
            "from 32 up (e.g. --image-size 64 or 96)"
        )
    return 4


def dcgan_generator(
    latent_dim: int = 100, image_shape: ImageShape = (64, 64, 3), width: int = 64
) -> keras.Sequential:
    """z -> 4×4×8w (6×6 for 96) -> doubling Conv2DTranspose blocks with BatchNorm + ReLU -> tanh."""
    size, _, channels = image_shape
    _upsamplings(size)
    base = size // 16
    stack = [
        keras.Input((latent_dim,)),
        layers.Dense(base * base * 8 * width, use_bias=False, kernel_initializer=_init()),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Reshape((base, base, 8 * width)),
    ]
    for filters in (4 * width, 2 * width, width):
        stack += [
            layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=_init()),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]
    stack.append(
        layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh",
                               kernel_initializer=_init())
    )
    return _check(keras.Sequential(stack, name="generator"), (None, size, size, channels))


def dcgan_discriminator(
    image_shape: ImageShape = (64, 64, 3), width: int = 64, norm: str = "batch"
) -> keras.Sequential:
    """Strided Conv2D w / 2w / 4w / 8w with LeakyReLU 0.2 -> one logit.

    norm="batch" is the DCGAN discriminator; norm="layer" or "none" makes a WGAN-GP critic, where
    BatchNorm is wrong because the gradient penalty is defined per sample.
    """
    size = image_shape[0]
    _upsamplings(size)
    stack: list = [keras.Input(image_shape)]
    for i, filters in enumerate((width, 2 * width, 4 * width, 8 * width)):
        stack.append(layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=_init()))
        if i > 0 and norm == "batch":  # the paper leaves the first layer unnormalised
            stack.append(layers.BatchNormalization())
        elif i > 0 and norm == "layer":
            stack.append(layers.LayerNormalization(axis=[1, 2, 3]))
        stack.append(layers.LeakyReLU(0.2))
    stack += [layers.Flatten(), layers.Dense(1, kernel_initializer=_init())]
    return _check(keras.Sequential(stack, name="discriminator"), (None, 1))


# --- Picking the pair for a preset ------------------------------------------------------------------

ARCHITECTURES = ("tutorial", "mnist", "mlp", "dcgan")


def build(
    architecture: str,
    latent_dim: int,
    image_shape: ImageShape,
    width: int = 64,
    critic: bool = False,
) -> tuple[keras.Model, keras.Model]:
    """Return (generator, discriminator) for an architecture name and an image shape.

    critic=True makes the discriminator a WGAN critic: no BatchNorm (LayerNorm instead), no dropout.
    """
    h, w, c = image_shape
    if architecture in ("tutorial", "mnist") and (h, w) != (28, 28):
        raise TfganError(
            f"the '{architecture}' models draw 28×28 images but the data is {h}×{w}: "
            "use 28×28 data (MNIST-like) or a preset with the DCGAN 64×64 models"
        )
    if architecture == "tutorial":
        if c != 1:
            raise TfganError("the tutorial models are grayscale (1 channel); the data has "
                             f"{c} channels: use --model mnist or a grayscale dataset")
        return tutorial_generator(latent_dim), tutorial_discriminator(image_shape)
    if architecture == "mnist":
        dropout = 0.0 if critic else 0.3
        return mnist_generator(latent_dim, width, c), mnist_discriminator(image_shape, width, dropout)
    if architecture == "mlp":
        return mlp_generator(latent_dim, image_shape, width), mlp_discriminator(image_shape, width)
    if architecture == "dcgan":
        if h != w:
            raise TfganError(f"DCGAN models need square images, got {h}×{w}")
        norm = "layer" if critic else "batch"
        return (dcgan_generator(latent_dim, image_shape, width),
                dcgan_discriminator(image_shape, width, norm))
    raise TfganError(f"unknown architecture '{architecture}': choose one of {', '.join(ARCHITECTURES)}")
