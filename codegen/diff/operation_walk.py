"""Compare two IRs' operations (keyed by operationId): route, parameters, bodies (a multipart
body part by part), responses, x-dedupe and x-poll."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..ir import Body, Operation, Param, Part
from .changes import Location
from .schema_walk import SchemaWalker, Shape, show_type, type_atoms

__all__ = ["diff_operations"]


def _shape(body: Body | None) -> Shape:
    """A body's shape; no body has no type."""
    if body is None:
        return Shape(None)
    return Shape(body.type, body.schema if isinstance(body.schema, Mapping) else {})


def _param_shape(param: Param) -> Shape:
    return Shape(param.type, param.schema)


def _parameters(walker: SchemaWalker, old: Operation, new: Operation, where: Location) -> None:
    old_params, new_params = ({p.python_name: p for p in op.params} for op in (old, new))
    for name in sorted(old_params.keys() | new_params.keys()):
        at = attrs.evolve(where.at(f"parameters.{name}"), direction="request")
        before, after = old_params.get(name), new_params.get(name)
        if before is None or after is None:
            required = bool(after and after.required)
            kind = "parameter.removed" if after is None else "parameter.added"
            walker.emit(f"{kind}_required" if required else kind, at, "")
            continue
        if before.required != after.required:
            became = "required" if after.required else "optional"
            walker.emit(f"parameter.became_{became}", at, "")
        if before.location != after.location:
            kind = "parameter.moved_from_path" if before.location == "path" else "parameter.moved"
            walker.emit(kind, at, f"{before.location} -> {after.location}")
        if before.wire_name != after.wire_name:
            walker.emit("parameter.renamed_on_wire", at, f"{before.wire_name} -> {after.wire_name}")
        walker.compare(_param_shape(before), _param_shape(after), at)
    old_order, new_order = ([p.python_name for p in op.path_params] for op in (old, new))
    kept = [name for name in old_order if name in new_order]
    if kept != [name for name in new_order if name in old_order]:
        at = attrs.evolve(where.at("parameters"), direction="request")
        walker.emit("parameter.reordered", at, f"{', '.join(old_order)} -> {', '.join(new_order)}")


def _request_body(walker: SchemaWalker, old: Operation, new: Operation, where: Location) -> None:
    at = attrs.evolve(where.at("body"), direction="request")
    before, after = old.body, new.body
    if after is None:
        if before is not None:
            walker.emit("request_body.removed", at, "")
        return
    if before is None:
        kind = "request_body.added_required" if after.required else "request_body.added"
        walker.emit(kind, at, "")
        return
    if before.required != after.required:
        became = "required" if after.required else "optional"
        walker.emit(f"request_body.became_{became}", at, "")
    if before.multipart != after.multipart:
        walker.emit(
            "request_body.media_type_changed", at, f"{before.media_type} -> {after.media_type}"
        )
    elif after.multipart:
        _parts(walker, before, after, at)
    else:
        walker.compare(_shape(before), _shape(after), at)


def _parts(walker: SchemaWalker, old: Body, new: Body, where: Location) -> None:
    """A multipart body's parts, each an argument by its Python name."""
    old_parts, new_parts = ({p.python_name: p for p in body.parts} for body in (old, new))
    for name in sorted(old_parts.keys() | new_parts.keys()):
        at = where.at(name)
        before, after = old_parts.get(name), new_parts.get(name)
        if after is None:
            walker.emit("part.removed", at, old_parts[name].kind)
            continue
        if before is None:
            walker.emit(f"part.added{'_required' if after.required else ''}", at, after.kind)
            continue
        if before.required != after.required:
            walker.emit(f"part.became_{'required' if after.required else 'optional'}", at, "")
        if before.wire_name != after.wire_name:
            walker.emit("part.renamed_on_wire", at, f"{before.wire_name} -> {after.wire_name}")
        if before.kind != after.kind:
            walker.emit("part.kind_changed", at, f"{before.kind} -> {after.kind}")
            continue
        if before.content_type != after.content_type:
            walker.emit(
                "part.media_type_changed", at, f"{before.content_type} -> {after.content_type}"
            )
        if after.kind != "file":
            walker.compare(_part_shape(before), _part_shape(after), at)


