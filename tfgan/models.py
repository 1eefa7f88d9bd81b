"""Generators and discriminators as Keras builders, one function per network.

Unconditional networks are `Sequential`; the conditional ones (cGAN) take two inputs, noise or image
plus a class label, and so are written as functional models.

Every builder takes the latent size and/or the image shape, starts from `keras.Input`, and checks the
shape it produces, so a wrong size fails here with a readable message rather than deep inside a loss.
Discriminators and critics return raw logits (no sigmoid): the losses apply it where needed.
"""

from __future__ import annotations

import keras
from keras import layers

from tfgan.errors import TfganError
from tfgan.samples import is_toy

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


UPSAMPLINGS = ("transpose", "resize")


def upsampling(filters: int, kind: str = "transpose", **conv_kwargs) -> list:
    """Layers that double an image's height and width.

    "transpose": a 4×4 transposed convolution of stride 2, as in DCGAN. Each output pixel is a sum of
    kernel taps, and which taps depends on the pixel's parity, so a kernel that has not learned to
    balance them paints a period-2 checkerboard (Odena, Dumoulin & Olah 2016, "Deconvolution and
    checkerboard artifacts"). "resize": nearest-neighbour upsampling, then a 3×3 convolution of stride
    1, their fix: every output pixel is made the same way, so no parity pattern can arise.
    """
    if kind == "transpose":
        return [layers.Conv2DTranspose(filters, 4, strides=2, padding="same", **conv_kwargs)]
    if kind == "resize":
        return [layers.UpSampling2D(2, interpolation="nearest"),
                layers.Conv2D(filters, 3, padding="same", **conv_kwargs)]
    raise TfganError(f"unknown upsampling '{kind}': choose one of {', '.join(UPSAMPLINGS)}")


def mnist_generator(latent_dim: int = 100, width: int = 64, channels: int = 1, dropout: float = 0.0,
                    hidden: int = 0, batchnorm: bool = True, upsample: str = "transpose") -> keras.Sequential:
    """[Dense hidden ->] Dense 7·7·2w -> Conv2DTranspose w (4×4, stride 2) -> Conv2DTranspose channels,
    tanh; BatchNorm after each hidden layer unless `batchnorm` is False (the layers then keep their
    biases). upsample="resize" doubles the size by nearest-neighbour resizing and a 3×3 convolution
    instead of each transposed convolution (see `upsampling`)."""
    def norm() -> list:
        return [layers.BatchNormalization()] if batchnorm else []

    def up(filters: int, **kwargs) -> list:
        return upsampling(filters, upsample, **kwargs)

    # Dropout in G (Isola et al. 2017 use it as G's noise source) is off unless asked for.
    maybe_dropout = [layers.Dropout(dropout)] if dropout > 0 else []
    # A hidden layer lets G shape the whole digit non-linearly before any convolution (InfoGAN's MNIST G).
    maybe_hidden = [layers.Dense(hidden, use_bias=not batchnorm), *norm(), layers.LeakyReLU(0.2)] if hidden else []
    model = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            *maybe_hidden,
            layers.Dense(7 * 7 * 2 * width, use_bias=not batchnorm),
            *norm(),
            layers.LeakyReLU(0.2),
            *maybe_dropout,
            layers.Reshape((7, 7, 2 * width)),  # 7×7
            *up(width, use_bias=not batchnorm),  # 14×14
            *norm(),
            layers.LeakyReLU(0.2),
            *maybe_dropout,
            *up(channels, activation="tanh"),  # 28×28
        ],
        name="generator",
    )
    return _check(model, (None, 28, 28, channels))


def mnist_discriminator(
    image_shape: ImageShape = (28, 28, 1), width: int = 64, dropout: float = 0.3, hidden: int = 0
) -> keras.Sequential:
    """Conv w / 2w (4×4, stride 2), LeakyReLU 0.2, Dropout, [Dense hidden, LeakyReLU,] Dense 1 logit.

    No BatchNorm, so it also serves as a WGAN-GP critic (the penalty is per sample; BatchNorm would mix
    samples). Without the hidden layer the logit is a sum of scores of local patches; with it D can
    judge the shape of the whole digit.
    """
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
            *([layers.Dense(hidden), layers.LeakyReLU(0.2)] if hidden else []),
            layers.Dense(1),
        ],
        name="discriminator",
    )
    return _check(model, (None, 1))


# --- Conditional GAN (Mirza & Osindero 2014) on 28×28 images: the label is a second input -----------


