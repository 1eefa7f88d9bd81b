"""A trained generator as a file that needs no tfgan: `.keras`, SavedModel or TFLite, with a model card.

`python -m tfgan export RUN_DIR [--format keras|savedmodel|tflite]` is `export_run(...)`:

- `keras`: the generator alone (its weight average when the run kept one) in a `.keras` file that
  plain `keras.saving.load_model(path)` loads with `safe_mode` on: only built-in layers. Inputs are
  named `noise` (and `label` for a conditional GAN); the output is images in [-1, 1]. The file's
  `metadata.json` carries what a user needs under the key "tfgan": latent size, classes, image
  shape, value range, preset, step.
- `savedmodel`: a TensorFlow SavedModel whose `serving_default` signature takes a batch of noise (and
  labels) and returns uint8 images in 0..255, ready for TF Serving (`saved_model_cli show --all`).
- `tflite`: the same function as a TFLite flatbuffer, for phones and browsers.

Every export gets `model_card.json` and `README.md` beside it: what was trained on what, the
metrics from `eval` with their floors, versions, and one line of code that draws a grid. Files are
written under a temporary name and renamed, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan.errors import TfganError
from tfgan.evaluation import evaluate
from tfgan.runs.config import uses_ema
from tfgan.runs.files import UMASK, atomic_write_bytes
from tfgan.samples import is_toy, unit_to_255
from tfgan.trained import METADATA_KEY, load_generator, sample_images
from tfgan.tricks.latent import check_truncation

EXPORT_FORMATS = ("keras", "savedmodel", "tflite")
DEFAULT_NAMES = {"keras": "generator.keras", "savedmodel": "saved_model", "tflite": "generator.tflite"}


def standalone_generator(generator: keras.Model, info: dict) -> keras.Model:
    """G behind named inputs (`noise`, and `label` when conditional). For a run that drew z on a sphere
    the model puts any noise on that sphere itself (built-in layers only), so callers may pass plain
    Gaussian noise. An export with truncation ψ shrinks the noise by ψ before G sees it."""
    dim = info["latent_dim"]
    noise = keras.Input((dim,), name="noise")
    z = noise
    if info.get("truncation") is not None:
        z = keras.layers.Rescaling(info["truncation"], name="truncation")(z)
    if info.get("latent") == "sphere":
        z = keras.layers.Rescaling(math.sqrt(dim))(keras.layers.UnitNormalization()(z))
    if info["num_classes"]:
        label = keras.Input((), dtype="int32", name="label")
        return keras.Model([noise, label], generator([z, label], training=False), name="tfgan_generator")
    return keras.Model(noise, generator(z, training=False), name="tfgan_generator")


def generator_info(config: dict, step: int, best: bool, truncation: float | None = None) -> dict:
    """What a user of the file needs to know, from the run's config."""
    return {
        "truncation": check_truncation(truncation, config.get("latent", "gaussian")),
        "latent_dim": int(config["latent_dim"]),
        "num_classes": int(config.get("num_classes", 0)),
        "image_shape": list(config["image_shape"]),
        "value_range": [-1.0, 1.0],
        "latent": config.get("latent", "gaussian"),
        "preset": config.get("preset"),
        "dataset": config.get("dataset"),
        "seed": int(config.get("seed", 0)),
        "step": int(step),
        "checkpoint": "best" if best else "latest",
        "weights": "ema" if uses_ema(config) else "generator",
    }


# --------------------------------------------------------------------------
# Writing files safely
# --------------------------------------------------------------------------


def _temp_folder(path: Path) -> Path:
    """An empty folder beside `path`, to be renamed to it once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))


def _replace_folder(tmp: Path, path: Path) -> None:
    """Move a finished folder into place; an older folder of that name goes only then."""
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


# --------------------------------------------------------------------------
# The three formats
# --------------------------------------------------------------------------


def write_keras(model: keras.Model, info: dict, out: Path) -> Path:
    """`model.save`, with `info` added to the archive's metadata.json (Keras itself ignores it)."""
    out.parent.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails before the model is saved
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "generator.keras"  # Keras insists on the extension
        model.save(saved)
        buf = io.BytesIO()
        with zipfile.ZipFile(saved) as source, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "metadata.json":
                    data = json.dumps({**json.loads(data), METADATA_KEY: info}, indent=2).encode()
                target.writestr(item, data)
    return atomic_write_bytes(out, buf.getvalue())


def serving_function(model: keras.Model, info: dict):
    """noise (and labels) -> {"images": uint8 0..255}, the function that SavedModel and TFLite carry
    ({"points": float32} for a generator of 2-D toy points)."""
    noise_spec = tf.TensorSpec([None, info["latent_dim"]], tf.float32, name="noise")
    if is_toy(info["image_shape"]):
        @tf.function(input_signature=[noise_spec])
        def serve_points(noise):
            return {"points": tf.cast(model(noise, training=False), tf.float32)}
        return serve_points

    def to_uint8(images):
        return tf.cast(tf.clip_by_value(tf.round(unit_to_255(images)), 0.0, 255.0), tf.uint8)

    if info["num_classes"]:
        @tf.function(input_signature=[noise_spec, tf.TensorSpec([None], tf.int32, name="label")])
        def serve(noise, label):
            return {"images": to_uint8(model([noise, label], training=False))}
    else:
        @tf.function(input_signature=[noise_spec])
        def serve(noise):
            return {"images": to_uint8(model(noise, training=False))}
    return serve


