"""The intermediate representation of one spec: what every reader of the spec reads.

`codegen.build.build_api` makes one `Api` per spec. The templates render it, `leadkit diff`
compares two of them, and the data the sandbox reads is derived from it. Everything here is
frozen and computed: templates do not work anything out for themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

from leadkit.runtime.api import RateLimitPolicy

from .errors import SpecError

__all__ = [
    "NO_DEFAULT",
    "AliasModel",
    "Api",
    "Auth",
    "Body",
    "ClassModel",
    "Dedupe",
    "EnumMember",
    "EnumModel",
    "Field",
    "Model",
    "Operation",
    "Param",
    "Response",
    "TypeKind",
    "TypeRef",
]

TypeKind = Literal[
    "str", "int", "float", "bool", "uuid", "datetime", "date", "any", "null",
    "list", "dict", "model", "union",
]  # fmt: skip
SCALAR_HINTS: Mapping[str, str] = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "uuid": "UUID",
    "datetime": "datetime",
    "date": "date",
    "any": "Any",
    "null": "None",
}
"""The Python name of each scalar kind; UUID, datetime and date are imported from the stdlib."""
STDLIB_IMPORTS: Mapping[str, str] = {
    "uuid": "from uuid import UUID",
    "datetime": "from datetime import datetime",
    "date": "from datetime import date",
}


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()
"""The `default` of a field or parameter whose schema declares none."""


@attrs.frozen
class TypeRef:
    """A Python type of the generated code, as read from one schema.

    Scalars have no `args`; `list` has its item type, `dict` its value type (keys are str),
    `union` its members (`null` among them when the schema allows null); `model` names a
    generated class, enum or alias in `model`.
    """

    kind: TypeKind
    args: tuple[TypeRef, ...] = ()
    model: str = ""

    def hint(self, prefix: str = "") -> str:
        """The annotation, naming generated models with `prefix` (``models.`` in client.py)."""
        if self.kind == "model":
            return prefix + self.model
        if self.kind == "list":
            return f"list[{self.args[0].hint(prefix)}]"
        if self.kind == "dict":
            return f"dict[str, {self.args[0].hint(prefix)}]"
        if self.kind == "union":
            return " | ".join(member.hint(prefix) for member in self.args)
        return SCALAR_HINTS[self.kind]

    @property
    def members(self) -> tuple[TypeRef, ...]:
        """The members of a union; a single type is its own one member."""
        return self.args if self.kind == "union" else (self,)

    @property
    def nullable(self) -> bool:
        """Whether None is a value of this type."""
        return any(m.kind == "null" for m in self.members)

    def walk(self) -> Iterator[TypeRef]:
        """This type and every type inside it."""
        yield self
        for arg in self.args:
            yield from arg.walk()


def union(members: list[TypeRef]) -> TypeRef:
    """One type of `members`: the member itself when there is one, else their union."""
    return members[0] if len(members) == 1 else TypeRef("union", tuple(members))


@attrs.frozen
class Field:
    """One attribute of a generated class: one property of its schema."""

    python_name: str
    wire_name: str
    type: TypeRef
    """Without UNSET: an optional field's annotation adds it (`annotation`)."""
    required: bool
    default: Any
    """The schema's default (JSON), or NO_DEFAULT; the server's, not the model's: an omitted
    optional field is UNSET."""
    description: str
    schema: Mapping[str, Any] = attrs.field(repr=False)
    """The property's schema as written: validation keywords the client does not check
    (maxLength, pattern...) are read from it by `leadkit diff` only."""

    def annotation(self, prefix: str = "") -> str:
        """The attribute's annotation: an optional field adds Unset, before None as ruff wants."""
        hint = self.type.hint(prefix)
        if self.required:
            return hint
        if hint == "None" or hint.endswith(" | None"):
            return hint.removesuffix("None") + "Unset | None"
        return f"{hint} | Unset"

    @property
    def docstring(self) -> str:
        """The description, the server's default and the wire name where they differ."""
        doc = self.description
        if self.default is not NO_DEFAULT and self.default is not None:
            doc = f"{doc} Server default: {self.default!r}.".strip()
        if self.wire_name != self.python_name:
            doc = f"{doc} Wire name: {self.wire_name}.".strip()
        return doc


