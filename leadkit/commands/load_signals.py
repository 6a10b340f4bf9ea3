"""Ctrl-C, SIGTERM and SIGHUP during `leadkit load`: stop in order, then abort."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from leadkit.bulk import BulkRun, UploadRun

__all__ = ["WATCHED", "Interrupted", "Signals", "interrupted"]

WATCHED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, a container being stopped, a terminal or ssh session gone."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP before the load's event loop watches them; args[0] names it."""


def interrupted(signum: int, frame: object) -> None:
    """A signal handler raising Interrupted, for the time before the event loop runs."""
    raise Interrupted(signal.Signals(signum).name)


class Signals:
    """Ctrl-C / SIGTERM / SIGHUP during the load: the first stops the run (at once when it has not
    started yet), letting in-flight requests finish; the second aborts it."""

    def __init__(self, grace: float, console: Console) -> None:
        self._grace = grace
        self._console = console
        self._run: BulkRun | UploadRun | None = None
        self._received: list[str] = []

    def __enter__(self) -> Signals:
        loop = asyncio.get_running_loop()
        for signum in WATCHED:
            loop.add_signal_handler(signum, self._handle, signum)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for signum in WATCHED:  # the load is over: ignored until the command returns
            loop.remove_signal_handler(signum)
            signal.signal(signum, signal.SIG_IGN)

    def attach(self, run: BulkRun | UploadRun) -> None:
        """Stop or abort `run` as the signals so far ask; later ones act on it at once."""
        self._run = run
        for count, name in enumerate(self._received[:2], 1):
            self._act(count, name)

    def _handle(self, signum: int) -> None:
        if self._run is not None and self._run.summary is not None:
            return  # the run is over; its summary is being printed
        name = signal.Signals(signum).name
        self._received.append(name)
        count = len(self._received)
        if count == 1:
            self._console.print(
                f"{name}: stopping; in-flight requests get {self._grace:g}s to finish "
                "(again to abort now)",
                style="yellow",
            )
        elif count == 2:
            self._console.print(f"{name}: aborting", style="red")
        if self._run is not None:
            self._act(count, name)

    def _act(self, count: int, name: str) -> None:
        assert self._run is not None
        if count == 1:
            self._run.stop(self._grace, f"stopped by {name}")
        else:
            self._run.abort()
