"""What a server of an API checks and answers, as plain data from the IR (``contract.py``).

The sandbox serves from it: routes, path-parameter and body schemas for request validation,
the statuses each operation declares and the schema of each one's body, dedupe, scopes, the
object field taking a file's other columns (x-extra-columns) and an upload's x-upload, the
auth header, the x-rate-limit declaration and the x-sandbox one (defaults filled in). Its
schemas are as the spec writes them; the `$ref`s inside them resolve against `refs`, which
holds every node they reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import pointer_parts
from .ir import Api, Body, Operation
from .load import iter_refs, resolve

__all__ = ["contract"]


def _schema(body: Body | None) -> Any:
    """A body's JSON schema: {} for a body without one, None for no body."""
    if body is None:
        return None
    return dict(body.schema) if isinstance(body.schema, Mapping) else {}


def _operation(op: Operation) -> dict[str, Any]:
    found = {
        "name": op.key,
        "method": op.method,
        "path": op.path,
        "path_params": {p.wire_name: dict(p.schema) for p in op.path_params},
        "request_schema": _schema(op.body),
        "request_media_type": None if op.body is None else op.body.media_type,
        "responses": {r.code: _schema(r.body) for r in op.responses if r.code is not None},
        "dedupe": None
        if op.dedupe is None
        else {"field": op.dedupe.field, "conflict_status": op.dedupe.conflict_status},
        "scopes": list(op.scopes),
    }
    if op.extra_columns is not None:
        found["extra_columns"] = op.extra_columns
    if op.upload is not None and op.poll is not None:  # with the job's x-poll facts
        found["upload"] = op.upload.to_contract(op.poll, str(op.poll_declared["status"]))
    return found


def _reached(document: Mapping[str, Any], roots: list[Any]) -> dict[str, Any]:
    """A document holding, at its own place, every node a `$ref` in `roots` reaches."""
    found: dict[str, Any] = {}
    pending = [ref for root in roots for _, ref in iter_refs(root)]
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        node = resolve(document, ref)
        *parents, last = pointer_parts(ref)
        holder = found
        for part in parents:
            holder = holder.setdefault(part, {})
        holder[last] = node
        pending += [inner for _, inner in iter_refs(node)]
    return found


def contract(api: Api) -> dict[str, Any]:
    """The contract data of one API, ready to embed as a Python literal."""
    operations = [_operation(op) for op in api.operations]
    return {
        "name": api.package,
        "base_url": api.base_url,
        "auth_header": api.auth.header,
        "x-rate-limit": api.rate_limit_declared,
        "x-sandbox": api.sandbox.to_contract(),
        "operations": operations,
        "refs": _reached(api.document, operations),
    }
