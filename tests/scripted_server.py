"""A real aiohttp server on 127.0.0.1 that answers what a test scripts and checks every request.

Each request is validated against the API's own spec with openapi-core (the contract test):
a client that sends anything the spec does not allow makes the test fail.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.contrib.aiohttp import AIOHTTPOpenAPIWebRequest

__all__ = ["Reply", "ScriptedServer", "scripted_server"]


@attrs.define
class Reply:
    """What the server answers next."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    content_type: str = "application/json"


@attrs.define
class ScriptedServer:
    """The running server: queue replies, read what was received."""

    base_url: str
    replies: list[Reply] = attrs.field(factory=list)
    received: list[dict[str, Any]] = attrs.field(factory=list)
    contract_errors: list[str] = attrs.field(factory=list)


def _openapi_for(spec: dict[str, Any], prefix: str) -> OpenAPI:
    local = {**spec, "servers": [{"url": f"http://127.0.0.1{prefix}"}]}
    return OpenAPI.from_dict(local)


@asynccontextmanager
async def scripted_server(spec: dict[str, Any]) -> AsyncIterator[ScriptedServer]:
    """Serve `spec`'s server path prefix on 127.0.0.1; yield the ScriptedServer."""
    prefix = "/" + spec["servers"][0]["url"].split("://", 1)[1].partition("/")[2]
    prefix = prefix.rstrip("/")
    openapi = _openapi_for(spec, prefix)
    state = ScriptedServer(base_url="")

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state.received.append(
            {
                "method": request.method,
                "path": request.path,
                "query": list(request.query.items()),
                "headers": request.headers.copy(),
                "header_names": list(request.headers),
                "json": json.loads(body) if body else None,
            }
        )
        result = openapi.unmarshal_request(AIOHTTPOpenAPIWebRequest(request, body=body))
        state.contract_errors.extend(f"{request.method} {request.path}: {e}" for e in result.errors)
        reply = (
            state.replies.pop(0)
            if state.replies
            else Reply(status=599, body={"detail": "no reply"})
        )
        raw = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        return web.Response(
            status=reply.status, body=raw, headers=reply.headers, content_type=reply.content_type
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.base_url = f"http://127.0.0.1:{port}{prefix}"
    try:
        yield state
    finally:
        await runner.cleanup()
