"""Stop requests: Ctrl-C, SIGTERM and SIGHUP end training cleanly instead of killing it mid-write.

`timeout`, `docker stop`, systemd, Kubernetes, Slurm preemption and a host shutdown send SIGTERM; a closed
terminal sends SIGHUP; Ctrl-C (and a notebook's interrupt button) send SIGINT. While a `StopRequests`
is active, each of them only sets a flag. The training loop looks at it between compiled calls,
finishes the step it is in, then saves a checkpoint, the history and the GIF. A second signal while it
saves changes nothing: the save goes on, and every file is written atomically anyway.

Before there is anything to save (data loading, model building), `raise_now` makes a signal stop at
once instead, as `StoppedEarly`: waiting for a large image folder to finish loading would only delay it.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Self

CAUGHT = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
               if s is not None)


class StoppedEarly(KeyboardInterrupt):
    """A stop signal that came before training started: nothing was trained, so nothing is saved."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopRequests:
    """A context manager: while it is active, the signals in CAUGHT set `signum` instead of killing us."""

    def __init__(self, echo=None):
        self.signum: int | None = None
        self._echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self._previous: dict[int, object] = {}
        self.raise_now = False  # True while there is nothing to save: stop at once

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def _handle(self, signum, frame) -> None:
        if self.raise_now:
            raise StoppedEarly(signum)
        if self.signum is None:
            self.signum = signum
            self._echo(f"\n{signal.Signals(signum).name}: stopping after this step, then saving")
        else:
            self._echo(f"{signal.Signals(signum).name} again: already stopping, the save goes on")

    def __enter__(self) -> Self:
        # Handlers can only be set from the main thread; elsewhere signals keep their old behaviour
        # (Ctrl-C still arrives as KeyboardInterrupt, which the loop also turns into a clean stop).
        if threading.current_thread() is threading.main_thread():
            for signum in CAUGHT:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()
