"""The throughput server: a minimal aiohttp app in its own process answering every create.

``python -m bench.server`` listens on 127.0.0.1 (a free port, printed on stdout) and answers
each POST to the Coldsend create path with 201 and a fixed LeadResponse, until stdin closes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from .data import LEAD_PATH, LEAD_RESPONSE_BYTES

__all__ = ["serving"]

HOST = "127.0.0.1"


async def _create(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=201, body=LEAD_RESPONSE_BYTES, content_type="application/json")


async def _serve() -> None:
    app = web.Application()
    app.router.add_post(LEAD_PATH, _create)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0, backlog=1024)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


@contextmanager
def serving() -> Iterator[str]:
    """Run the server in a child process; yield its root URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"http://{HOST}:{port}"
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    asyncio.run(_serve())
