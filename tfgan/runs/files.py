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
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno is not None:
            # Name the file that was asked for, not the hidden temporary one (same errno, same subclass).
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    return path


def truncate_lines(path: str | os.PathLike, lines: int) -> None:
    """Keep the first `lines` lines of a file, cut in place: unlike a rewrite, it needs no free space."""
    path = Path(path)
    if not path.is_file():
        return
    data = path.read_bytes()
    end = 0
    for _ in range(lines):
        end = data.find(b"\n", end) + 1
        if end == 0:  # fewer lines than that: nothing to cut
            return
    os.truncate(path, end)
