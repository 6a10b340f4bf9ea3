"""Which schemas a response can contain: the one rule for which models keep undeclared fields.

A generated model has an ``additional_properties`` attribute only when a response can
contain it. The response converter is lenient and keeps the keys a server sends beyond the
spec there (and sends them back unchanged); the request converter is strict and refuses
undeclared keys, so on a model only requests use the attribute could only make every
request that sets it fail with RequestValidationError.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from .errors import json_pointer, pointer_parts
from .load import iter_refs, resolve

__all__ = ["ResponseSchemas", "response_schemas"]

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
"""The operation keys of an OpenAPI path item."""


@attrs.frozen
class ResponseSchemas:
    """The schemas response bodies can contain, as JSON pointers to where each is defined.

    A schema nested in a reached one (a property, ``items``, an ``allOf`` / ``anyOf`` /
    ``oneOf`` part, ``additionalProperties``...) is reached too, whatever its pointer's depth.
    """

    roots: frozenset[str]
    """Each response body schema and each schema a ``$ref`` inside a reached one names."""

    def __contains__(self, pointer: object) -> bool:
        if not isinstance(pointer, str):
            return False
        pointer = _canonical(pointer)
        return any(pointer == root or pointer.startswith(f"{root}/") for root in self.roots)


def _canonical(ref: str) -> str:
    """The same pointer, escaped the one way `json_pointer` escapes."""
    return json_pointer(pointer_parts(ref))


def _response_bodies(document: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(pointer, schema) of every response body of every operation, a `$ref`ed response
    object followed to where it is defined (as datamodel-code-generator names its models)."""
    for route, item in (document.get("paths") or {}).items():
        for method in _HTTP_METHODS:
            operation = item.get(method) if isinstance(item, Mapping) else None
            if not isinstance(operation, Mapping):
                continue
            for status, response in (operation.get("responses") or {}).items():
                where = json_pointer(("paths", route, method, "responses", status))
                while isinstance(response, Mapping) and isinstance(response.get("$ref"), str):
                    where = _canonical(response["$ref"])
                    response = resolve(document, response["$ref"])
                content = response.get("content") if isinstance(response, Mapping) else None
                for media, body in (content or {}).items():
                    if isinstance(body, Mapping) and "schema" in body:
                        schema_at = json_pointer(("content", media, "schema")).removeprefix("#")
                        yield where + schema_at, body["schema"]


def response_schemas(document: Mapping[str, Any]) -> ResponseSchemas:
    """Every schema of `document` a response body can contain, through any number of `$ref`s.

    `document` is a loaded spec: every `$ref` in it resolves (`load_spec` checks).
    """
    roots: set[str] = set()
    pending = list(_response_bodies(document))
    while pending:
        pointer, schema = pending.pop()
        if pointer in roots:
            continue
        roots.add(pointer)
        pending.extend((_canonical(ref), resolve(document, ref)) for _, ref in iter_refs(schema))
    return ResponseSchemas(frozenset(roots))
