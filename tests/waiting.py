"""Waiting in tests for the thing itself, not for a fixed time: poll a condition with a
deadline, and fail saying what never came."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable

__all__ = ["eventually", "wait_until"]

POLL = 0.02
"""Seconds between two looks at the condition."""


def wait_until(
    condition: Callable[[], bool],
    what: str,
    process: subprocess.Popen[str] | None = None,
    timeout: float = 120,
) -> None:
    """Poll `condition` until it holds; fail if `process` ends first or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout:g} s"
        time.sleep(POLL)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Let the event loop run until `condition` holds; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout:g} s"
        await asyncio.sleep(POLL)
