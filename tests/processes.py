"""Child processes of the tests: each one is ended on every path, and none outlives the run.

A test starts a process only through `running`, `running_async` or `run`. However the test
ends (passed, failed, timed out, interrupted), a process still running then gets SIGTERM,
then SIGKILL if it has not exited after `GRACE` seconds. Each runs in a process group of its
own, so the signals reach what it started too. `leftovers` and `end` are the session check's
(tests/conftest.py): they find and end any descendant that escaped all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "GRACE",
    "adopt_orphans",
    "end",
    "interrupt_on_sigterm",
    "leftovers",
    "run",
    "running",
    "running_async",
]

GRACE = 10.0
"""Seconds a process has to exit after SIGTERM before it gets SIGKILL."""

_PR_SET_CHILD_SUBREAPER = 36  # prctl option, <linux/prctl.h>


def _signal_group(leader: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has ended
        os.killpg(leader, sig)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):  # closed by the test already
                pipe.close()


@contextlib.contextmanager
def running(*args: str | Path, **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """`subprocess.Popen(args, text=True, **popen)`; ended (see the module) when the block
    is left."""
    process = subprocess.Popen(
        [str(arg) for arg in args], text=True, start_new_session=True, **popen
    )
    try:
        yield process
    finally:
        _stop(process)


def run(
    *args: str | Path,
    timeout: float = 300,
    input: str | None = None,
    check: bool = False,
    **popen: Any,
) -> subprocess.CompletedProcess[str]:
    """As `subprocess.run(args, capture_output=True, text=True, ...)`, but a process that
    outlives `timeout` or the test is ended as the module says."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    if input is not None:
        popen["stdin"] = subprocess.PIPE
    with running(*args, **popen) as process:
        stdout, stderr = process.communicate(input, timeout=timeout)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check:
        done.check_returncode()
    return done


@contextlib.asynccontextmanager
async def running_async(
    *args: str | Path, **kwargs: Any
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`asyncio.create_subprocess_exec(*args, **kwargs)`; ended (see the module) when the
    block is left."""
    process = await asyncio.create_subprocess_exec(
        *(str(arg) for arg in args), start_new_session=True, **kwargs
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), GRACE)
            except TimeoutError:
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()


def adopt_orphans() -> None:
    """Make this process the parent of its orphaned descendants (Linux), so that a process
    whose parent died is still found by `leftovers`."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupt_on_sigterm() -> None:
    """Make SIGTERM (a CI job cancelled, a `timeout`) interrupt the run as Ctrl-C does, so
    that the blocks above still end their processes."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _process_table() -> dict[int, tuple[int, str]]:
    """Every process /proc shows: pid -> (parent pid, state letter)."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # it ended while we looked
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
                table[int(entry.name)] = (int(parent), state)
    return table


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "(ended)"


def leftovers() -> dict[int, str]:
    """Descendants of this process still running (zombies aside): pid -> command line."""
    if not Path("/proc/self/stat").exists():
        return {}
    table, parents, alive = _process_table(), {os.getpid()}, set()
    while parents:
        parents = {pid for pid, (parent, _) in table.items() if parent in parents}
        alive |= {pid for pid in parents if table[pid][1] != "Z"}
    return {pid: _command_line(pid) for pid in sorted(alive)}


def end(pids: set[int]) -> None:
    """SIGTERM to each of `pids`, then SIGKILL to those still running after GRACE s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + GRACE
        while (pids := pids & leftovers().keys()) and time.monotonic() < deadline:
            _reap()
            time.sleep(0.05)
    _reap()


def _reap() -> None:
    """Collect the exit status of every child that has ended (adopted orphans included)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
