"""Events a client reports to user hooks, e.g. to feed metrics; none carries the key."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import attrs

from .api import Window
from .ratelimit import WaitKind

__all__ = [
    "Event",
    "EventHook",
    "JobPolled",
    "JobWaitStopped",
    "RateLimitLearned",
    "RateLimitWait",
    "RequestFailed",
    "RequestSent",
    "ResponseReceived",
    "RetryScheduled",
    "emit",
]

logger = logging.getLogger("leadkit")


@attrs.frozen(kw_only=True)
class RequestSent:
    """An attempt is about to be sent; `operation` reads like ``POST /lead``."""

    operation: str
    attempt: int
    url: str


@attrs.frozen(kw_only=True)
class ResponseReceived:
    """An attempt got a response (any status) after `elapsed` seconds."""

    operation: str
    attempt: int
    status: int
    elapsed: float


@attrs.frozen(kw_only=True)
class RequestFailed:
    """An attempt got no response; `sent` says whether the server may have seen it."""

    operation: str
    attempt: int
    error: str
    sent: bool


@attrs.frozen(kw_only=True)
class RetryScheduled:
    """Attempt `attempt` failed for `reason`; the next one starts in `delay` seconds."""

    operation: str
    attempt: int
    reason: str
    delay: float


@attrs.frozen(kw_only=True)
class RateLimitWait:
    """A request waits `delay` seconds for the client's shared rate limiter.

    `kind` says why: ``window``, a window in force (`window`) sets its time; ``budget``,
    the server's remaining budget is spent until its reset (`window`: the window the
    server's rate-limit headers describe, when one does); ``pause``, the server asked the
    client to wait (a 429). `reason` says the same in words.
    """

    operation: str
    delay: float
    kind: WaitKind
    reason: str
    window: Window | None = None


@attrs.frozen(kw_only=True)
class RateLimitLearned:
    """A response of `operation` corrected a rate-limit window: `previous` (the spec's, or
    learned before) is now `window`, for the client's life; `reason` says what the server
    said (see `leadkit.runtime.learning`)."""

    operation: str
    previous: Window
    window: Window
    reason: str


@attrs.frozen(kw_only=True)
class JobPolled:
    """A long-running job's status was read (poll number `polls`) while waiting for it.

    `operation` names the operation that started it; `progress` is the percentage done the
    status gives, if the spec names a field for it; `next_poll_in` the seconds until the
    next poll (None: the job is `done`).
    """

    operation: str
    job_id: str
    status: str | None
    progress: float | None
    polls: int
    done: bool
    next_poll_in: float | None


@attrs.frozen(kw_only=True)
class JobWaitStopped:
    """The wait for a job stopped before it ended (`reason`: a timeout, a cancelled task);
    the job keeps running on the server. `status` is the last one read (None: none yet)."""

    operation: str
    job_id: str
    reason: str
    status: str | None


Event = (
    RequestSent
    | ResponseReceived
    | RequestFailed
    | RetryScheduled
    | RateLimitWait
    | RateLimitLearned
    | JobPolled
    | JobWaitStopped
)
EventHook = Callable[[Event], None]


def emit(hooks: Iterable[EventHook], event: Event) -> None:
    """Call every hook with `event`; a hook that raises is logged, never breaks the call."""
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            logger.exception("event hook %r failed on %s", hook, type(event).__name__)
