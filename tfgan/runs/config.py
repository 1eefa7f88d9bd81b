"""A run's config.json: the preset, data and shapes it was trained with. TensorFlow-free, so that the
`gif` command can read it."""

from __future__ import annotations

import json
from pathlib import Path

from tfgan.errors import TfganError
from tfgan.runs.files import atomic_write_bytes

CONFIG_VERSION = 1  # raised when config.json changes in a way older tfgan cannot read


def read_config(run_dir: str | Path) -> dict | None:
    """The run's config.json; None when there is none. Garbage, or a config written by a newer tfgan,
    is a one-line error (the run's checkpoints stay as they are)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise TfganError(f"{path} is unreadable ({str(e)[:80]}); delete it or pass --fresh") from e
    if not isinstance(config, dict) or not isinstance(config.get("config_version", 1), int):
        raise TfganError(f"{path} is not a tfgan run config; delete it or pass --fresh")
    if config.get("config_version", 1) > CONFIG_VERSION:
        raise TfganError(f"{path} was written by a newer tfgan (config version {config['config_version']}, this one "
                         f"reads up to {CONFIG_VERSION}): upgrade tfgan (pip install -U tfgan) to use this run")
    return config


def write_config(run_dir: str | Path, config: dict) -> None:
    atomic_write_bytes(Path(run_dir) / "config.json", json.dumps(config, indent=2).encode())


def uses_ema(config: dict) -> bool:
    """Whether the run keeps a weight average of G (which is then what samples come from)."""
    return config.get("ema", 0) > 0


def generator_key(config: dict) -> str:
    """The checkpoint's name for the generator that samples are drawn from: the weight average when
    the run kept one."""
    return "ema_generator" if uses_ema(config) else "generator"
