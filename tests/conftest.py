"""Shared pytest fixtures. Every server a test talks to is a real aiohttp app on 127.0.0.1."""

# --- sandbox (leadkit.sandbox) ---------------------------------------------------------------
from collections.abc import AsyncIterator

import pytest

from leadkit.sandbox import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A started Sandbox of both APIs with the default config, on a free port of 127.0.0.1."""
    async with Sandbox() as started:
        yield started


@pytest.fixture(autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default journals (`leadkit load`) go to a folder of the test run, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
