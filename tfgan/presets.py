"""Named training recipes: which models, loss, optimizer, data and how long.

A preset is plain data. The command line and the notebooks both start from one and may override any
field (`preset.replace(batch_size=128)`), so a run directory's `config.json` says exactly what ran.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

from tfgan.errors import TfganError


@dataclass(frozen=True)
class Preset:
    name: str
    architecture: str = "mnist"  # see models.build
    loss: str = "nonsaturating"  # see losses.LOSSES
    dataset: str = "mnist"  # mnist | fashion_mnist | FILE.npz | image folder | anime
    image_size: int = 28  # image folders are resized to this; arrays keep their own size
    channels: int = 1
    latent_dim: int = 100
    width: int = 64  # base number of filters (or units for the MLP)
    d_dropout: float = 0.3  # dropout in the 'mnist' discriminators (WGAN critics never have any)
    hidden: int = 0  # > 0: a fully connected layer of this many units after z in G and before D's logit
    batch_size: int = 64
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    optimizer: str = "adam"  # adam | rmsprop (weight-clipping WGAN)
    d_steps: int = 1  # discriminator (critic) updates per generator update
    gp_weight: float = 10.0  # WGAN-GP λ
    clip_value: float = 0.01  # weight clipping for wgan-clip
    real_label: float = 1.0  # < 1 is one-sided label smoothing
    ema: float = 0.0  # > 0: keep an exponential moving average of G's weights (e.g. 0.999) for samples
    num_classes: int = 0  # > 0: a conditional GAN (cGAN); G and D also take the class label
    acgan: bool = False  # conditional only: D also classifies (AC-GAN), its cross-entropy joins both losses
    # Tricks, all off by default:
    label_flip: float = 0.0  # noisy labels: swap D's real/fake targets with this probability
    instance_noise: float = 0.0  # σ of Gaussian noise added to D's inputs, annealed linearly to 0
    latent: str = "gaussian"  # gaussian | sphere (z normalised to radius sqrt(latent_dim)) | uniform
    spectral_norm: bool = False  # spectral normalisation of D's Conv2D / Dense layers
    g_dropout: float = 0.0  # dropout rate in G (the 'mnist' and 'toy' models)
    g_upsample: str = "transpose"  # transpose | resize: how the 'mnist' G doubles its size (see models)
    g_batchnorm: bool = True  # False: no BatchNorm in G (the unconditional 'mnist' models)
    draw_size: int = 0  # 'dcgan' only; > 0 (e.g. 32 for 64×64): G draws and D judges at this size (see models)
    minibatch_std: bool = False  # 'dcgan' only: D sees the batch's spread (ProGAN's minibatch stddev)
    pack: int = 1  # 'dcgan' only; > 1: D judges packs of this many images, one verdict each (PacGAN)
    diffaugment: str = ""  # DiffAugment policy for small datasets, e.g. "color,translation,cutout"
    steps: int = 3000  # default training length (generator updates)
    sample_every: int = 100  # a progress-GIF frame every this many steps
    # Checkpoints come every --checkpoint-secs (60 s) anyway; by steps only rarely: a save costs ~50 ms,
    # and 500 steps, once the default, go by in half a second on a GPU.
    checkpoint_every: int = 5000
    num_samples: int = 64  # images in each frame's grid (a square number)
    description: str = ""

    def replace(self, **changes) -> Preset:
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TfganError(f"unknown preset field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Every setting's default: what a config.json or band file written before a setting existed meant by it.
FIELD_DEFAULTS: dict = {f.name: f.default for f in dataclasses.fields(Preset)}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            name="mnist-dcgan",
            # Each measured on this CPU over the same minutes (benchmarks/RESULTS.md): a hidden layer in
            # G and D lets both judge the whole digit (the largest gain), D without dropout (its random
            # masks cost a third of the step), G learning eight times as fast as D, D seeing randomly
            # shifted digits (DiffAugment) so that it cannot memorise the 5,000 offline ones and the
            # mix of digits stays even, and samples from the weight average.
            hidden=256,
            d_dropout=0.0,
            g_lr=1.6e-3,
            diffaugment="translation",
            ema=0.999,
            steps=10000,  # about 7 minutes on a 2-core CPU; ~82% of the digits recognised with confidence
            description="DCGAN on MNIST, tuned to draw clear digits within minutes on a laptop CPU",
        ),
        Preset(
            name="mnist-dcgan-tutorial",
            architecture="tutorial",
            batch_size=256,
            g_lr=1e-4,
            d_lr=1e-4,
            beta_1=0.9,
            steps=4690,  # 20 epochs of 60,000 images at batch 256, as in the tutorial's notebook
            description="the official TensorFlow DCGAN tutorial's models and recipe, for comparison",
        ),
        Preset(
            name="mnist-cgan",
            num_classes=10,
            num_samples=100,  # 10×10 frames: one row per digit
            ema=0.999,  # the averaged generator's digits are cleaner, and classified right more often
            steps=3500,  # ≥ 93% of each requested digit classified as that digit, ~5 min on a 2-core CPU
            description="conditional DCGAN on MNIST: ask for a digit, get that digit",
        ),
        Preset(
            name="mnist-mlp",
            architecture="mlp",
            width=256,
            description="the original fully connected GAN on MNIST",
        ),
        Preset(
            name="anime-dcgan",
            architecture="dcgan",
            dataset="anime",
            image_size=64,
            channels=3,
            # Sized for a laptop CPU (benchmarks/RESULTS.md): the paper's networks at width 24 instead of 64
            # (a sixth of the arithmetic per image), D seeing randomly shifted faces (DiffAugment) so that it
            # cannot memorise the 5,000 offline ones, spectral normalisation of D's layers (a smoother D:
            # the Fréchet distance fell by a third on three seeds) and samples from the weight average.
            # Unlike on MNIST, a G faster than D cost variety here (fewer hair-colour × style
            # combinations), so both keep 2e-4.
            width=24,
            spectral_norm=True,
            diffaugment="translation",
            ema=0.999,
            batch_size=64,
            steps=3000,  # about 10 minutes on a 2-core CPU (574 s in notebook 02)
            sample_every=100,
            description="DCGAN on 64×64 anime faces, sized to draw varied faces within minutes on a laptop CPU",
        ),
        Preset(
            name="anime-dcgan-radford",
            architecture="dcgan",
            dataset="anime",
            image_size=64,
            channels=3,
            batch_size=64,
            steps=5000,
            sample_every=100,
            description="the faithful DCGAN (Radford et al.): 64×64, width 64, Adam 2e-4 / β1 0.5; for a GPU",
        ),
        Preset(
            name="wgan-gp",
            architecture="auto",  # mnist models for 28×28 data, DCGAN-style for 64×64 folders
            loss="wgan-gp",
            dataset="mnist",
            # Tuned by wall time on a CPU (benchmarks/RESULTS.md): the paper's 5 critic steps at lr 1e-4
            # drew far worse digits in the same minutes than one critic step and a generator learning
            # eight times as fast, at half mnist-dcgan's width, with its hidden layer, DiffAugment and EMA,
            # and the paper's Adam betas (0, 0.9): β1 0.5 scored 7 points lower at 5 minutes.
            width=32,
            hidden=256,
            g_lr=1.6e-3,
            d_lr=2e-4,
            beta_1=0.0,
            beta_2=0.9,
            d_steps=1,
            diffaugment="translation",
            ema=0.999,
            steps=8000,  # about 10 minutes on a 2-core CPU
            description="WGAN-GP: Wasserstein loss, gradient penalty λ=10, tuned to draw digits within minutes on a CPU",
        ),
        Preset(
            name="toy-gan",
            architecture="toy",  # three-layer MLPs for 2-D points (models.toy_generator)
            dataset="ring8",  # or grid25, spiral (tfgan.data.toy)
            latent_dim=16,
            width=128,
            batch_size=256,
            g_lr=1e-3,
            d_lr=1e-3,
            beta_1=0.5,
            d_dropout=0.0,
            num_samples=1024,  # points drawn from the fixed noise in every frame
            sample_every=100,
            checkpoint_every=1000,
            steps=2000,  # seconds on a CPU
            description="a standard GAN on 2-D toy data (ring8, grid25, spiral): failure modes in seconds",
        ),
    ]
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        close = difflib.get_close_matches(name, PRESETS, n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
        raise TfganError(f"unknown preset '{name}': {guess}choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


COLOUR_DATASETS = ("anime", "faces")
# WGAN-GP on the 2-D toys: five critic steps as in the paper, at a rate that works within seconds
# (benchmarks/RESULTS.md).
TOY_WGAN_GP = {"optimizer": "adam", "d_steps": 5, "g_lr": 5e-4, "d_lr": 5e-4, "beta_1": 0.0, "beta_2": 0.9}


def for_dataset(preset: Preset, dataset: str) -> Preset:
    """A grayscale 28×28 preset pointed at the colour faces takes the face presets' image size and width.

    `train wgan-gp --dataset anime` then trains 64×64 colour faces with the DCGAN-style models at the
    width measured to suit a CPU, instead of shrinking the faces to 28×28 gray. Other data is unchanged.
    """
    if dataset not in COLOUR_DATASETS or preset.channels == 3:
        return preset
    faces = PRESETS["anime-dcgan"]
    architecture = "auto" if preset.architecture in ("auto", "mnist", "tutorial") else preset.architecture
    return preset.replace(dataset=dataset, image_size=faces.image_size, channels=faces.channels,
                          width=faces.width, hidden=0, architecture=architecture)


def with_loss(preset: Preset, loss: str) -> Preset:
    """Switch a preset's loss, with the optimizer settings that loss needs."""
    if loss == "wgan-clip":
        # Arjovsky et al.: RMSprop (momentum destabilises clipped critics), lr 5e-5, 5 critic steps.
        return preset.replace(loss=loss, optimizer="rmsprop", g_lr=5e-5, d_lr=5e-5, d_steps=5)
    if loss == "wgan-gp" and preset.architecture == "toy":
        return preset.replace(loss=loss, **TOY_WGAN_GP)
    if loss == "wgan-gp":
        # The optimizer of the wgan-gp preset, tuned by wall time on a CPU (benchmarks/RESULTS.md).
        tuned = PRESETS["wgan-gp"]
        return preset.replace(loss=loss, optimizer="adam", g_lr=tuned.g_lr, d_lr=tuned.d_lr, beta_1=tuned.beta_1,
                              beta_2=tuned.beta_2, d_steps=tuned.d_steps)
    return preset.replace(loss=loss)
