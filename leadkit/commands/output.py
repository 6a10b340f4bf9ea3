"""The consoles of a command: plain text, one line per message, and output that cannot be
written (a reader gone: `leadkit load ... | head -1`; a full disk) ends the output, not the
command."""

from __future__ import annotations

import os

from rich.console import Console

__all__ = ["console"]


class _Console(Console):
    def _check_buffer(self) -> None:
        try:
            super()._check_buffer()
        except OSError:  # a full disk (`2>log`), a terminal gone: as a reader gone
            self.on_broken_pipe()

    def on_broken_pipe(self) -> None:
        """Print nothing more; rich's default exits, which would abort a load halfway."""
        self.quiet = True
        try:
            fileno = self.file.fileno()
        except (OSError, ValueError):  # no file descriptor (a test's capture): nothing buffered
            return
        devnull = os.open(os.devnull, os.O_WRONLY)  # the text still buffered goes there at exit
        os.dup2(devnull, fileno)
        os.close(devnull)


def console(*, stderr: bool) -> Console:
    """A console on stdout or stderr that prints file names and server messages as they are
    (no markup: "[/x]" included) and never wraps a line (a terminal wraps it, a log keeps it
    whole)."""
    return _Console(stderr=stderr, markup=False, highlight=False, soft_wrap=True)
