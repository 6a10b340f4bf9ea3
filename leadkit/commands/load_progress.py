"""The progress of a load: a bar on a terminal, a plain line now and then in a log.

Both say how long is left: from the rate-limit windows and the client's own sends when the
API declares windows (`load_eta.Schedule`), else from the rate so far; a wait of the rate
limiter for a window says so: ``waiting for the 1,000/h window, resumes 14:05``. A load by
upload also says where its latest job stands: ``job 3c90a1b2 IN_PROGRESS 45%``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

from leadkit.runtime import Event, JobPolled, RateLimitWait, RequestSent, Window

from .load_eta import Schedule, duration_text, window_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Task

    from leadkit.bulk import RowResult

__all__ = ["LOG_PROGRESS_EVERY", "Pace", "Progress"]

LOG_PROGRESS_EVERY = 30.0
"""Seconds between the plain progress lines a log (stderr not a terminal) gets."""
WAIT_SHOWN = 2.0
"""A wait of the rate limiter shorter than this is pacing, not worth a word."""


def _clock(moment: float, ahead: float) -> str:
    """A wall-clock time to read at a glance, `ahead` seconds from now: 14:05, 14:05:30 when
    near, Tue 09:40 when far."""
    shape = "%H:%M:%S" if ahead < 120 else "%a %H:%M" if ahead > 20 * 3600 else "%H:%M"
    return time.strftime(shape, time.localtime(moment))


class Pace:
    """What the client's events say about time: its sends, and the limiter's long waits.

    `hook` is given to the client as an event hook; `status` is what progress shows.
    """

    def __init__(
        self,
        windows: Sequence[Window],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.schedule = Schedule(windows, clock)
        self._wall = wall
        self._resumes_at: float | None = None
        self._waiting_for = ""
        self._job = ""
        """Where the latest upload job polled stands."""
        self.new_wait = False
        """A wait began since the last `status`: a log prints a line for it at once."""

    def hook(self, event: Event) -> None:
        """Note a send, a job's status, or a wait long enough to show."""
        if isinstance(event, JobPolled):
            done = "" if event.progress is None else f" {event.progress:.0f}%"
            self._job = f"job {event.job_id[:8]} {event.status}{done}"
        elif isinstance(event, RequestSent):
            self.schedule.sent()
            self._resumes_at = None
        elif isinstance(event, RateLimitWait) and event.delay >= WAIT_SHOWN:
            if event.window is not None:  # a window, or the server's budget for one
                what = f"the {window_text(event.window)} window"
            else:  # a budget no window describes, or a pause the server asked for
                said = f" ({event.reason})" if event.kind == "pause" else ""
                what = f"the server's rate limit{said}"
            resumes = self._wall() + event.delay
            self.new_wait = self._resumes_at is None
            if self._resumes_at is None or resumes < self._resumes_at:
                self._resumes_at, self._waiting_for = resumes, what

    def status(self, rows_left: int, rate_estimate: float | None) -> str:
        """The wait if there is one, else the time left: from the windows if the API has
        any, else `rate_estimate` (seconds, from the rate so far), else nothing."""
        self.new_wait = False
        if self._resumes_at is not None and (ahead := self._resumes_at - self._wall()) > 0:
            resumes = _clock(self._resumes_at, ahead)
            return f"waiting for {self._waiting_for}, resumes {resumes}"
        if self.schedule.windows:
            left: float | None = self.schedule.seconds_left(rows_left)
        else:
            left = rate_estimate
        eta = None if left is None else f"ETA {duration_text(left)}"
        return ", ".join(filter(None, (eta, self._job)))


class _Status(ProgressColumn):
    """The column after the rate: the wait, or the time left."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress

    def render(self, task: Task) -> Text:
        return Text(self._progress.status(task))


class Progress:
    """A rich progress bar (counts per outcome, rate, time left) on stderr when it is a
    terminal (a log would get one last line cut to 80 columns); a log gets a plain line
    every LOG_PROGRESS_EVERY seconds, and one when a long wait begins."""

    def __init__(self, console: Console, total: int | None, label: str, pace: Pace | None) -> None:
        self._bar = RichProgress(
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}/s", markup=False),
            _Status(self),
            console=console,
            disable=not console.is_terminal,
        )
        self._task = self._bar.add_task(label, total=total, speed="0.0")
        self._counts: dict[str, int] = {}
        self._console = console
        self._label = label
        self._pace = pace
        self._logged = time.monotonic()

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def status(self, task: Task) -> str:
        """The wait or the time left, for `task` (the one task of the bar)."""
        if self._pace is None:
            return ""
        left = max(int(task.total or 0) - int(task.completed), 0)
        return self._pace.status(left, task.time_remaining)

    def hook(self, event: Event) -> None:
        """An event hook for the client: feeds the pace; a log hears of a long wait at once."""
        if self._pace is None:
            return
        self._pace.hook(event)
        if self._bar.disable and self._pace.new_wait:
            self._log()

    def advance(self, result: RowResult) -> None:
        """Count one result."""
        name = result.outcome.value
        self._counts[name] = self._counts.get(name, 0) + 1
        counts = " ".join(f"{k} {v}" for k, v in sorted(self._counts.items()))
        task = self._bar.tasks[0]
        total = task.total
        if total is not None and task.completed + 1 > total:
            total = task.completed + 1
        speed = f"{task.speed or 0.0:.1f}"
        self._bar.update(self._task, advance=1, description=counts, speed=speed, total=total)
        if self._bar.disable and time.monotonic() - self._logged >= LOG_PROGRESS_EVERY:
            self._log()

    def _log(self) -> None:
        """Print the plain progress line a log gets."""
        self._logged = time.monotonic()
        task = self._bar.tasks[0]
        counts = " ".join(f"{k} {v}" for k, v in sorted(self._counts.items()))
        of = f" of {int(task.total):,}" if task.total is not None else ""
        line = f"{self._label}: {int(task.completed):,}{of} rows"
        line += f" ({counts})" if counts else ""
        line += f", {task.speed or 0.0:.1f} rows/s"
        if status := self.status(task):
            line += f", {status}"
        self._console.print(line)