@attrs.frozen
class ClassModel:
    """An attrs class: a schema of type object (an `allOf` with one `$ref` makes a subclass)."""

    name: str
    pointer: str
    """JSON pointer of the schema it is read from."""
    description: str
    base: str | None
    fields: tuple[Field, ...]
    """Its own fields; a subclass inherits its base's first."""
    in_responses: bool
    """Whether a response can contain it (`codegen.reach`): then it keeps the fields a server
    sends beyond the spec, in `additional_properties`."""

    @property
    def docstring(self) -> str:
        return self.description.strip() or f"{self.name} object."

    @property
    def declares_extras(self) -> bool:
        """Whether the class declares `additional_properties` itself (a subclass inherits it)."""
        return self.base is None and self.in_responses

    @property
    def renames(self) -> tuple[tuple[str, str], ...]:
        """(python name, wire name) of each own field whose names differ."""
        return tuple(
            (f.python_name, f.wire_name) for f in self.fields if f.python_name != f.wire_name
        )


@attrs.frozen
class EnumMember:
    """One value of an enum and the member name it has."""

    name: str
    value: Any


@attrs.frozen
class EnumModel:
    """An enum class: a schema with `enum` values."""

    name: str
    pointer: str
    description: str
    base: str
    """StrEnum, IntEnum or Enum."""
    members: tuple[EnumMember, ...]


@attrs.frozen
class AliasModel:
    """A type alias: a named schema that is no object, e.g. an `anyOf` or an array."""

    name: str
    pointer: str
    description: str
    target: TypeRef


Model = ClassModel | EnumModel | AliasModel


@attrs.frozen
class Param:
    """A path, query or header parameter of an operation."""

    wire_name: str
    python_name: str
    location: str
    type: TypeRef
    required: bool
    description: str
    pointer: str
    schema: Mapping[str, Any] = attrs.field(repr=False)
    """The parameter's schema as written (for what `leadkit diff` reads beyond the type)."""

    @property
    def type_expr(self) -> str:
        return self.type.hint("models.")

    @property
    def annotation(self) -> str:
        """The argument's annotation: UUIDs also take str; optional ones default to None."""
        annotation = f"{self.type_expr} | str" if self.type.kind == "uuid" else self.type_expr
        return annotation if self.required else f"{annotation} | None = None"


@attrs.frozen
class Body:
    """A request or response body: its media type and what it holds."""

    media_type: str
    type: TypeRef
    """`any` when the media type declares no schema."""
    schema: Mapping[str, Any] | None = attrs.field(repr=False)
    """The body's schema as written, for request validation in the sandbox (None: no schema)."""
    required: bool = False
    """For a request body: whether the spec says it is required (the client always needs it)."""

    @property
    def type_expr(self) -> str:
        return self.type.hint("models.")


@attrs.frozen
class Response:
    """One documented status (or ``default``) and its body (None: no content)."""

    status: int | str
    """The status code, or ``default``."""
    body: Body | None

    @property
    def code(self) -> int | None:
        """The status code; None for the ``default`` response."""
        return self.status if isinstance(self.status, int) else None

    @property
    def type_expr(self) -> str | None:
        return None if self.body is None else self.body.type_expr


@attrs.frozen
class Dedupe:
    """Which request field identifies a record, and the status meaning 'already exists'."""

    field: str
    conflict_status: int | None


