"""Writing a run's files whole: every file goes to a temporary name and is renamed into place, so a
run killed mid-write never leaves a half-written PNG, GIF, CSV or JSON behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

UMASK = os.umask(0o022)
os.umask(UMASK)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temp file in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
