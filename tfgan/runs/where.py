"""Where a notebook's runs live and what they train on: Google Drive in Colab, the device line.

A recycled Colab VM loses its disk, and with it `runs/`. With the runs on Google Drive a notebook
opened again on a new VM finds its checkpoints and resumes where it stopped:

    RUN_ROOT = where.run_root(ON_DRIVE)        # Drive in Colab (when it mounts), runs/ elsewhere
    FRESH = where.start_over(FRESH, RUN_DIR)   # start over, except a run on Drive, which resumes
    print(where.device_line(cpu_minutes=15))   # "training on a GPU (...)" or how long a CPU takes
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tfgan.errors import TfganError

DRIVE_MOUNT = "/content/drive"
DRIVE_FOLDER = "MyDrive/tfgan/runs"  # the runs' folder inside a mounted Drive


def in_colab() -> bool:
    return "google.colab" in sys.modules


def run_root(on_drive: bool | None = None, local: str | os.PathLike = "runs", say=print) -> Path:
    """The folder the notebook's runs go in. `$TFGAN_RUN_ROOT` wins; in Colab, Google Drive unless
    `on_drive` is False (None: Drive when it mounts, else the VM's disk, saying so); elsewhere `local`.
    `on_drive=True` outside Colab is an error: there is no Drive to mount."""
    if os.environ.get("TFGAN_RUN_ROOT"):
        return Path(os.environ["TFGAN_RUN_ROOT"])
    if not in_colab():
        if on_drive:
            raise TfganError("ON_DRIVE = True needs Colab (Google Drive is mounted there): set it to None here")
        return Path(local)
    if on_drive is False:
        say(f"runs go to the VM's disk ({Path(local).resolve()}): they are lost when Colab recycles the VM")
        return Path(local)
    try:
        from google.colab import drive  # only in Colab

        drive.mount(DRIVE_MOUNT)
    except Exception as e:  # the user declined, or Drive is unreachable
        if on_drive:
            raise
        say(f"Google Drive did not mount ({type(e).__name__}: {str(e)[:80]}); runs go to the VM's disk, "
            "and are lost when Colab recycles it")
        return Path(local)
    root = Path(DRIVE_MOUNT) / DRIVE_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    say(f"runs go to Google Drive ({root}): a new VM resumes them where they stopped")
    return root


def device_line(cpu_minutes: float | None = None, note: str = "") -> str:
    """One line saying what training runs on; on a CPU, roughly how long the full run takes there (as
    measured on a 2-core CPU; `note` qualifies it) and how to get a GPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        return f"training on {'a GPU' if len(gpus) == 1 else f'{len(gpus)} GPUs'} ({', '.join(names)})"
    cores = os.cpu_count() or 1
    line = f"training on the CPU ({cores} core{'s' * (cores != 1)}), no GPU"
    if cpu_minutes:
        line += f": the full run takes about {cpu_minutes:g} minutes on a 2-core CPU{note}"
    how = ("Runtime → Change runtime type → GPU, then run the notebook again" if in_colab() else
           "on a machine with an NVIDIA GPU, pip install 'tensorflow[and-cuda]'")
    faster = (". This CPU has bfloat16 instructions: mixed_precision='bfloat16' in start_run (--bfloat16) "
              "may train faster (the anime-dcgan step: 1.28× on a 2-core AVX-512 BF16 CPU)" if native_bfloat16() else "")
    return f"{line}{faster}. For a GPU: {how}"


BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 instruction sets that compute bfloat16 natively


def native_bfloat16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """Whether this CPU has bfloat16 instructions (Linux's flags; False where they cannot be read).
    Without them, bfloat16 is emulated and slower than float32."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path(cpuinfo).read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in BFLOAT16_FLAGS)


def on_drive(path: str | os.PathLike) -> bool:
    """Whether `path` is on the mounted Google Drive."""
    return Path(path).resolve().is_relative_to(Path(DRIVE_MOUNT).resolve())


def start_over(fresh: bool | None, run_dir: str | os.PathLike) -> bool:
    """A notebook's FRESH: as given, or when None, yes (the same story on every run) except for a run on
    Google Drive, which resumes where the last VM stopped."""
    return (not on_drive(run_dir)) if fresh is None else bool(fresh)