@attrs.frozen
class Operation:
    """One operation: a client method."""

    key: str
    """The operationId (``METHOD /path`` for an operation without one, which is refused)."""
    name: str
    method: str
    path: str
    summary: str
    description: str
    params: tuple[Param, ...]
    body: Body | None
    responses: tuple[Response, ...]
    dedupe: Dedupe | None
    dedupe_declared: Any
    """The x-dedupe value as written (None: not declared), which `leadkit diff` compares."""
    scopes: tuple[str, ...]
    """Scopes its security requirements name (the operation's own, else the API's)."""
    body_model: str | None
    """The body's type when it is an attrs class (``models.X``): rows can be mappings."""

    @property
    def const_name(self) -> str:
        return self.name.upper().strip("_")

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "path")

    @property
    def other_params(self) -> tuple[Param, ...]:
        """Query and header parameters, required ones first."""
        others = (p for p in self.params if p.location != "path")
        return tuple(sorted(others, key=lambda p: not p.required))

    @property
    def body_type(self) -> str | None:
        return None if self.body is None else self.body.type_expr

    @property
    def success(self) -> tuple[Response, ...]:
        return tuple(r for r in self.responses if r.code is not None and 200 <= r.code < 300)

    @property
    def errors(self) -> tuple[Response, ...]:
        return tuple(r for r in self.responses if r.code is not None and not 200 <= r.code < 300)

    @property
    def default_error(self) -> str | None:
        return next((r.type_expr for r in self.responses if r.code is None), None)

    @property
    def return_type(self) -> str:
        kinds = sorted({c.type_expr for c in self.success if c.type_expr})
        if any(c.type_expr is None for c in self.success) and kinds:
            kinds.append("None")
        return " | ".join(kinds) if kinds else "None"

    @property
    def bulk(self) -> bool:
        """Whether the client gets a `<name>_bulk` method (a create with a dedupe key)."""
        return self.dedupe is not None and self.body_model is not None

    @property
    def signature(self) -> str:
        """Parameters of the method after `self`, e.g. ``campaign_id: UUID | str, *, body: ...``.

        Path parameters are positional; the body and the other parameters keyword-only.
        """
        declared = [f"{p.python_name}: {p.annotation}" for p in self.path_params]
        keyword = [f"body: {self._body_annotation}"] if self.body else []
        keyword += [f"{p.python_name}: {p.annotation}" for p in self.other_params]
        return ", ".join(declared + (["*", *keyword] if keyword else []))

    @property
    def call_args(self) -> str:
        """The same parameters passed on, e.g. ``campaign_id, body=body``."""
        passed = [p.python_name for p in self.path_params] + (["body=body"] if self.body else [])
        passed += [f"{p.python_name}={p.python_name}" for p in self.other_params]
        return ", ".join(passed)

    @property
    def _body_annotation(self) -> str:
        assert self.body is not None
        return f"{self.body_model} | Mapping[str, Any]" if self.body_model else self.body.type_expr


@attrs.frozen
class Auth:
    """How the API key is sent."""

    scheme: str
    """The security scheme's type, location and scheme, e.g. ``apiKey header``."""
    header: str
    prefix: str
    env_var: str


@attrs.frozen
class Api:
    """One spec, read: what the generated package, `leadkit diff` and the sandbox see."""

    package: str
    client_class: str
    title: str
    spec_file: str
    spec_sha256: str
    base_url: str
    auth: Auth
    rate_limit: RateLimitPolicy | None
    rate_limit_declared: Any
    """The x-rate-limit value as written (None: not declared)."""
    operations: tuple[Operation, ...]
    models: tuple[Model, ...]
    document: Mapping[str, Any] = attrs.field(repr=False)
    """The spec as loaded, embedded in the package as SPEC."""
    problems: tuple[SpecError, ...] = ()
    """What the generator refuses in this spec; always empty when it was read strictly."""

    @property
    def has_bulk(self) -> bool:
        return any(op.bulk for op in self.operations)

    def model(self, name: str) -> Model:
        """The generated model called `name`."""
        return self._models_by_name[name]

    @property
    def classes(self) -> tuple[ClassModel, ...]:
        return tuple(m for m in self.models if isinstance(m, ClassModel))

    def fields_of(self, cls: ClassModel) -> tuple[Field, ...]:
        """Every field of a class in attrs' order: its base's, then its own."""
        base = self.model(cls.base) if cls.base else None
        inherited = self.fields_of(base) if isinstance(base, ClassModel) else ()
        return (*inherited, *cls.fields)

    def has_extras(self, cls: ClassModel) -> bool:
        """Whether the class has `additional_properties`, declared or inherited."""
        base = self.model(cls.base) if cls.base else None
        return cls.declares_extras or (isinstance(base, ClassModel) and self.has_extras(base))

    @property
    def _models_by_name(self) -> dict[str, Model]:
        return {m.name: m for m in self.models}

    @property
    def client_stdlib_imports(self) -> tuple[str, ...]:
        """What client.py imports from the standard library for its parameter and body types."""
        kinds = {
            t.kind
            for op in self.operations
            for ref in (
                *(p.type for p in op.params),
                *(b.type for b in (op.body, *(r.body for r in op.responses)) if b is not None),
            )
            for t in ref.walk()
        }
        return tuple(sorted(STDLIB_IMPORTS[k] for k in kinds if k in STDLIB_IMPORTS))
