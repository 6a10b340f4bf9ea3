"""The request body's column declarations: x-aliases on its properties, x-extra-columns on it.

`leadkit load` matches a file's columns to body fields by name and by these aliases; the
extra-columns object takes the columns no field claims. Names are compared as the loader
compares them (`header_key`), so a spec cannot declare one column name for two fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadkit.bulk.matching import header_key

from .errors import Problems, pointer_parts
from .ir import Body
from .load import resolve

__all__ = ["NO_COLUMNS", "Columns", "read_columns"]

Columns = tuple[tuple[tuple[str, tuple[str, ...]], ...], str | None]
"""((wire name, aliases) of each property with x-aliases, in spec order; the extra object)."""
NO_COLUMNS: Columns = ((), None)

_Property = tuple[str, Any, tuple[Any, ...]]
"""(name, schema, path where it is defined) of one body property."""


def _located(
    document: Mapping[str, Any], node: Any, path: tuple[Any, ...]
) -> tuple[Any, tuple[Any, ...]]:
    """`node` with its $refs followed, and the path where it is defined."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        path = tuple(pointer_parts(node["$ref"]))
        node = resolve(document, node["$ref"])
    return node, path


def _properties(document: Mapping[str, Any], schema: Any, path: tuple[Any, ...]) -> list[_Property]:
    """Each property of an object schema and of its allOf parts, where it is defined."""
    node, path = _located(document, schema, path)
    if not isinstance(node, Mapping):
        return []
    found = [(n, p, (*path, "properties", n)) for n, p in node.get("properties", {}).items()]
    for i, part in enumerate(node.get("allOf", ())):
        found += _properties(document, part, (*path, "allOf", i))
    return found


def read_columns(
    document: Mapping[str, Any], body: Body, path: tuple[Any, ...], problems: Problems
) -> Columns:
    """The column declarations of a JSON request `body` read at `path` (its schema's place)."""
    root, where = _located(document, body.schema, path)
    properties = _properties(document, root, where)
    claimed = {header_key(name): f"the property {name!r}" for name, _, _ in properties}
    aliases = []
    for name, prop, at in properties:
        declared = prop.get("x-aliases") if isinstance(prop, Mapping) else None
        if declared is None:
            continue
        if not isinstance(declared, list) or not all(
            isinstance(alias, str) and alias.strip() for alias in declared
        ):
            problems.refuse((*at, "x-aliases"), "x-aliases must be a list of column names")
            continue
        for i, alias in enumerate(declared):
            key = header_key(alias)
            if key in claimed:
                problems.refuse(
                    (*at, "x-aliases", i),
                    f"{alias!r} already matches {claimed[key]}; a column name may mean "
                    "one property only",
                )
            claimed[key] = f"the alias {alias!r} of {name!r}"
        aliases.append((name, tuple(declared)))
    return tuple(aliases), _extra_columns(document, root, where, properties, problems)


def _extra_columns(
    document: Mapping[str, Any],
    root: Any,
    where: tuple[Any, ...],
    properties: list[_Property],
    problems: Problems,
) -> str | None:
    extra = root.get("x-extra-columns") if isinstance(root, Mapping) else None
    if extra is None:
        return None
    at = (*where, "x-extra-columns")
    schemas = {name: (prop, path) for name, prop, path in properties}
    if not isinstance(extra, str) or extra not in schemas:
        problems.refuse(at, f"{extra!r} is not a property of the request body")
        return None
    target, _ = _located(document, *schemas[extra])
    kinds = target.get("type") if isinstance(target, Mapping) else None
    if "object" not in ([kinds] if isinstance(kinds, str) else kinds or []):
        problems.refuse(at, f"{extra!r} must be an object property: columns go in as its keys")
        return None
    return extra
