"""Sandbox: the aiohttp server on 127.0.0.1, started as an async context manager."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

from .app import SandboxState, build_app
from .config import SandboxConfig
from .spec import API_NAMES, ApiModel, load_api
from .storage import open_store

__all__ = ["HOST", "Sandbox", "running_in_thread"]

HOST = "127.0.0.1"


class Sandbox:
    """A local copy of APIs: ``async with Sandbox(config, port=0) as sb: sb.base_url(...)``.

    It serves `apis` (read with `leadkit.sandbox.spec.read_api`), by default every generated
    package. Each is served under its spec's server path, or under ``/<name>`` and that
    path when another API served before it (by name) has one of its routes.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        port: int = 0,
        apis: tuple[ApiModel, ...] | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.port = port
        served = sorted(apis or tuple(load_api(n) for n in API_NAMES), key=lambda a: a.name)
        self._apis = _mounted(served)
        _check_config(self.config, self._apis)
        self._runner: web.AppRunner | None = None
        self._state: SandboxState | None = None

    @property
    def url(self) -> str:
        """The server's root URL, e.g. http://127.0.0.1:8080."""
        return f"http://{HOST}:{self.port}"

    @property
    def apis(self) -> tuple[str, ...]:
        """Names of the APIs served."""
        return tuple(self._apis)

    def base_url(self, api: str) -> str:
        """The base URL a client of `api` uses: root URL plus the spec's server path."""
        return self.url + self._apis[api].prefix

    def api_key(self, api: str) -> str:
        """A fresh key `api` accepts, with every scope (its x-sandbox key-prefix, and more)."""
        return self.config.declaration_for(api, self._apis[api].sandbox).new_key()

    @property
    def state(self) -> SandboxState:
        """The running server's shared state."""
        if self._state is None:
            raise RuntimeError("the sandbox is not running")
        return self._state

    @property
    def stats(self) -> Counter[str]:
        """Counters: requests, created, status:<code>, fault:<name>."""
        return self.state.stats

    def leads(self, api: str) -> list[dict[str, Any]]:
        """Every lead stored for `api`, oldest first (with its path parameters)."""
        return self.state.store.leads(api)

    def reset(self) -> None:
        """Forget leads, counters and rate-limit windows; the seeded faults start again."""
        self.state.reset()

    async def start(self) -> None:
        """Open the store and start listening on 127.0.0.1 (port 0 picks a free port)."""
        state = SandboxState(self.config, open_store(self.config.storage))
        runner = web.AppRunner(
            build_app(list(self._apis.values()), state), access_log=None, handle_signals=False
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, HOST, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            state.store.close()
            raise
        self.port = runner.addresses[0][1]
        self._runner, self._state = runner, state

    async def stop(self) -> None:
        """Stop the server and close the store."""
        if self._state is not None:
            self._state.jobs.clear()  # the upload jobs still running
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._state is not None:
            self._state.store.close()
            self._state = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _routes(api: ApiModel) -> set[tuple[str, str]]:
    """(method, route) of each operation, parameters unnamed: {id} and {item_id} match alike."""
    return {(op.method, re.sub(r"{[^}]*}", "{}", api.route(op))) for op in api.operations}


def _mounted(apis: list[ApiModel]) -> dict[str, ApiModel]:
    """The APIs by name, each moved under ``/<name>`` when an earlier one has a route of it."""
    taken: set[tuple[str, str]] = set()
    mounted = {}
    for api in apis:
        if _routes(api) & taken:
            api = attrs.evolve(api, prefix=f"/{api.name}{api.prefix}")
        taken |= _routes(api)
        mounted[api.name] = api
    return mounted


def _check_config(config: SandboxConfig, apis: Mapping[str, ApiModel]) -> None:
    """ValueError when the config names an API not served, or a read-only key it would refuse."""
    if unknown := sorted(config.apis_named() - set(apis)):
        raise ValueError(
            f"the sandbox config names {', '.join(unknown)}, which it does not serve "
            f"(it serves {', '.join(apis)})"
        )
    for name, api in apis.items():
        declaration = config.declaration_for(name, api.sandbox)
        given = config.readonly_keys.get(name, frozenset())
        if any(not key.startswith(declaration.key_prefix) for key in given):
            raise ValueError(  # the key itself is not shown: it is a secret like any other
                f"a read-only key for {name} does not start with its key prefix "
                f"{declaration.key_prefix!r}: it would be refused with 401, not 403"
            )


@contextmanager
def running_in_thread(config: SandboxConfig | None = None, *, port: int = 0) -> Iterator[Sandbox]:
    """Run a Sandbox on its own event loop in a daemon thread, for synchronous callers.

    Read its leads and counters over HTTP (``/_sandbox/...``) from the calling thread.
    """
    sandbox = Sandbox(config, port=port)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="leadkit-sandbox", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(sandbox.start(), loop).result()
        yield sandbox
    finally:
        asyncio.run_coroutine_threadsafe(sandbox.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
