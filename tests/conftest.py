"""Shared pytest fixtures and the session's process check.

Every server a test talks to is a real aiohttp app on 127.0.0.1. A process a test starts
(see tests/processes.py) must be gone when the run ends: the check below fails the run, and
ends the process, when one is still running.
"""

from collections.abc import AsyncIterator

import pytest

from leadkit.sandbox import Sandbox
from tests.processes import adopt_orphans, end, interrupt_on_sigterm, leftovers

LEFT_RUNNING = pytest.StashKey[dict[int, str]]()


def pytest_configure(config: pytest.Config) -> None:
    adopt_orphans()
    interrupt_on_sigterm()


@pytest.hookimpl(trylast=True)  # after the fixtures' teardown
def pytest_sessionfinish(session: pytest.Session) -> None:
    left = leftovers()
    session.config.stash[LEFT_RUNNING] = left
    if left:
        end(set(left))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    left = terminalreporter.config.stash.get(LEFT_RUNNING, {})
    if left:
        terminalreporter.section("processes the tests left running (now ended)", red=True)
        for pid, command in left.items():
            terminalreporter.line(f"{pid}: {command}")


# --- sandbox (leadkit.sandbox) ---------------------------------------------------------------


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A started Sandbox of both APIs with the default config, on a free port of 127.0.0.1."""
    async with Sandbox() as started:
        yield started


@pytest.fixture(autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default journals (`leadkit load`) go to a folder of the test run, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
