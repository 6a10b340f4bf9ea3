"""Stage 3: the operations IR, built from a spec's paths and its x- extensions."""

from __future__ import annotations

import keyword
import pprint
import re
import sys
from collections.abc import Mapping
from typing import Any

from leadkit.bulk.matching import header_key
from leadkit.runtime import BaseClient
from leadkit.runtime.api import RateLimitPolicy, rate_limit_from_spec

from .errors import SpecError, json_pointer, pointer_parts
from .ir import Api, Auth, Dedupe, ModelInfo, Operation, Param, ResponseCase
from .load import LoadedSpec, resolve

__all__ = ["build_api", "key_env_var"]

METHODS = ("get", "put", "post", "patch", "delete")
UNSUPPORTED_METHODS = ("head", "options", "trace")
JSON = "application/json"
_FORMATS = {"uuid": "UUID", "date-time": "datetime", "date": "date"}
_STDLIB = {"UUID": "from uuid import UUID", "datetime": "from datetime import datetime"}
_STDLIB["date"] = "from datetime import date"
_PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
RESERVED_NAMES = frozenset({"self", "body", "rows", "options", "bulk_create"})
"""Names the generated methods use themselves; no parameter may become one of them."""
CLIENT_NAMES = frozenset({"api", *dir(BaseClient)})
"""What a client already has; no method may be one of them (`close` would replace close())."""
MODULE_NAMES = frozenset({"API", "RENAMES", "TYPE_CHECKING", "UUID"})
"""Upper-case names client.py defines or imports; no operation constant may be one of them."""
DEDUPE_KEYS = ("field", "conflict-status")
"""What an x-dedupe mapping may hold."""