def write_savedmodel(model: keras.Model, info: dict, out: Path) -> Path:
    from keras.export import ExportArchive

    tmp = _temp_folder(out)
    try:
        archive = ExportArchive()
        archive.track(model)
        archive.add_endpoint("serving_default", serving_function(model, info))
        archive.write_out(str(tmp), verbose=False)
        (tmp / "assets.extra").mkdir(exist_ok=True)
        (tmp / "assets.extra" / "tfgan.json").write_text(json.dumps(info, indent=2))
        os.chmod(tmp, 0o777 & ~UMASK)  # mkdtemp makes a 0700 folder; give the usual permissions
        _replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def tflite_bytes(model: keras.Model, info: dict) -> bytes:
    """The serving function converted to TFLite (built-in ops only: Dense, transposed convolutions,
    BatchNorm folded, LeakyReLU, tanh, an embedding gather for a cGAN). It goes through a SavedModel,
    whose variables the converter freezes into constants."""
    with tempfile.TemporaryDirectory() as folder:
        write_savedmodel(model, info, Path(folder) / "saved_model")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(folder) / "saved_model"),
                                                             signature_keys=["serving_default"])
        try:
            return converter.convert()
        except Exception as e:  # the converter raises ConverterError and friends
            raise TfganError(f"TFLite could not convert this generator ({str(e).splitlines()[0][:160]}); the "
                             "keras and savedmodel formats still work") from e


def write_tflite(model: keras.Model, info: dict, out: Path) -> Path:
    return atomic_write_bytes(out, tflite_bytes(model, info))


# --------------------------------------------------------------------------
# The model card
# --------------------------------------------------------------------------


def noise_kind(info: dict) -> str:
    """The noise the exported model takes: U(-1, 1) for a uniform-z run; otherwise a standard normal
    (a sphere run's model projects it itself)."""
    return "uniform" if info.get("latent") == "uniform" else "gaussian"


def _noise_code(info: dict, rows: int) -> str:
    size = f"size=({rows}, {info['latent_dim']})"
    draw = f"np.random.uniform(-1, 1, {size})" if noise_kind(info) == "uniform" else f"np.random.normal({size})"
    return f"{draw}.astype('float32')"


def grid_one_liner(filename: str, info: dict) -> str:
    """One line of Python that loads the .keras file (plain Keras) and saves a 4×4 grid as grid.png
    (prints a few points for a generator of 2-D toy points)."""
    if is_toy(info["image_shape"]):
        return (f"import keras, numpy as np; g = keras.saving.load_model('{filename}'); "
                f"print(np.asarray(g({_noise_code(info, 5)})))")
    h, w, c = info["image_shape"]
    call = (f"g([{_noise_code(info, 16)}, np.arange(16) % {info['num_classes']}])" if info["num_classes"] else
            f"g({_noise_code(info, 16)})")
    squeeze = "[..., 0]" if c == 1 else ""
    return (f"import keras, numpy as np; from PIL import Image; g = keras.saving.load_model('{filename}'); "
            f"x = np.asarray({call}); Image.fromarray(((x.reshape(4, 4, {h}, {w}, {c}).transpose(0, 2, 1, 3, 4)"
            f".reshape({4 * h}, {4 * w}, {c}){squeeze} + 1) * 127.5).clip(0, 255).astype('uint8')).save('grid.png')")


def model_card(info: dict, config: dict, metrics: dict | None, data: dict | None, files: dict) -> dict:
    import tfgan

    return {
        "model": f"tfgan {info['preset']} generator",
        "step": info["step"],
        "checkpoint": info["checkpoint"],
        "seed": info["seed"],
        "data": data or {"dataset": info["dataset"]},
        "generator": info,
        "config": config,
        "metrics": metrics,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "tfgan": tfgan.__version__},
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "files": files,
        "load": grid_one_liner(files.get("keras", DEFAULT_NAMES["keras"]), info),
    }


