"""How long a load takes: the rows against the API's rate-limit windows, before and during it.

Before the first row, `estimate` gives the time the windows take: the rows at the slowest
rate of a window they outgrow (``20,000 rows, 100/min and 1,000/h: about 20 h``); rows that
fit in every window's budget go at once (``2 rows, 60/min: within every window's budget, no
wait``). During the
run, `Schedule` keeps the client's own send times (its `RequestSent` events) and, with the
same rule the rate limiter follows for each window (the n-th send no earlier than the
(n - limit)-th plus the window), says when the last row can go. Which window a wait of the
limiter is for, its `RateLimitWait` event says itself.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable, Sequence

from leadkit.runtime import Window

__all__ = ["Schedule", "duration_text", "estimate", "upload_estimate", "window_text"]

_UNITS = ((86_400.0, "day"), (3_600.0, "h"), (60.0, "min"), (1.0, "s"))


def window_text(window: Window) -> str:
    """``100/min``, ``1,000/h``, ``60/3 s``, ``20/s`` (a window under a second, as a rate)."""
    if window.seconds < 1:
        return f"{window.limit / window.seconds:,.4g}/s"
    for seconds, unit in _UNITS:
        if window.seconds == seconds:
            return f"{window.limit:,}/{unit}"
    return f"{window.limit:,}/{window.seconds:g} s"


def duration_text(seconds: float) -> str:
    """``20 h``, ``3 min 22 s``, ``2 days 4 h``, ``under a second``: the two largest units
    that count."""
    if 0 < seconds < 0.5:
        return "under a second"
    seconds = round(seconds)
    parts: list[str] = []
    for size, unit in _UNITS:
        count, seconds = divmod(seconds, int(size))
        if count or (parts and len(parts) < 2):
            parts.append(f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''}")
        if len(parts) == 2:
            break
    kept = [part for part in parts if not part.startswith("0 ")] or ["0 s"]
    return " ".join(kept)


def paced_seconds(rows: int, windows: Sequence[Window]) -> float:
    """About how long `windows` take to let `rows` requests through: the rows at the slowest
    rate among the windows whose limit they pass (a window whose budget holds them all lets
    them go at once). Within a window of it either way: a fresh budget sends a window's worth
    at once, a budget used elsewhere delays the start."""
    return max((rows * w.seconds / w.limit for w in windows if rows > w.limit), default=0.0)


def estimate(rows: int, windows: Sequence[Window]) -> str:
    """``20,000 rows, 100/min and 1,000/h: about 20 h``."""
    counted = f"{rows:,} row{'s' if rows != 1 else ''}"
    if not windows:
        return f"{counted}, no rate limit declared"
    limits = " and ".join(window_text(w) for w in windows)
    seconds = paced_seconds(rows, windows)
    if not seconds:
        return f"{counted}, {limits}: within every window's budget, no wait"
    return f"{counted}, {limits}: about {duration_text(seconds)}"


def upload_estimate(rows: int, max_rows: int, max_bytes: int) -> str:
    """``20,000 rows: at least 2 uploads of at most 10,000 rows and 50 MiB, each a job polled
    to its end`` (more when rows are large, or a rerun uploads some again)."""
    counted = f"{rows:,} row{'s' if rows != 1 else ''}"
    uploads = max(1, -(-rows // max_rows))
    size = f"{max_bytes / 2**20:,.4g} MiB"
    return (
        f"{counted}: at least {uploads:,} upload{'s' if uploads != 1 else ''} of at most "
        f"{max_rows:,} rows and {size}, each a job polled to its end"
    )


class Schedule:
    """This client's sends against its windows: what is left to wait."""

    def __init__(
        self, windows: Sequence[Window], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.windows = tuple(windows)
        self._clock = clock
        self._sent: deque[float] = deque(maxlen=max((w.limit for w in windows), default=1))

    def sent(self) -> None:
        """Note a request going out now."""
        self._sent.append(self._clock())

    def _in_window(self, window: Window, now: float) -> list[float]:
        """The sends of the last `window.seconds`, oldest first."""
        times = list(self._sent)
        return times[bisect.bisect_right(times, now - window.seconds) :]

    def seconds_left(self, requests: int) -> float:
        """Seconds from now until the last of `requests` more can go (0 for none)."""
        if requests <= 0:
            return 0.0
        now = self._clock()
        latest = now
        for window in self.windows:
            recent = self._in_window(window, now)[-window.limit :]
            rounds, place = divmod(len(recent) + requests - 1, window.limit)
            base = recent[place] if place < len(recent) else now
            latest = max(latest, base + rounds * window.seconds)
        return latest - now