def snake_case(name: str) -> str:
    """`usersId` -> `users_id`, `X-Request-Id` -> `x_request_id`; keywords get a `_`."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def pascal_case(name: str) -> str:
    """`coldsend` -> `Coldsend`, `lead_api` -> `LeadApi`."""
    return "".join(part.capitalize() for part in snake_case(name).split("_"))


def key_env_var(scheme: Mapping[str, Any], api_name: str) -> str:
    """The environment variable the client reads its key from: x-env-var, else NAME_API_KEY."""
    return str(scheme.get("x-env-var") or f"{api_name.upper()}_API_KEY")


def _signature(
    path_params: tuple[Param, ...], body: str | None, others: tuple[Param, ...]
) -> tuple[str, str]:
    """A method's parameters after `self`, and the same passed on to another method.

    Path parameters are positional; the body and the other parameters keyword-only.
    """
    keyword = [f"body: {body}"] if body else []
    keyword += [f"{p.python_name}: {p.annotation}" for p in others]
    declared = [f"{p.python_name}: {p.annotation}" for p in path_params]
    declared += ["*", *keyword] if keyword else []
    passed = [p.python_name for p in path_params] + (["body=body"] if body else [])
    passed += [f"{p.python_name}={p.python_name}" for p in others]
    return ", ".join(declared), ", ".join(passed)


class _Builder:
    """Walks one spec; `fail` raises a SpecError at a JSON pointer."""

    def __init__(self, spec: LoadedSpec, models: tuple[ModelInfo, ...]) -> None:
        self.spec = spec
        self.doc = spec.document
        self.by_ref = {m.source_ref: m.class_name for m in models}
        self.attrs_classes = {f"models.{m.class_name}" for m in models if m.is_attrs_class}
        self.stdlib: set[str] = set()

    def fail(self, path: tuple[Any, ...], message: str) -> SpecError:
        return SpecError(self.spec.label, json_pointer(path), message)

    def type_expr(self, schema: Any, path: tuple[Any, ...]) -> str:
        """Python type of a schema, naming generated classes as `models.X`."""
        if not isinstance(schema, Mapping):
            raise self.fail(path, "expected a schema object")
        ref = schema.get("$ref")
        pointer = ref if isinstance(ref, str) else json_pointer(path)
        if pointer in self.by_ref:
            return f"models.{self.by_ref[pointer]}"
        if ref is not None:
            return self.type_expr(self._resolve(ref), tuple(pointer_parts(ref)))
        types = schema.get("type")
        if types is None:
            if any(k in schema for k in ("anyOf", "oneOf", "allOf", "properties", "enum")):
                raise self.fail(path, "this inline schema has no generated model; give it a $ref")
            return "Any"
        names = [types] if isinstance(types, str) else list(types)
        parts = [self._single_type(schema, name, path) for name in names if name != "null"]
        if "null" in names:
            parts.append("None")
        return " | ".join(parts)

    def _single_type(self, schema: Mapping[str, Any], name: str, path: tuple[Any, ...]) -> str:
        if name == "string" and schema.get("format") in _FORMATS:
            python = _FORMATS[schema["format"]]
            self.stdlib.add(_STDLIB[python])
            return python
        if name in _PRIMITIVES:
            return _PRIMITIVES[name]
        if name == "array":
            return f"list[{self.type_expr(schema.get('items', {}), (*path, 'items'))}]"
        if name == "object" and "properties" not in schema:
            return "dict[str, Any]"
        raise self.fail((*path, "type"), f"cannot generate a type for {name!r} here")

    def _resolve(self, ref: str) -> Any:
        return resolve(self.doc, ref)

    def _deref(self, node: Any) -> Any:
        while isinstance(node, Mapping) and "$ref" in node:
            node = self._resolve(node["$ref"])
        return node

    def auth(self) -> Auth:
        requirements = self.doc.get("security") or []
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        if not requirements or not requirements[0]:
            raise self.fail(("security",), "declare one API-key security requirement")
        name = next(iter(requirements[0]))
        scheme = schemes.get(name)
        path = ("components", "securitySchemes", name)
        if not isinstance(scheme, Mapping):
            raise self.fail(("security", 0), f"security scheme {name!r} is not defined")
        env_var = key_env_var(scheme, self.spec.name)
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            return Auth(header=scheme["name"], prefix="", env_var=env_var)
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            return Auth(header="Authorization", prefix="Bearer ", env_var=env_var)
        raise self.fail(path, "only apiKey-in-header and http bearer security are supported")

    def rate_limit(self) -> RateLimitPolicy | None:
        try:
            return rate_limit_from_spec(self.doc.get("x-rate-limit"))
        except ValueError as exc:
            raise self.fail(("x-rate-limit",), str(exc)) from None

    def param(self, raw: Any, path: tuple[Any, ...]) -> Param:
        param = self._deref(raw)
        location = param.get("in")
        if location not in ("path", "query", "header"):
            raise self.fail((*path, "in"), f"{location!r} parameters are not supported")
        type_expr = self.type_expr(param.get("schema", {}), (*path, "schema"))
        kinds = {part.split("[")[0] for part in type_expr.split(" | ")}
        if kinds & {"dict", *self.attrs_classes} or (location != "query" and "list" in kinds):
            raise self.fail(
                (*path, "schema"),
                f"a {location} parameter of type {type_expr} is not supported (the client "
                "sends str() of the value); use a scalar, or an array in the query",
            )
        required = bool(param.get("required", location == "path"))
        annotation = f"{type_expr} | str" if type_expr == "UUID" else type_expr
        return Param(
            wire_name=param["name"],
            python_name=snake_case(param["name"]),
            location=location,
            type_expr=type_expr,
            annotation=annotation if required else f"{annotation} | None = None",
            required=required,
            description=" ".join(str(param.get("description", "")).split()),
        )

    def json_type(self, holder: Any, path: tuple[Any, ...]) -> str | None:
        """Type of the JSON body of a request body or response object (None: no body).

        A `$ref`ed holder (``#/components/responses/...``) is read where it is defined, as
        the models of its inline schemas are named after that place.
        """
        while isinstance(holder, Mapping) and isinstance(holder.get("$ref"), str):
            path = tuple(pointer_parts(holder["$ref"]))
            holder = self._resolve(holder["$ref"])
        content = holder.get("content") or {}
        if not content:
            return None
        if JSON not in content:
            raise self.fail((*path, "content"), f"only {JSON} bodies are supported")
        media = content[JSON]
        if "schema" not in media:
            return "Any"
        return self.type_expr(media["schema"], (*path, "content", JSON, "schema"))

    def params(
        self, path: tuple[Any, ...], op: Mapping[str, Any], shared: list[Any]
    ) -> list[Param]:
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
                raise self.fail(
                    where,
                    f"{param.location} parameter {param.wire_name!r} would be the argument "
                    f"{name!r}, which the generated methods use themselves; rename it",
                )
            if other:
                raise self.fail(
                    where,
                    f"{param.location} parameter {param.wire_name!r} and {other.location} "
                    f"parameter {other.wire_name!r} would both be the argument {name!r}; "
                    "rename one",
                )
            by_name[name] = param
        return list(by_name.values())

    def body_fields(self, op: Mapping[str, Any]) -> set[str]:
        """Property names of the operation's JSON request body (allOf parts included)."""
        content = self._deref(op.get("requestBody", {})).get("content") or {}
        schema = content.get(JSON, {}).get("schema")
        return {name for name, _, _ in self._located_properties(schema, ())}

    def _located(self, node: Any, path: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
        """`node` with its $refs followed, and the path where it is defined."""
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            path = tuple(pointer_parts(node["$ref"]))
            node = self._resolve(node["$ref"])
        return node, path

    def _located_properties(
        self, schema: Any, path: tuple[Any, ...]
    ) -> list[tuple[str, Any, tuple[Any, ...]]]:
        """(name, schema, path) of each property of an object schema and its allOf parts."""
        node, path = self._located(schema, path)
        if not isinstance(node, Mapping):
            return []
        found = [(n, p, (*path, "properties", n)) for n, p in node.get("properties", {}).items()]
        for i, part in enumerate(node.get("allOf", ())):
            found += self._located_properties(part, (*path, "allOf", i))
        return found

    def columns(
        self, op: Mapping[str, Any], path: tuple[Any, ...]
    ) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], str | None]:
        """The JSON body's column declarations: each property's x-aliases (other column names
        a file may give it), and x-extra-columns on the body schema (the object property that
        takes the columns no property claims)."""
        holder, where = self._located(op.get("requestBody"), (*path, "requestBody"))
        media = (holder.get("content") or {}).get(JSON) if isinstance(holder, Mapping) else None
        if not isinstance(media, Mapping) or "schema" not in media:
            return (), None
        root, where = self._located(media["schema"], (*where, "content", JSON, "schema"))
        properties = self._located_properties(root, where)
        claimed = {header_key(name): f"the property {name!r}" for name, _, _ in properties}
        aliases = []
        for name, prop, at in properties:
            declared = prop.get("x-aliases") if isinstance(prop, Mapping) else None
            if declared is None:
                continue
            if not isinstance(declared, list) or not all(
                isinstance(alias, str) and alias.strip() for alias in declared
            ):
                raise self.fail((*at, "x-aliases"), "x-aliases must be a list of column names")
            for i, alias in enumerate(declared):
                key = header_key(alias)
                if key in claimed:
                    raise self.fail(
                        (*at, "x-aliases", i),
                        f"{alias!r} already matches {claimed[key]}; a column name may mean "
                        "one property only",
                    )
                claimed[key] = f"the alias {alias!r} of {name!r}"
            aliases.append((name, tuple(declared)))
        return tuple(aliases), self._extra_columns(root, where, properties)

    def _extra_columns(
        self,
        root: Any,
        where: tuple[Any, ...],
        properties: list[tuple[str, Any, tuple[Any, ...]]],
    ) -> str | None:
        extra = root.get("x-extra-columns") if isinstance(root, Mapping) else None
        if extra is None:
            return None
        at = (*where, "x-extra-columns")
        schemas = {name: (prop, path) for name, prop, path in properties}
        if not isinstance(extra, str) or extra not in schemas:
            raise self.fail(at, f"{extra!r} is not a property of the request body")
        target, _ = self._located(*schemas[extra])
        kinds = target.get("type") if isinstance(target, Mapping) else None
        if "object" not in ([kinds] if isinstance(kinds, str) else kinds or []):
            raise self.fail(at, f"{extra!r} must be an object property: columns go in as its keys")
        return extra

    def dedupe(self, op: Mapping[str, Any], path: tuple[Any, ...]) -> Dedupe | None:
        """The x-dedupe declaration: a request-body field, a declared 'already exists' status."""
        raw, where = op.get("x-dedupe"), (*path, "x-dedupe")
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise self.fail(where, "x-dedupe must be a mapping: field (and conflict-status)")
        for key in raw:
            if key not in DEDUPE_KEYS:
                expected = ", ".join(DEDUPE_KEYS)
                raise self.fail((*where, key), f"unknown key; x-dedupe takes {expected}")
        field, status = raw.get("field"), raw.get("conflict-status")
        if not isinstance(field, str):
            raise self.fail((*where, "field"), "needs field: the request field naming a record")
        if field not in self.body_fields(op):
            raise self.fail((*where, "field"), f"{field!r} is not a property of the request body")
        declared = sorted(str(code) for code in op.get("responses", {}))
        if status is not None and (type(status) is not int or str(status) not in declared):
            raise self.fail(
                (*where, "conflict-status"),
                f"{status!r} is not one of the operation's response codes ({', '.join(declared)})",
            )
        return Dedupe(field, status)

    def operation(
        self, route: str, method: str, op: Mapping[str, Any], shared: list[Any]
    ) -> Operation:
        path = ("paths", route, method)
        op_id = op.get("operationId")
        if not isinstance(op_id, str) or not op_id:
            raise self.fail(
                path,
                "operationId is missing; every operation needs one (it names the client method)",
            )
        name = snake_case(op_id)
        if not name[0].isalpha():
            raise self.fail(
                (*path, "operationId"),
                f"operationId {op_id!r} would be the method {name!r}; start it with a letter",
            )
        params = self.params(path, op, shared)
        for placeholder in re.findall(r"{([^}]+)}", route):
            if not any(p.location == "path" and p.wire_name == placeholder for p in params):
                raise self.fail(path, f"path parameter {{{placeholder}}} is not declared")
        body_type = body_model = None
        if "requestBody" in op:
            body_type = self.json_type(op["requestBody"], (*path, "requestBody"))
            if body_type in self.attrs_classes:
                body_model = body_type
        success, errors, default_error = [], [], None
        for status, response in sorted(op.get("responses", {}).items(), key=lambda kv: str(kv[0])):
            rpath = (*path, "responses", status)
            kind = self.json_type(response, rpath)
            if str(status) == "default":
                default_error = kind
            elif not str(status).isdigit():
                raise self.fail(rpath, "status ranges like 2XX are not supported; list the codes")
            elif 200 <= int(status) < 300:
                success.append(ResponseCase(int(status), kind))
            else:
                errors.append(ResponseCase(int(status), kind))
        if not success:
            raise self.fail((*path, "responses"), "declare at least one 2xx response")
        kinds = sorted({c.type_expr for c in success if c.type_expr})
        if any(c.type_expr is None for c in success) and kinds:
            kinds.append("None")
        path_params = tuple(p for p in params if p.location == "path")
        other_params = tuple(
            sorted((p for p in params if p.location != "path"), key=lambda p: not p.required)
        )
        body = f"{body_type} | Mapping[str, Any]" if body_model else body_type
        signature, call_args = _signature(path_params, body, other_params)
        dedupe = self.dedupe(op, path)
        aliases, extra = self.columns(op, path) if body_model else ((), None)
        return Operation(
            name=name,
            const_name=name.upper().strip("_"),
            method=method.upper(),
            path=route,
            summary=" ".join(str(op.get("summary") or name.replace("_", " ")).split()),
            description=" ".join(str(op.get("description", "")).split()),
            path_params=path_params,
            other_params=other_params,
            body_type=body_type,
            body_model=body_model,
            success=tuple(success),
            errors=tuple(errors),
            default_error=default_error,
            return_type=" | ".join(kinds) if kinds else "None",
            signature=signature,
            call_args=call_args,
            dedupe=dedupe,
            bulk=dedupe is not None and body_model is not None,
            column_aliases=aliases,
            extra_columns=extra,
        )

    def operations(self) -> tuple[Operation, ...]:
        found: list[Operation] = []
        owners = dict.fromkeys(CLIENT_NAMES | MODULE_NAMES, "the generated client")
        for route, item in sorted(self.doc.get("paths", {}).items()):
            for method in UNSUPPORTED_METHODS:
                if method in item:
                    raise self.fail(("paths", route, method), f"{method.upper()} is not supported")
            for method in METHODS:
                if method in item:
                    op = self.operation(route, method, item[method], item.get("parameters", []))
                    for name in _defined_names(op):
                        if name in owners:
                            raise self.fail(
                                ("paths", route, method, "operationId"),
                                f"operation {op.name!r} would define {name!r}, which "
                                f"{owners[name]} defines too; rename it",
                            )
                        owners[name] = f"operation {op.name!r} ({op.method} {route})"
                    found.append(op)
        return tuple(found)


