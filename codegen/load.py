"""Stage 1: read a spec file, check it is valid OpenAPI with no dangling $ref."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from .errors import SpecError, json_pointer, pointer_parts

__all__ = ["LoadedSpec", "iter_refs", "load_spec", "resolve"]

_YAML_11_SCALARS = {f"tag:yaml.org,2002:{kind}" for kind in ("timestamp", "bool", "int", "float")}
_YAML_12_SCALARS = {
    "bool": (r"true|True|TRUE|false|False|FALSE", "tTfF"),
    "int": (r"[-+]?[0-9]+", "-+0123456789"),
    "float": (
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+.0123456789",
    ),
}
"""YAML 1.2 core-schema scalars, as OpenAPI 3.1 reads YAML: `NO`, `on` and `10:30` stay text,
`017` is 17 (YAML 1.1 made them false, true, 630 and 15)."""


class _JsonLoader(yaml.SafeLoader):
    """SafeLoader reading plain scalars by YAML 1.2's core schema; timestamps stay text."""


def _decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node))


_JsonLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_11_SCALARS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _kind, (_pattern, _first) in _YAML_12_SCALARS.items():
    _JsonLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_kind}", re.compile(f"^(?:{_pattern})$"), list(_first)
    )
_JsonLoader.add_constructor("tag:yaml.org,2002:int", _decimal_int)


@attrs.frozen
class LoadedSpec:
    """A parsed, validated spec and what identifies it."""

    path: Path
    label: str
    """How messages and file headers name the spec (a path relative to the project)."""
    name: str
    document: Mapping[str, Any]
    sha256: str


def iter_refs(
    node: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string `$ref` inside `node`, with its holder's path (relative to `node`)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield path, ref
        for key, value in node.items():
            yield from iter_refs(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_refs(value, (*path, index))


def resolve(document: Any, ref: str) -> Any:
    """The node a local JSON pointer (``#/a/0/b``) names; LookupError when it names nothing."""
    node = document
    for part in pointer_parts(ref):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise LookupError(ref)
    return node


def _resolves(document: Any, ref: str) -> bool:
    try:
        resolve(document, ref)
    except LookupError:
        return False
    return True


def _locate(document: Any, suffix: tuple[Any, ...], instance: Any) -> tuple[Any, ...]:
    """Find the full path of an error the validator reported relative to a sub-schema."""

    def walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        if path[len(path) - len(suffix) :] == suffix and node == instance:
            yield path
        children = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, value in children:
            yield from walk(value, (*path, key))

    return next(walk(document, ()), suffix)


def _check_refs(label: str, document: Any) -> None:
    for path, ref in iter_refs(document):
        where = json_pointer((*path, "$ref"))
        if not ref.startswith("#"):
            raise SpecError(label, where, f"external $ref {ref!r} is not supported; inline it")
        if not _resolves(document, ref):
            raise SpecError(label, where, f"$ref {ref!r} points at nothing in this file")


def load_spec(path: Path, label: str | None = None) -> LoadedSpec:
    """Read and validate one spec; raise SpecError naming `label` (default: the path)."""
    label = label or str(path)
    raw = path.read_bytes()
    try:
        document = yaml.load(raw, Loader=_JsonLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(label, "#", f"not valid YAML at {where}: {problem}") from None
    if not isinstance(document, dict):
        raise SpecError(label, "#", "the document is not a mapping; expected an OpenAPI 3.1 object")
    _check_refs(label, document)
    try:
        validate(document)
    except OpenAPIValidationError as exc:
        pointer = json_pointer(_locate(document, tuple(exc.absolute_path), exc.instance))
        # the validator may append the failing schema and instance: keep the one line before
        problem = " ".join(exc.message.split("\n\n", 1)[0].split())
        raise SpecError(label, pointer, f"not valid OpenAPI: {problem}") from None
    return LoadedSpec(
        path=path,
        label=label,
        name=path.stem,
        document=document,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
