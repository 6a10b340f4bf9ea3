"""What a response's rate-limit headers say about the server's windows, and what is learned.

The spec's windows are a first guess (vendors' pages disagree: 60 per minute or per hour).
Every response's ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (the names and the Reset
meaning as the spec declares) is read into a `ServerReport`; a value that cannot be right
(negative, not a number, NaN or infinite, a Limit below 1, a Remaining above the Limit, a
Reset more than `CEILING` away) is left out of it, as if the header were absent.

**Which window a response describes.** A server announces one window per response (the
one closest to running out, usually), never saying which. Among the windows in force:

1. the window whose limit equals the announced Limit; failing that, the window whose limit
   is nearest to it (by ratio: 500 is nearer 1,000 than 100); without a Limit, all of them;
2. among those, the shortest window at least as long as the Reset; when the Reset is
   further away than every one of them, the longest.

So with Coldsend's 100 per minute and 1,000 per hour, ``Limit: 1000, Reset: 1800`` is the
hour, ``Limit: 100, Reset: 40`` the minute, and ``Limit: 100, Reset: 1800`` says the
"minute" window is at least half an hour long.

**What is learned, for that window,** and kept for the client's life:

* its limit: the announced Limit when it differs. The first Limit the server states
  replaces the spec's; after that a lower one replaces it, a higher one does not (several
  budgets may apply at once: the tightest binds);
* its length: at least the Reset, when the Reset is further away than the window's
  length (a fixed or sliding window cannot reset later than its length from now);
* its length, from a Remaining that contradicts the limiter's count: the server counts
  ``limit - remaining`` requests in its window. Those of them not still pending were
  answered; when the client got fewer answers than that within the window's length, but
  enough within a longer span, the window reaches back at least to the oldest of them:
  its length is at least from that answer to the reset. (Answers, not sends: a send's
  time is known only as its reserved slot.)

A length only grows and only by more than `TOLERANCE` (5 %): a whole-second Reset or a
slightly skewed clock is not news. A Unix-timestamp Reset is read against the response's
``Date`` when this machine's clock is off by more than a few seconds
(`leadkit.runtime.retry.server_clock`). Until a response corrects them, the spec's windows
pace the first requests.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence

import attrs

from .api import RateLimitPolicy, Window
from .retry import header_value, reset_seconds, seconds_value

__all__ = ["CEILING", "TOLERANCE", "LearnedWindow", "ServerReport", "WindowLearner", "described"]

CEILING = 24 * 3600.0
"""No window is longer than a day: a Reset further away is garbage, not a window."""
TOLERANCE = 0.05
"""A window's length grows only on evidence more than 5 % longer than it."""


@attrs.frozen
class ServerReport:
    """What one response's rate-limit headers say; None where a header is absent or wrong."""

    limit: int | None
    remaining: int | None
    reset: float | None
    """Seconds from now until the announced window resets."""

    @classmethod
    def read(cls, headers: Mapping[str, str], policy: RateLimitPolicy, now: float) -> ServerReport:
        """The report of `headers`, read as `policy` declares, on the Unix time `now`."""
        limit = _count(header_value(headers, policy.limit_header))
        remaining = _count(header_value(headers, policy.remaining_header))
        reset = reset_seconds(headers, policy, now)
        return cls(
            limit=limit if limit else None,
            remaining=None if limit is not None and (remaining or 0) > limit else remaining,
            reset=reset if reset is not None and reset <= CEILING else None,
        )


def _count(value: str | None) -> int | None:
    """A header's whole number of requests, or None ("12.5" is not one)."""
    number = seconds_value(value) if value is not None else None
    return int(number) if number is not None and number.is_integer() else None


@attrs.frozen
class LearnedWindow:
    """The server corrected a window: `previous` (the spec's or learned before) -> `window`."""

    previous: Window
    window: Window
    reason: str
    """What the server said, e.g. ``X-RateLimit-Reset in 480s``."""


def described(windows: Sequence[Window], limit: int | None, reset: float | None) -> int | None:
    """Index of the window a response with this Limit and Reset describes (module docstring)."""
    if not windows:
        return None
    candidates = list(range(len(windows)))
    if limit is not None:  # the same limit (distance 0), else the nearest by ratio
        distance = [abs(math.log(limit / w.limit)) for w in windows]
        candidates = [i for i in candidates if distance[i] == min(distance)]
    holding = [i for i in candidates if reset is None or windows[i].seconds >= reset]
    if holding:
        return min(holding, key=lambda i: windows[i].seconds)
    return max(candidates, key=lambda i: windows[i].seconds)


class WindowLearner:
    """The windows in force: the spec's, as the server's reports correct them."""

    def __init__(self, policy: RateLimitPolicy) -> None:
        self.policy = policy
        self.windows = policy.windows
        self._stated = [False] * len(self.windows)
        """Per window: the server has stated its limit (later statements only lower it)."""

    def learn(
        self, report: ServerReport, answered: Sequence[float], pending: int, now: float
    ) -> LearnedWindow | None:
        """Correct the window `report` describes, if it says otherwise; what was learned.

        `answered` holds the times the client's responses arrived, ascending, on the clock
        of `now`, the one reported on last; `pending` counts its other attempts, reserved
        or in flight (the server may have counted those too).
        """
        index = described(self.windows, report.limit, report.reset)
        if index is None:
            return None
        previous = self.windows[index]
        limit, said = self._limit(index, report.limit)
        window = Window(limit, previous.seconds)
        seconds, why = self._length(window, report, answered, pending, now)
        if (limit, seconds) == (previous.limit, previous.seconds):
            return None
        window = Window(limit, seconds)
        self.windows = (*self.windows[:index], window, *self.windows[index + 1 :])
        self.policy = attrs.evolve(self.policy, windows=self.windows)
        return LearnedWindow(previous, window, ", ".join(filter(None, (said, why))))

    def _limit(self, index: int, announced: int | None) -> tuple[int, str]:
        """The window's limit after a report announcing `announced`, and why it changed."""
        current = self.windows[index].limit
        if announced is None:
            return current, ""
        first, self._stated[index] = not self._stated[index], True
        if announced == current or not (first or announced < current):
            return current, ""
        return announced, f"{self.policy.limit_header}={announced}"

    def _length(
        self,
        window: Window,
        report: ServerReport,
        answered: Sequence[float],
        pending: int,
        now: float,
    ) -> tuple[float, str]:
        """The window's length after `report`, and why it grew."""
        seconds, why = window.seconds, ""
        if report.reset is None:
            return seconds, why
        if report.reset > seconds * (1 + TOLERANCE):
            seconds, why = report.reset, f"{self.policy.reset_header} in {report.reset:.4g}s"
        if report.remaining is None:
            return seconds, why
        # Of the requests the server counts, those not pending were answered; when more were
        # answered than within the window, the oldest of them is still in the window.
        answers = window.limit - report.remaining - pending
        recent = len(answered) - bisect.bisect_right(answered, now - seconds)
        if answers <= recent or answers > len(answered):
            return seconds, why
        reach = now + report.reset - answered[-answers]
        if reach <= seconds * (1 + TOLERANCE) or reach > CEILING:
            return seconds, why
        header = self.policy.remaining_header
        said = f"{header}={report.remaining}, {recent} answered in {seconds:.4g}s"
        return reach, said
