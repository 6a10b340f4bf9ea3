"""The consoles of a command: plain text, one line per message, and a reader that goes away
(`leadkit load ... | head -1`) ends the output, not the command."""

from __future__ import annotations

import os

from rich.console import Console

__all__ = ["console"]


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Print nothing more; rich's default exits, which would abort a load halfway."""
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)  # the text still buffered goes there at exit
        os.dup2(devnull, self.file.fileno())
        os.close(devnull)


def console(*, stderr: bool) -> Console:
    """A console on stdout or stderr that prints file names and server messages as they are
    (no markup: "[/x]" included) and never wraps a line (a terminal wraps it, a log keeps it
    whole)."""
    return _Console(stderr=stderr, markup=False, highlight=False, soft_wrap=True)