def card_readme(card: dict, metrics_text: str | None) -> str:
    info = card["generator"]
    shape = "×".join(map(str, info["image_shape"]))
    inputs = f"`noise` (float32, N × {info['latent_dim']})"
    if info["num_classes"]:
        inputs += f" and `label` (int32, N, 0 to {info['num_classes'] - 1})"
    drawn = "from U(-1, 1)" if noise_kind(info) == "uniform" else "from a standard normal"
    if info.get("truncation") is not None:
        drawn += f"; truncation ψ = {info['truncation']:g} is built in (the model shrinks the noise by it)"
    source, count = card["data"].get("source", info["dataset"]), card["data"].get("images")
    if count and f"{count:,}" not in source:
        source += f" ({count:,} images)"
    lines = [
        f"# {card['model']}",
        "",
        f"Trained for {card['step']:,} steps (seed {card['seed']}) on {source}.",
        (f"Input: {inputs}, noise drawn {drawn}. Output: 2-D points (float32)."
         if is_toy(info["image_shape"]) else
         f"Input: {inputs}, noise drawn {drawn}. Output: {shape} images in [-1, 1] "
         "(`.keras`) or uint8 0..255 (SavedModel and TFLite, signature `serving_default`)."),
        "",
        "Files: " + ", ".join(f"`{name}` ({fmt})" for fmt, name in sorted(card["files"].items())),
        "",
        "Use it with nothing but Keras, NumPy (and Pillow for the grid):",
        "",
        "```python",
        card["load"],
        "```",
        "",
    ]
    if metrics_text:
        lines += ["Metrics (`python -m tfgan eval`), each beside its real-vs-real floor:", "", "```",
                  metrics_text, "```", ""]
    versions = card["versions"]
    lines.append(f"TensorFlow {versions['tensorflow']}, Keras {versions['keras']}, tfgan {versions['tfgan']}; "
                 f"exported {card['date']}.")
    return "\n".join(lines) + "\n"


def _previous_card(folder: Path, info: dict) -> dict:
    """The card already in this folder if it describes the same checkpoint (another format of it)."""
    try:
        old = json.loads((folder / "model_card.json").read_text())
    except (OSError, ValueError):
        return {}
    same = (isinstance(old, dict) and old.get("generator", {}).get("step") == info["step"]
            and old.get("generator", {}).get("preset") == info["preset"]
            and old.get("generator", {}).get("truncation") == info.get("truncation"))
    return old if same else {}


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str = "keras",
               best: bool = False, num: int = 2000, seed: int = 0, truncation: float | None = None) -> dict:
    """Export a run's generator and write the model card beside it; returns the card.

    `num` samples are scored for the card (0: no metrics). `truncation` ψ is built into the model.
    """
    if fmt not in EXPORT_FORMATS:
        raise TfganError(f"unknown export format '{fmt}': choose one of {', '.join(EXPORT_FORMATS)}")
    if Path(run_dir).is_file():
        raise TfganError(f"{run_dir} is a file: export takes the run directory it came from")
    generator, config, step = load_generator(run_dir, best=best)
    out = Path(out) if out else Path(run_dir) / "export" / DEFAULT_NAMES[fmt]
    if fmt == "keras" and out.suffix != ".keras":
        raise TfganError(f"a keras export is a .keras file, got '{out.name}': e.g. --out {out.with_suffix('.keras')}")
    if fmt == "tflite" and out.suffix != ".tflite":
        raise TfganError(f"a tflite export is a .tflite file, got '{out.name}': e.g. --out "
                         f"{out.with_suffix('.tflite')}")
    info = generator_info(config, step, best, truncation)
    model = standalone_generator(generator, info)

    metrics, data, metrics_text = None, None, None
    if num:
        real = evaluate.real_images(config)
        data = {"dataset": config["dataset"], "source": real.source, "images": len(real.images)}
        # What a user of the file would draw.
        fake = sample_images(model, num, info["latent_dim"], seed, latent_kind=noise_kind(info))
        metrics = evaluate.evaluate_images(fake, real.images, seed, evaluate.metric_kind(real), inception=False)
        metrics = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in metrics.items()}
        metrics_text = evaluate.format_metrics(metrics)

    {"keras": write_keras, "savedmodel": write_savedmodel, "tflite": write_tflite}[fmt](model, info, out)
    previous = _previous_card(out.parent, info)  # another format of this checkpoint: keep its files and figures
    files = {k: v for k, v in previous.get("files", {}).items() if (out.parent / v).exists()}
    if metrics is None and previous.get("metrics"):
        metrics, data = previous["metrics"], previous.get("data")
        metrics_text = evaluate.format_metrics(metrics)
    card = model_card(info, config, metrics, data, {**files, fmt: out.name})
    atomic_write_bytes(out.parent / "model_card.json", json.dumps(card, indent=2).encode())
    atomic_write_bytes(out.parent / "README.md", card_readme(card, metrics_text).encode())
    card["path"] = str(out)
    return card


def savedmodel_signature(path: str | os.PathLike) -> str:
    """A short description of the SavedModel's serving signature (what `saved_model_cli show` lists)."""
    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures["serving_default"]
    inputs = ", ".join(f"{k}: {v.dtype.name} {v.shape}" for k, v in fn.structured_input_signature[1].items())
    outputs = ", ".join(f"{k}: {v.dtype.name} {v.shape}" for k, v in fn.structured_outputs.items())
    return f"serving_default({inputs}) -> {outputs}"