def _defined_names(op: Operation) -> tuple[str, ...]:
    """The client methods and the module constant an operation's code defines."""
    methods = (op.name, f"{op.name}_with_response", *([f"{op.name}_bulk"] if op.bulk else []))
    return (*methods, op.const_name)


def build_api(spec: LoadedSpec, models_source: str, models: tuple[ModelInfo, ...]) -> Api:
    """Build the IR of one API from its loaded spec and its generated models."""
    if not spec.name.isidentifier() or spec.name != spec.name.lower():
        raise SpecError(spec.label, "#", "the file name must be a lower-case Python identifier")
    builder = _Builder(spec, models)
    servers = spec.document.get("servers") or [{"url": "http://localhost"}]
    info = spec.document["info"]
    operations = builder.operations()
    return Api(
        package=spec.name,
        client_class=f"{pascal_case(spec.name)}Client",
        title=info["title"],
        spec_file=spec.label,
        spec_sha256=spec.sha256,
        base_url=str(servers[0]["url"]).rstrip("/"),
        auth=builder.auth(),
        rate_limit=builder.rate_limit(),
        operations=operations,
        has_bulk=any(op.bulk for op in operations),
        models=models,
        models_source=models_source,
        stdlib_imports=tuple(sorted(builder.stdlib)),
        spec_literal=pprint.pformat(spec.document, sort_dicts=True, width=sys.maxsize),
    )