def cgan_generator(latent_dim: int = 100, num_classes: int = 10, width: int = 64, channels: int = 1,
                   embed_dim: int = 50, dropout: float = 0.0, hidden: int = 0) -> keras.Model:
    """(z, label) -> the mnist generator's layers, with a learned label embedding concatenated to z."""
    noise = keras.Input((latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, embed_dim)(label)  # (B, embed_dim): one vector per class
    x = layers.Concatenate()([noise, embedded])
    for layer in mnist_generator(latent_dim + embed_dim, width, channels, dropout, hidden).layers:
        x = layer(x)
    return _check(keras.Model([noise, label], x, name="generator"), (None, 28, 28, channels))


def cgan_discriminator(image_shape: ImageShape = (28, 28, 1), num_classes: int = 10, width: int = 64,
                       dropout: float = 0.3, acgan: bool = False, projection: bool = True,
                       hidden: int = 0) -> keras.Model:
    """(image, label) -> logit. The label's embedding is reshaped to an extra image channel.

    projection=True also adds <embedding(label), features> to the logit (the projection
    discriminator, Miyato & Koyama 2018): how well the image's features match the label's.
    acgan=True adds an auxiliary classifier head (Odena et al. 2017): the outputs are then
    [real/fake logit, class logits].
    """
    h, w, _ = image_shape
    image = keras.Input(image_shape, name="image")
    label = keras.Input((), dtype="int32", name="label")
    label_map = layers.Reshape((h, w, 1))(layers.Embedding(num_classes, h * w)(label))
    x = layers.Concatenate()([image, label_map])  # (B, h, w, channels + 1)
    for filters in (width, 2 * width):
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    if hidden:
        x = layers.LeakyReLU(0.2)(layers.Dense(hidden)(x))
    logit = layers.Dense(1)(x)
    if projection:
        class_vector = layers.Embedding(num_classes, x.shape[-1])(label)  # (B, features)
        logit = layers.Add()([logit, layers.Dot(axes=1)([x, class_vector])])
    outputs = [logit]
    if acgan:
        outputs.append(layers.Dense(num_classes, name="class_logits")(x))
    model = keras.Model([image, label], outputs if acgan else outputs[0], name="discriminator")
    if acgan:
        got = [tuple(s) for s in model.output_shape]
        assert got == [(None, 1), (None, num_classes)], f"discriminator: output shapes {got}"
        return model
    return _check(model, (None, 1))


def is_conditional(model: keras.Model) -> bool:
    """Whether a network takes a class label as its second input."""
    return len(model.inputs) == 2


def num_classes(model: keras.Model) -> int:
    """How many classes a conditional network's label embedding knows (0 for an unconditional one).
    Layers inside nested models count too (an exported generator wraps the trained one)."""
    embeddings = [layer for layer in model._flatten_layers() if isinstance(layer, layers.Embedding)]
    return embeddings[0].input_dim if is_conditional(model) and embeddings else 0


def with_spectral_norm(model: keras.Model) -> keras.Model:
    """A copy of `model` whose Conv2D and Dense layers are wrapped in SpectralNormalization (Miyato et
    al. 2018): each weight matrix is divided by its largest singular value, keeping D 1-Lipschitz-ish."""

    def wrap(layer):
        config = layer.get_config()
        if isinstance(layer, (layers.Conv2D, layers.Dense)) and not isinstance(layer, layers.Conv2DTranspose):
            return layers.SpectralNormalization(layer.__class__.from_config(config))
        return layer.__class__.from_config(config)

    return keras.models.clone_model(model, clone_function=wrap)


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


# --- 2-D toy data (tfgan.data.toy): small MLPs --------------------------------------------------------


def toy_generator(latent_dim: int = 16, width: int = 128, dropout: float = 0.0) -> keras.Sequential:
    """z -> 2-D point: three ReLU layers of `width` units and a linear output, as in the Unrolled-GAN
    and VEEGAN mixture experiments (the points are not squashed into [-1, 1]); `dropout` > 0 adds
    Dropout after each ReLU layer."""
    stack = []
    for _ in range(3):
        stack += [layers.Dense(width, activation="relu"), *([layers.Dropout(dropout)] if dropout > 0 else [])]
    model = keras.Sequential([keras.Input((latent_dim,)), *stack, layers.Dense(2)], name="generator")
    return _check(model, (None, 2))


def toy_discriminator(width: int = 128) -> keras.Sequential:
    """2-D point -> one logit: three LeakyReLU layers of `width` units (no normalisation, so it also
    serves as a WGAN critic)."""
    stack = []
    for _ in range(3):
        stack += [layers.Dense(width), layers.LeakyReLU(0.2)]
    model = keras.Sequential([keras.Input((2,)), *stack, layers.Dense(1)], name="discriminator")
    return _check(model, (None, 1))


# --- DCGAN (Radford et al. 2015) for 64×64 / 96×96 colour images -----------------------------------

# The paper initialises every convolution from N(0, 0.02).
def _init() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


MAX_IMAGE_SIZE = 512  # beyond this a DCGAN's first layers and the data no longer fit a GPU's memory


def _upsamplings(image_size: int) -> int:
    if image_size % 16 or not 32 <= image_size <= MAX_IMAGE_SIZE:
        raise TfganError(
            f"image size {image_size} is not supported by the DCGAN models: use a multiple of 16 "
            f"from 32 to {MAX_IMAGE_SIZE} (e.g. --image-size 64 or 96)"
        )
    return 4


def dcgan_generator(
    latent_dim: int = 100, image_shape: ImageShape = (64, 64, 3), width: int = 64, hidden: int = 0,
    draw_size: int = 0,
) -> keras.Sequential:
    """z -> [Dense hidden ->] 4×4×8w (6×6 for 96) -> doubling Conv2DTranspose blocks with BatchNorm + ReLU
    -> tanh. `hidden` > 0 adds a fully connected layer before the projection (not in the paper).

    `draw_size` smaller than the image (e.g. 32 for 64×64): the same stack draws at that size, a quarter
    of the arithmetic, and a bilinear resize scales its picture up to the image size. Real faces drawn at
    32×32 and scaled up are barely told from full-size ones by the face metrics (benchmarks/RESULTS.md).
    """
    size, _, channels = image_shape
    drawn = _drawn_size(size, draw_size)
    base = drawn // 16
    maybe_hidden = [layers.Dense(hidden, use_bias=False, kernel_initializer=_init()), layers.BatchNormalization(),
                    layers.ReLU()] if hidden else []
    stack = [
        keras.Input((latent_dim,)),
        *maybe_hidden,
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
    if drawn != size:
        stack.append(layers.UpSampling2D(size // drawn, interpolation="bilinear"))
    return _check(keras.Sequential(stack, name="generator"), (None, size, size, channels))


def _drawn_size(size: int, draw_size: int) -> int:
    """The size the DCGAN networks work at: the image's, or a smaller `draw_size` it is a multiple of."""
    _upsamplings(size)
    if not draw_size or draw_size == size:
        return size
    valid = [d for d in range(32, size, 16) if size % d == 0]  # what the DCGAN stacks can draw at
    if draw_size not in valid:
        fix = (f"use --draw-size {' or '.join(map(str, valid))} (or 0, full size)" if valid else
               "no smaller size works, use --draw-size 0")
        raise TfganError(f"draw size {draw_size} does not work for {size}×{size} images (it must be a multiple "
                         f"of 16 from 32 up that divides {size}): {fix}")
    return draw_size


@keras.saving.register_keras_serializable(package="tfgan")
class MinibatchStdDev(layers.Layer):
    """One more feature map: how much the batch varies (Karras et al. 2018, "Progressive Growing of GANs",
    section 3). The batch is split into groups of `group_size`; in each group every feature's standard
    deviation across the group is averaged into one number, appended as a constant channel to the
    group's images. A generator that draws the same face again gives a batch of low spread, which D can
    now see, so collapsing stops paying. It mixes samples, so it is not for a WGAN-GP critic, whose
    gradient penalty is per sample.
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size

    def call(self, x):
        batch = keras.ops.shape(x)[0]
        # A batch that does not split into whole groups (a last partial batch, one sample) is one group.
        group = self.group_size if isinstance(batch, int) and batch % self.group_size == 0 else batch
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        # In float32 under mixed precision too: float16 rounds the 1e-8 below to 0 (sqrt's gradient at 0 is inf).
        grouped = keras.ops.reshape(keras.ops.cast(x, "float32"), (group, -1, h, w, c))  # member i: every (N/g)-th
        centred = grouped - keras.ops.mean(grouped, axis=0, keepdims=True)
        # The small constant keeps sqrt's gradient finite where a group agrees exactly.
        spread = keras.ops.sqrt(keras.ops.mean(keras.ops.square(centred), axis=0) + 1e-8)
        per_group = keras.ops.mean(spread, axis=(1, 2, 3), keepdims=True)  # (N/g, 1, 1, 1)
        channel = keras.ops.tile(per_group, (group, h, w, 1))
        return keras.ops.concatenate([x, keras.ops.cast(channel, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="tfgan")
class Pack(layers.Layer):
    """PacGAN's packing (Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial
    networks", section 3): D judges `size` samples at once, stacked along the channels, and gives one
    verdict per pack. A pack from a generator that draws few kinds of image holds near-copies, which a
    pack of real images rarely does, so D can see the collapse that one sample at a time hides. Packs
    hold samples of one kind only (all real or all generated); the batch must split into whole packs.
    """

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, x):
        batch = x.shape[0]
        if batch is not None and batch % self.size:
            raise ValueError(f"D packs {self.size} images per verdict but got a batch of {batch}: use a batch "
                             f"size divisible by {self.size}")
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        packs = keras.ops.reshape(x, (self.size, -1, h, w, c))  # member i of a pack: every (N/size)-th image
        return keras.ops.reshape(keras.ops.transpose(packs, (1, 2, 3, 0, 4)), (-1, h, w, self.size * c))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.size
        return (batch, *input_shape[1:-1], input_shape[-1] * self.size)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


def dcgan_discriminator(
    image_shape: ImageShape = (64, 64, 3), width: int = 64, norm: str = "batch", hidden: int = 0,
    draw_size: int = 0, minibatch_std: bool = False, pack: int = 1,
) -> keras.Sequential:
    """Strided Conv2D w / 2w / 4w / 8w with LeakyReLU 0.2 -> [Dense hidden, LeakyReLU ->] one logit.

    norm="batch" is the DCGAN discriminator; norm="layer" or "none" makes a WGAN-GP critic, where
    BatchNorm is wrong because the gradient penalty is defined per sample. `hidden` > 0 lets D judge the
    whole picture non-linearly before its verdict (not in the paper; it helped the 28×28 models most).
    `draw_size` smaller than the image: D first averages the image down to that size (the generator's
    drawing size), then judges it there. `minibatch_std` adds the batch's spread as a feature map before
    the verdict (`MinibatchStdDev`). `pack` > 1 judges that many images at a time, one verdict for each
    pack (`Pack`).
    """
    size = image_shape[0]
    drawn = _drawn_size(size, draw_size)
    stack: list = [keras.Input(image_shape)]
    if pack > 1:
        stack.append(Pack(pack))
    if drawn != size:
        stack.append(layers.AveragePooling2D(size // drawn))
    for i, filters in enumerate((width, 2 * width, 4 * width, 8 * width)):
        stack.append(layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=_init()))
        if i > 0 and norm == "batch":  # the paper leaves the first layer unnormalised
            stack.append(layers.BatchNormalization())
        elif i > 0 and norm == "layer":
            stack.append(layers.LayerNormalization(axis=[1, 2, 3]))
        stack.append(layers.LeakyReLU(0.2))
    if minibatch_std:
        stack.append(MinibatchStdDev())
    stack.append(layers.Flatten())
    if hidden:
        stack += [layers.Dense(hidden, kernel_initializer=_init()), layers.LeakyReLU(0.2)]
    stack.append(layers.Dense(1, kernel_initializer=_init()))
    return _check(keras.Sequential(stack, name="discriminator"), (None, 1))


# --- Picking the pair for a preset ------------------------------------------------------------------

ARCHITECTURES = ("tutorial", "mnist", "mlp", "dcgan", "toy")


def build(
    architecture: str,
    latent_dim: int,
    image_shape: ImageShape,
    width: int = 64,
    critic: bool = False,
    num_classes: int = 0,
    acgan: bool = False,
    spectral_norm: bool = False,
    g_dropout: float = 0.0,
    d_dropout: float = 0.3,
    hidden: int = 0,
    g_batchnorm: bool = True,
    g_upsample: str = "transpose",
    draw_size: int = 0,
    minibatch_std: bool = False,
    pack: int = 1,
) -> tuple[keras.Model, keras.Model]:
    """Return (generator, discriminator) for an architecture name and an image shape.

    critic=True makes the discriminator a WGAN critic: no BatchNorm (LayerNorm instead), no dropout.
    num_classes > 0 makes a conditional pair (the 28×28 'mnist' models only); acgan adds D's class head.
    spectral_norm wraps D's Conv2D / Dense layers; g_dropout adds Dropout to the 'mnist' generators,
    d_dropout sets the rate of the 'mnist' discriminators' Dropout layers (0: none), and hidden > 0 adds
    a fully connected layer of that many units to both 'mnist' or 'dcgan' models. g_batchnorm=False takes
    BatchNorm out of the unconditional 'mnist' generator (WGAN-GP paper, fig. 2: an architecture the
    standard GAN loss finds hard to train). g_upsample="resize" builds the unconditional 'mnist'
    generator with resize-convolutions instead of transposed ones (see `upsampling`). For the 'dcgan'
    models only: draw_size (e.g. 32 for 64×64 images) makes both networks work at that smaller size, and
    minibatch_std lets D see the batch's spread (`MinibatchStdDev`), and pack > 1 makes D judge packs of
    that many images (`Pack`).
    """
    if (draw_size or minibatch_std or pack > 1) and architecture != "dcgan":
        raise TfganError(f"--draw-size, --minibatch-std and --pack are built for the 'dcgan' models, not "
                         f"'{architecture}': drop them, or use a 64×64 DCGAN preset such as anime-dcgan")
    if (minibatch_std or pack > 1) and critic:
        flag = "--minibatch-std" if minibatch_std else "--pack"
        raise TfganError(f"{flag} mixes the samples of a batch, which a WGAN critic's per-sample gradient "
                         "penalty forbids: drop it, or use a non-Wasserstein loss")
    if pack < 1:
        raise TfganError(f"--pack must be 1 (one image per verdict) or more, got {pack}")
    generator, discriminator = _build(architecture, latent_dim, image_shape, width, critic, num_classes,
                                      acgan, g_dropout, d_dropout, hidden, g_batchnorm, g_upsample,
                                      draw_size, minibatch_std, pack)
    if spectral_norm:
        discriminator = with_spectral_norm(discriminator)
    return generator, discriminator


def _build(architecture, latent_dim, image_shape, width, critic, num_classes, acgan, g_dropout, d_dropout,
           hidden, g_batchnorm, g_upsample, draw_size=0, minibatch_std=False, pack=1):
    if architecture == "toy" or is_toy(image_shape):
        if architecture != "toy" or not is_toy(image_shape):
            raise TfganError(f"the 'toy' models draw 2-D points (ring8, grid25, spiral); got architecture "
                             f"'{architecture}' for data of shape {tuple(image_shape)}")
        if num_classes or acgan or hidden or not g_batchnorm or g_upsample != "transpose":
            raise TfganError("the toy models take no classes, --acgan, --hidden, g_batchnorm or --g-upsample")
        return toy_generator(latent_dim, width, g_dropout), toy_discriminator(width)
    h, w, c = image_shape
    if (num_classes or acgan or g_dropout) and architecture != "mnist":
        raise TfganError(f"class conditioning, --acgan and G dropout need the 'mnist' models (G dropout: or "
                         f"the 'toy' ones), not '{architecture}'")
    if g_upsample not in UPSAMPLINGS:
        raise TfganError(f"unknown upsampling '{g_upsample}': choose one of {', '.join(UPSAMPLINGS)}")
    if g_upsample != "transpose" and (architecture != "mnist" or num_classes):
        raise TfganError(f"--g-upsample {g_upsample} is built for the unconditional 'mnist' models only, not "
                         f"'{architecture}'{' with classes' if num_classes else ''}")
    if not g_batchnorm and (architecture != "mnist" or num_classes):
        raise TfganError(f"a generator without BatchNorm is built for the unconditional 'mnist' models only, "
                         f"not '{architecture}'{' with classes' if num_classes else ''}")
    if hidden and architecture not in ("mnist", "dcgan"):
        raise TfganError(f"--hidden needs the 'mnist' or 'dcgan' models, not '{architecture}'")
    if acgan and not num_classes:
        raise TfganError("--acgan needs a conditional preset (num_classes > 0), e.g. mnist-cgan")
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
        dropout = 0.0 if critic else d_dropout
        if num_classes:
            return (cgan_generator(latent_dim, num_classes, width, c, dropout=g_dropout, hidden=hidden),
                    cgan_discriminator(image_shape, num_classes, width, dropout, acgan, hidden=hidden))
        return (mnist_generator(latent_dim, width, c, g_dropout, hidden, g_batchnorm, g_upsample),
                mnist_discriminator(image_shape, width, dropout, hidden))
    if architecture == "mlp":
        return mlp_generator(latent_dim, image_shape, width), mlp_discriminator(image_shape, width)
    if architecture == "dcgan":
        if h != w:
            raise TfganError(f"DCGAN models need square images, got {h}×{w}")
        norm = "layer" if critic else "batch"
        return (dcgan_generator(latent_dim, image_shape, width, hidden, draw_size),
                dcgan_discriminator(image_shape, width, norm, hidden, draw_size, minibatch_std, pack))
    raise TfganError(f"unknown architecture '{architecture}': choose one of {', '.join(ARCHITECTURES)}")
