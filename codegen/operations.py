"""Stage 3: the operations of a spec's paths read into the IR, with their x- declarations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leadkit.runtime import BaseClient

from .columns import NO_COLUMNS, read_columns
from .errors import Problems, json_pointer, pointer_parts
from .form_parts import MULTIPART, PartReader
from .ir import Body, ClassModel, Dedupe, Model, Operation, Param, Response, TypeRef
from .load import resolve
from .names import argument_name, snake_case
from .polls import read_polls
from .typeref import SchemaTypes
from .uploads import read_uploads

__all__ = ["read_operations"]

METHODS = ("get", "put", "post", "patch", "delete")
UNSUPPORTED_METHODS = ("head", "options", "trace")
JSON = "application/json"
RESERVED_NAMES = frozenset({"self", "body", "rows", "bulk_create"})
"""Names the generated methods use themselves; no parameter may become one of them."""
CLIENT_NAMES = frozenset({"api", *dir(BaseClient)})
"""What a client already has; no method may be one of them (`close` would replace close())."""
MODULE_NAMES = frozenset({"API", "DEFAULT_POLLING", "RENAMES", "TYPE_CHECKING", "UUID"})
"""Upper-case names client.py defines or imports; no operation constant may be one of them."""
DEDUPE_KEYS = ("field", "conflict-status")
"""What an x-dedupe mapping may hold."""


def _deref(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        node = resolve(document, node["$ref"])
    return node


def _words(text: Any) -> str:
    return " ".join(str(text or "").split())


class _Reader:
    """Reads the operations of one spec; refusals go to `problems`."""

    def __init__(self, document: Mapping[str, Any], models: tuple[Model, ...], problems: Problems):
        self.doc = document
        self.problems = problems
        self.types = SchemaTypes(document, {m.pointer: m.name for m in models}, problems)
        self.classes = {m.name for m in models if isinstance(m, ClassModel)}
        self.parts = PartReader(document, self.types, self.classes, problems)

    def param(self, raw: Any, path: tuple[Any, ...]) -> Param:
        param = _deref(self.doc, raw)
        location = param.get("in")
        if location not in ("path", "query", "header"):
            self.problems.refuse((*path, "in"), f"{location!r} parameters are not supported")
        schema = param.get("schema", {})
        kind = self.types.read(schema, (*path, "schema"))
        kinds = {t.kind for t in kind.members}
        classes = {t.model for t in kind.members if t.kind == "model"} & self.classes
        if kinds & {"dict"} or classes or (location != "query" and "list" in kinds):
            self.problems.refuse(
                (*path, "schema"),
                f"a {location} parameter of type {kind.hint('models.')} is not supported (the "
                "client sends str() of the value); use a scalar, or an array in the query",
            )
        return Param(
            wire_name=param["name"],
            python_name=argument_name(param["name"]),
            location=str(location),
            type=kind,
            required=bool(param.get("required", location == "path")),
            description=_words(param.get("description")),
            pointer=json_pointer(path),
            schema=schema if isinstance(schema, Mapping) else {},
        )

    def body(self, holder: Any, path: tuple[Any, ...], *, request: bool = False) -> Body | None:
        """The body of a request body or response object (None: no content); a request
        body may be multipart/form-data.

        A `$ref`ed holder (``#/components/responses/...``) is read where it is defined, as
        the models of its inline schemas are named after that place.
        """
        required = bool(_deref(self.doc, holder).get("required"))
        while isinstance(holder, Mapping) and isinstance(holder.get("$ref"), str):
            path = tuple(pointer_parts(holder["$ref"]))
            holder = resolve(self.doc, holder["$ref"])
        content = holder.get("content") or {}
        if not content:
            return None
        if request and JSON not in content and MULTIPART in content:
            media = content[MULTIPART] or {}
            parts = self.parts.read(media, (*path, "content", MULTIPART))
            return Body(MULTIPART, TypeRef("any"), media.get("schema"), required, parts)
        if JSON not in content:
            also = f" and {MULTIPART} request" if request else ""
            self.problems.refuse((*path, "content"), f"only {JSON}{also} bodies are supported")
        media_type = JSON if JSON in content else next(iter(content))
        media = content[media_type] or {}
        if "schema" not in media:
            return Body(media_type, TypeRef("any"), None, required)
        schema = media["schema"]
        kind = self.types.read(schema, (*path, "content", media_type, "schema"))
        return Body(media_type, kind, schema, required)

    def params(
        self, path: tuple[Any, ...], op: Mapping[str, Any], shared: list[Any]
    ) -> tuple[Param, ...]:
        """The operation's parameters (its own override the path's), each a distinct argument."""
        route_path, own = path[:2], op.get("parameters", [])
        declared = [((*route_path, "parameters", i), raw) for i, raw in enumerate(shared)]
        declared += [((*path, "parameters", i), raw) for i, raw in enumerate(own)]
        by_key: dict[tuple[str, str], tuple[tuple[Any, ...], Param]] = {}
        for where, raw in declared:
            param = self.param(raw, where)
            by_key[(param.location, param.wire_name)] = (where, param)
        by_name: dict[str, Param] = {}
        for where, param in by_key.values():
            name, other = param.python_name, by_name.get(param.python_name)
            if name in RESERVED_NAMES:
                self.problems.refuse(
                    where,
                    f"{param.location} parameter {param.wire_name!r} would be the argument "
                    f"{name!r}, which the generated methods use themselves; rename it",
                )
            if other:
                self.problems.refuse(
                    where,
                    f"{param.location} parameter {param.wire_name!r} and {other.location} "
                    f"parameter {other.wire_name!r} would both be the argument {name!r}; "
                    "rename one",
                )
            by_name[name] = param
        return tuple(by_name.values())

    def _properties(self, schema: Any) -> set[str]:
        """Property names of an object schema and of its allOf parts."""
        node = _deref(self.doc, schema)
        if not isinstance(node, Mapping):
            return set()
        names = set(node.get("properties", {}))
        for part in node.get("allOf", ()):
            names |= self._properties(part)
        return names

    def dedupe(
        self, op: Mapping[str, Any], body: Body | None, path: tuple[Any, ...]
    ) -> Dedupe | None:
        """The x-dedupe declaration: a request-body field, a declared 'already exists' status."""
        raw, where = op.get("x-dedupe"), (*path, "x-dedupe")
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problems.refuse(where, "x-dedupe must be a mapping: field (and conflict-status)")
            return None
        for key in raw:
            if key not in DEDUPE_KEYS:
                expected = ", ".join(DEDUPE_KEYS)
                self.problems.refuse((*where, key), f"unknown key; x-dedupe takes {expected}")
        field, status = raw.get("field"), raw.get("conflict-status")
        if not isinstance(field, str):
            self.problems.refuse(
                (*where, "field"), "needs field: the request field naming a record"
            )
            return None
        if body is None or field not in self._properties(body.schema):
            self.problems.refuse(
                (*where, "field"), f"{field!r} is not a property of the request body"
            )
        declared = sorted(str(code) for code in op.get("responses", {}))
        if status is not None and (type(status) is not int or str(status) not in declared):
            self.problems.refuse(
                (*where, "conflict-status"),
                f"{status!r} is not one of the operation's response codes ({', '.join(declared)})",
            )
            status = None
        return Dedupe(field, status)

    def responses(self, op: Mapping[str, Any], path: tuple[Any, ...]) -> tuple[Response, ...]:
        found = []
        for status, response in sorted(op.get("responses", {}).items(), key=lambda kv: str(kv[0])):
            rpath = (*path, "responses", status)
            body = self.body(response, rpath)
            if str(status) == "default":
                found.append(Response("default", body))
            elif not str(status).isdigit():
                self.problems.refuse(
                    rpath, "status ranges like 2XX are not supported; list the codes"
                )
            else:
                found.append(Response(int(status), body))
        if not any(r.code is not None and 200 <= r.code < 300 for r in found):
            self.problems.refuse((*path, "responses"), "declare at least one 2xx response")
        return tuple(found)

    def operation(
        self, route: str, method: str, op: Mapping[str, Any], shared: list[Any]
    ) -> Operation:
        path = ("paths", route, method)
        op_id = op.get("operationId")
        if not isinstance(op_id, str) or not op_id:
            self.problems.refuse(
                path,
                "operationId is missing; every operation needs one (it names the client method)",
            )
            op_id = f"{method.upper()} {route}"
        name = snake_case(op_id)
        if not name[0].isalpha():
            self.problems.refuse(
                (*path, "operationId"),
                f"operationId {op_id!r} would be the method {name!r}; start it with a letter",
            )
        params = self.params(path, op, shared)
        for placeholder in re.findall(r"{([^}]+)}", route):
            if not any(p.location == "path" and p.wire_name == placeholder for p in params):
                self.problems.refuse(path, f"path parameter {{{placeholder}}} is not declared")
        body = None
        if "requestBody" in op:
            body = self.body(op["requestBody"], (*path, "requestBody"), request=True)
        self._check_part_names(body, params)
        responses = self.responses(op, path)
        security = op.get("security", self.doc.get("security", []))
        body_model, columns = None, NO_COLUMNS
        if body is not None and body.type.kind == "model" and body.type.model in self.classes:
            body_model = body.type_expr
            schema_path = (*path, "requestBody", "content", body.media_type, "schema")
            columns = read_columns(self.doc, body, schema_path, self.problems)
        return Operation(
            key=op_id,
            name=name,
            method=method.upper(),
            path=route,
            summary=_words(op.get("summary") or name.replace("_", " ")),
            description=_words(op.get("description")),
            params=params,
            body=body,
            responses=responses,
            dedupe=self.dedupe(op, body, path),
            dedupe_declared=op.get("x-dedupe"),
            scopes=tuple(scope for req in security or () for s in req.values() for scope in s),
            body_model=body_model,
            column_aliases=columns[0],
            extra_columns=columns[1],
            poll_declared=op.get("x-poll"),
            upload_declared=op.get("x-upload"),
        )

    def _check_part_names(self, body: Body | None, params: tuple[Param, ...]) -> None:
        """Each part is an argument: none may share a name with another or a reserved one."""
        taken = {
            p.python_name: f"{p.location} parameter {p.wire_name!r} would be too" for p in params
        }
        for part in body.parts if body else ():
            if part.python_name in RESERVED_NAMES or part.python_name in taken:
                other = taken.get(part.python_name, "the generated methods use themselves")
                self.problems.refuse(
                    part.pointer,
                    f"part {part.wire_name!r} would be the argument {part.python_name!r}, "
                    f"which {other}; rename one",
                )
            taken[part.python_name] = f"part {part.wire_name!r} would be too"


def _defined_names(op: Operation) -> tuple[str, ...]:
    """The client methods and the module constants an operation's code defines."""
    methods = (op.name, f"{op.name}_with_response", *([f"{op.name}_bulk"] if op.bulk else []))
    polls = (f"{op.name}_and_wait", f"{op.name}_job", f"{op.const_name}_POLL") if op.poll else ()
    uploads = (op.upload.const_name,) if op.upload else ()
    return (*methods, op.const_name, *polls, *uploads)


def read_operations(
    document: Mapping[str, Any], models: tuple[Model, ...], problems: Problems
) -> tuple[Operation, ...]:
    """Every operation of the spec, by path then method; names the client cannot have refused."""
    reader = _Reader(document, models, problems)
    found: list[Operation] = []
    for route, item in sorted(document.get("paths", {}).items()):
        for method in UNSUPPORTED_METHODS:
            if method in item:
                problems.refuse(("paths", route, method), f"{method.upper()} is not supported")
        for method in METHODS:
            if method in item:
                found.append(
                    reader.operation(route, method, item[method], item.get("parameters", []))
                )
    operations = read_uploads(read_polls(tuple(found), models, problems), models, problems)
    owners = dict.fromkeys(CLIENT_NAMES | MODULE_NAMES, "the generated client")
    for op in operations:
        for name in _defined_names(op):
            if name in owners:
                problems.refuse(
                    ("paths", op.path, op.method.lower(), "operationId"),
                    f"operation {op.name!r} would define {name!r}, which "
                    f"{owners[name]} defines too; rename it",
                )
            owners[name] = f"operation {op.name!r} ({op.method} {op.path})"
    return operations
