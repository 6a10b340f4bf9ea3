"""Read an embedded OpenAPI SPEC dict into the few facts the sandbox serves from."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from leadkit.runtime.api import RateLimitPolicy, rate_limit_from_spec

__all__ = [
    "API_NAMES",
    "ApiModel",
    "Operation",
    "load_api",
    "read_api",
    "resolve",
]

API_NAMES: tuple[str, ...] = ("coldsend", "breakcold")
"""Generated packages whose `spec.SPEC` the sandbox serves by default."""


@attrs.frozen
class Operation:
    """One operation: route, schemas and the statuses the spec declares."""

    name: str
    method: str
    path: str
    path_params: Mapping[str, Any]
    """Path parameter name -> its schema."""
    request_schema: Mapping[str, Any] | None
    success_status: int
    response_schema: Mapping[str, Any]
    statuses: frozenset[int]
    dedupe_field: str | None
    conflict_status: int | None
    scopes: tuple[str, ...]


@attrs.frozen
class ApiModel:
    """Everything the sandbox reads from one spec."""

    name: str
    spec: Mapping[str, Any] = attrs.field(repr=False)
    prefix: str
    """Path of the spec's first server URL, e.g. "/rest"; "" for none."""
    auth_header: str
    rate_limit: RateLimitPolicy | None
    operations: tuple[Operation, ...]
    error_schema: Mapping[str, Any]
    """Schema of the error body the API answers 401 with (the general error shape)."""

    def route(self, op: Operation) -> str:
        """The aiohttp route of an operation, including the server prefix."""
        return self.prefix + op.path


def resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local `$ref`s until a node without one."""
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local refs are supported, got {ref!r}")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _json_schema(spec: Mapping[str, Any], response_or_body: Mapping[str, Any]) -> Mapping[str, Any]:
    content = resolve(spec, response_or_body).get("content", {})
    media = content.get("application/json", {})
    return dict(media.get("schema", {}))


def _operation(
    spec: Mapping[str, Any], path: str, method: str, raw: Mapping[str, Any]
) -> Operation:
    statuses = sorted(int(code) for code in raw.get("responses", {}) if code.isdigit())
    success = next(code for code in statuses if 200 <= code < 300)
    params = [resolve(spec, p) for p in raw.get("parameters", [])]
    body = raw.get("requestBody")
    dedupe = raw.get("x-dedupe") or {}
    security = raw.get("security", spec.get("security", []))
    return Operation(
        name=raw.get("operationId", f"{method}_{path}"),
        method=method.upper(),
        path=path,
        path_params={p["name"]: p.get("schema", {}) for p in params if p.get("in") == "path"},
        request_schema=_json_schema(spec, body) if body else None,
        success_status=success,
        response_schema=_json_schema(spec, raw["responses"][str(success)]),
        statuses=frozenset(statuses),
        dedupe_field=dedupe.get("field"),
        conflict_status=dedupe.get("conflict-status"),
        scopes=tuple(
            scope for requirement in security for s in requirement.values() for scope in s
        ),
    )


def read_api(name: str, spec: Mapping[str, Any]) -> ApiModel:
    """Build the ApiModel of one spec (routes, auth header, limits, error shape)."""
    servers = spec.get("servers") or [{"url": ""}]
    schemes = spec["components"]["securitySchemes"]
    (scheme,) = (
        s for s in schemes.values() if s.get("type") == "apiKey" and s.get("in") == "header"
    )
    operations = tuple(
        _operation(spec, path, method, raw)
        for path, item in spec["paths"].items()
        for method, raw in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    )
    first = next(iter(spec["paths"].values()))
    unauthorized = next(iter(first.values()))["responses"]["401"]
    return ApiModel(
        name=name,
        spec=spec,
        prefix=urlsplit(servers[0]["url"]).path.rstrip("/"),
        auth_header=scheme["name"],
        rate_limit=rate_limit_from_spec(spec.get("x-rate-limit")),
        operations=operations,
        error_schema=_json_schema(spec, unauthorized),
    )


def load_api(name: str) -> ApiModel:
    """The ApiModel of the generated package `generated.<name>` (its embedded SPEC)."""
    module = importlib.import_module(f"generated.{name}.spec")
    spec: dict[str, Any] = module.SPEC
    return read_api(name, spec)
