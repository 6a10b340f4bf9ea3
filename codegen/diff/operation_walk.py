"""Compare operations (keyed by operationId): route, parameters, bodies, responses, x-dedupe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..operations import snake_case
from .changes import Location
from .schema_walk import SchemaWalker, deref, show_type, type_atoms

__all__ = ["diff_operations"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON = "application/json"


@attrs.frozen
class _Op:
    route: str
    method: str
    spec: Mapping[str, Any]
    params: Mapping[str, Any]
    """Resolved parameters by Python name (the client's argument), in declaration order,
    path-level ones overridden by the operation's."""


def _operations(doc: Mapping[str, Any]) -> dict[str, _Op]:
    found = {}
    for route, item in doc.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, Mapping):
                continue
            params = [
                deref(doc, p) for p in (*item.get("parameters", ()), *op.get("parameters", ()))
            ]
            key = op.get("operationId") or f"{method.upper()} {route}"
            found[key] = _Op(route, method, op, {snake_case(p["name"]): p for p in params})
    return found


def _body(doc: Mapping[str, Any], holder: Any) -> Any:
    """The JSON schema of a request body or response; None when it has no body."""
    content = deref(doc, holder).get("content") or {}
    media = content.get(_JSON) or next(iter(content.values()), None)
    return None if media is None else media.get("schema", {})


def _parameters(walker: SchemaWalker, old: _Op, new: _Op, where: Location) -> None:
    for name in sorted(old.params.keys() | new.params.keys()):
        at = attrs.evolve(where.at(f"parameters.{name}"), direction="request")
        before, after = old.params.get(name), new.params.get(name)
        if before is None or after is None:
            required = bool(after and after.get("required"))
            kind = "parameter.removed" if after is None else "parameter.added"
            walker.emit(f"{kind}_required" if required else kind, at, "")
            continue
        if bool(before.get("required")) != bool(after.get("required")):
            became = "required" if after.get("required") else "optional"
            walker.emit(f"parameter.became_{became}", at, "")
        if before.get("in") != after.get("in"):
            kind = "parameter.moved_from_path" if before.get("in") == "path" else "parameter.moved"
            walker.emit(kind, at, f"{before.get('in')} -> {after.get('in')}")
        if before["name"] != after["name"]:
            walker.emit("parameter.renamed_on_wire", at, f"{before['name']} -> {after['name']}")
        walker.compare(before.get("schema", {}), after.get("schema", {}), at)
    old_order, new_order = (
        [name for name, p in op.params.items() if p.get("in") == "path"] for op in (old, new)
    )
    kept = [name for name in old_order if name in new_order]
    if kept != [name for name in new_order if name in old_order]:
        at = attrs.evolve(where.at("parameters"), direction="request")
        walker.emit("parameter.reordered", at, f"{', '.join(old_order)} -> {', '.join(new_order)}")


def _request_body(walker: SchemaWalker, old: _Op, new: _Op, where: Location) -> None:
    at = attrs.evolve(where.at("body"), direction="request")
    before, after = (
        deref(doc, op.spec.get("requestBody")) for doc, op in ((walker.old, old), (walker.new, new))
    )
    if after is None:
        if before is not None:
            walker.emit("request_body.removed", at, "")
        return
    if before is None:
        kind = "request_body.added_required" if after.get("required") else "request_body.added"
        walker.emit(kind, at, "")
        return
    if bool(before.get("required")) != bool(after.get("required")):
        became = "required" if after.get("required") else "optional"
        walker.emit(f"request_body.became_{became}", at, "")
    walker.compare(_body(walker.old, before), _body(walker.new, after), at)


def _responses(walker: SchemaWalker, old: _Op, new: _Op, where: Location) -> None:
    before, after = (
        {str(code): _body(doc, r) for code, r in op.spec.get("responses", {}).items()}
        for doc, op in ((walker.old, old), (walker.new, new))
    )
    success_types = {type_atoms(b) for code, b in before.items() if code.startswith("2")}

    def at(code: str) -> Location:
        if code.startswith("2"):
            return attrs.evolve(where.at(f"responses.{code}"), direction="response")
        return attrs.evolve(where.at(f"errors.{code}"), direction="error")

    def prefix(code: str) -> str:
        return "success_code" if code.startswith("2") else "error_code"

    for code in sorted(before.keys() - after.keys()):
        walker.emit(f"{prefix(code)}.removed", at(code), show_type(type_atoms(before[code])))
    for code in sorted(after.keys() - before.keys()):
        atoms = type_atoms(after[code])
        fresh = code.startswith("2") and atoms not in success_types
        walker.emit(
            f"{prefix(code)}.added{'_new_type' if fresh else ''}", at(code), show_type(atoms)
        )
    for code in sorted(before.keys() & after.keys()):
        walker.compare(before[code], after[code], at(code))


def _dedupe(walker: SchemaWalker, old: _Op, new: _Op, where: Location) -> None:
    at = where.at("x-dedupe")
    before, after = old.spec.get("x-dedupe"), new.spec.get("x-dedupe")
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):  # absent or odd
        if before is None or after is None:
            if before is not after:
                kind = "dedupe.removed" if after is None else "dedupe.added"
                walker.emit(kind, at, str(after or before))
        elif before != after:
            walker.emit("dedupe.changed", at, f"{before} -> {after}")
        return
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            walker.emit("dedupe.changed", at, f"{key}: {before.get(key)} -> {after.get(key)}")


def diff_operations(walker: SchemaWalker) -> None:
    """Report every operation added, removed or changed between the walker's documents."""
    old_ops, new_ops = _operations(walker.old), _operations(walker.new)
    for key in sorted(old_ops.keys() - new_ops.keys()):
        op = old_ops[key]
        walker.emit(
            "operation.removed", Location("operation", key), f"{op.method.upper()} {op.route}"
        )
    for key in sorted(new_ops.keys() - old_ops.keys()):
        op = new_ops[key]
        walker.emit(
            "operation.added", Location("operation", key), f"{op.method.upper()} {op.route}"
        )
    for key in sorted(old_ops.keys() & new_ops.keys()):
        old, new, where = old_ops[key], new_ops[key], Location("operation", key)
        if old.route != new.route:
            walker.emit("operation.path_changed", where, f"{old.route} -> {new.route}")
        if old.method != new.method:
            detail = f"{old.method.upper()} -> {new.method.upper()}"
            walker.emit("operation.method_changed", where, detail)
        for part in (_parameters, _request_body, _responses, _dedupe):
            part(walker, old, new, where)