def _part_shape(part: Part) -> Shape:
    return Shape(part.type, part.schema)


def _responses(walker: SchemaWalker, old: Operation, new: Operation, where: Location) -> None:
    before, after = ({str(r.status): _shape(r.body) for r in op.responses} for op in (old, new))
    success_types = {
        type_atoms(walker.old, shape) for code, shape in before.items() if code.startswith("2")
    }

    def at(code: str) -> Location:
        if code.startswith("2"):
            return attrs.evolve(where.at(f"responses.{code}"), direction="response")
        return attrs.evolve(where.at(f"errors.{code}"), direction="error")

    def prefix(code: str) -> str:
        return "success_code" if code.startswith("2") else "error_code"

    for code in sorted(before.keys() - after.keys()):
        atoms = type_atoms(walker.old, before[code])
        walker.emit(f"{prefix(code)}.removed", at(code), show_type(atoms))
    for code in sorted(after.keys() - before.keys()):
        atoms = type_atoms(walker.new, after[code])
        fresh = code.startswith("2") and atoms not in success_types
        walker.emit(
            f"{prefix(code)}.added{'_new_type' if fresh else ''}", at(code), show_type(atoms)
        )
    for code in sorted(before.keys() & after.keys()):
        walker.compare(before[code], after[code], at(code))


def _declared(
    walker: SchemaWalker,
    name: str,
    before: Any,
    after: Any,
    at: Location,
    kind_of: Callable[[str], str],
) -> None:
    """An x- declaration as written (the generator refuses a malformed one, the report
    shows it): `name`.added / .removed, else the kind `kind_of` gives each changed key."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):  # absent or odd
        if before is None or after is None:
            if before is not after:
                kind = f"{name}.removed" if after is None else f"{name}.added"
                walker.emit(kind, at, str(after or before))
        elif before != after:
            walker.emit(f"{name}.changed", at, f"{before} -> {after}")
        return
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            walker.emit(kind_of(str(key)), at, f"{key}: {before.get(key)} -> {after.get(key)}")


def _dedupe(walker: SchemaWalker, old: Operation, new: Operation, where: Location) -> None:
    at = where.at("x-dedupe")
    _declared(
        walker, "dedupe", old.dedupe_declared, new.dedupe_declared, at, lambda _: "dedupe.changed"
    )


def _poll(walker: SchemaWalker, old: Operation, new: Operation, where: Location) -> None:
    """x-poll: which operation and id it polls shape the methods; the rest, the waiting."""

    def kind_of(key: str) -> str:
        return "poll.target_changed" if key in ("operation", "id") else "poll.changed"

    _declared(walker, "poll", old.poll_declared, new.poll_declared, where.at("x-poll"), kind_of)


def diff_operations(walker: SchemaWalker) -> None:
    """Report every operation added, removed or changed between the walker's IRs."""
    old_ops, new_ops = ({op.key: op for op in api.operations} for api in (walker.old, walker.new))
    for key in sorted(old_ops.keys() - new_ops.keys()):
        op = old_ops[key]
        walker.emit("operation.removed", Location("operation", key), f"{op.method} {op.path}")
    for key in sorted(new_ops.keys() - old_ops.keys()):
        op = new_ops[key]
        walker.emit("operation.added", Location("operation", key), f"{op.method} {op.path}")
    for key in sorted(old_ops.keys() & new_ops.keys()):
        old, new, where = old_ops[key], new_ops[key], Location("operation", key)
        if old.path != new.path:
            walker.emit("operation.path_changed", where, f"{old.path} -> {new.path}")
        if old.method != new.method:
            walker.emit("operation.method_changed", where, f"{old.method} -> {new.method}")
        for part in (_parameters, _request_body, _responses, _dedupe, _poll):
            part(walker, old, new, where)
