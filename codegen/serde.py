"""The straight-line structure and unstructure functions of each class, as source lines.

Per attrs class, `serde.py` gets a structure function for the strict request converter, one
for the lenient response converter, and one unstructure function both use. A structure
function checks inline what JSON gives for the common types (str, int, float, bool, UUID,
date-time, date, Any, free-form objects, lists of scalars and of classes, unions a value's
JSON class tells apart, their nullable and optional forms) and builds the object; any other
type goes to the converter's own hook (``REQUEST.structure``), and anything unusual to
cattrs' detailed function (``REQUEST.detailed``), which words the error. The inlined checks
follow the runtime's rules (`leadkit.runtime.converters`: strict scalars, ISO strings), and
tests check both give equal results.

The checks of a type nest (a nullable union of a list...), so they are written here, by a
small recursive writer, rather than by recursive template macros; `serde.py.jinja2` lays
the functions out.
"""

from __future__ import annotations

import re

import attrs

from .ir import AliasModel, Api, ClassModel, EnumModel, Field, TypeRef

__all__ = ["Constant", "SerdeClass", "SerdeModule", "plan_serde"]

_EXACT = ("str", "int", "bool")
_PARSED = {"uuid": "parse_uuid", "datetime": "parse_datetime", "date": "parse_date"}
_FORMATTED = {"uuid": "uuid_text", "datetime": "datetime.isoformat", "date": "date.isoformat"}
"""The converters' unstructure hooks of the parsed scalars (`uuid_text` is a faster `str`)."""
_PASSED = ("str", "int", "float", "bool")
"""Kinds whose unstructure hook is the identity: the value goes on the wire as it is."""
_DIRECTIONS = (("strict", "REQUEST"), ("lenient", "RESPONSE"))


@attrs.frozen
class Constant:
    """A module-level name the functions use: a type handed to a hook, a set of wire names."""

    name: str
    value: str


@attrs.frozen
class SerdeClass:
    """The three functions of one class: names and body lines (indented one level)."""

    model: str
    structure: tuple[tuple[str, str, tuple[str, ...]], ...]
    """(direction, function name, body lines) for strict, then lenient."""
    unstructure: str
    unstructure_body: tuple[str, ...]


@attrs.frozen
class SerdeModule:
    """What `serde.py` defines: constants first, then each class's functions."""

    constants: tuple[Constant, ...]
    classes: tuple[SerdeClass, ...]


def _snake(name: str) -> str:
    """`HTTPError` -> `http_error`, `LeadResponse` -> `lead_response`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


class _Planner:
    """Writes the functions of every class of one API; collects the constants they use."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.constants: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for cls in api.classes:
            base = _snake(cls.name)
            while base in self.names.values():
                base += "_"
            self.names[cls.name] = base

    def constant(self, stem: str, value: str) -> str:
        """A module constant holding `value` (one name per distinct value)."""
        for name, known in self.constants.items():
            if known == value:
                return name
        name = re.sub(r"\W+", "_", stem).strip("_").upper()
        while name in self.constants:
            name += "_"
        self.constants[name] = value
        return name

    def flat(self, ref: TypeRef) -> tuple[TypeRef, ...]:
        """The members of a type as Python sees them at run time: aliases are their target."""
        members: list[TypeRef] = []
        for member in ref.members:
            model = self.api.model(member.model) if member.kind == "model" else None
            found = self.flat(model.target) if isinstance(model, AliasModel) else (member,)
            members += [m for m in found if m not in members]
        return tuple(members)

    def is_class(self, ref: TypeRef) -> bool:
        return ref.kind == "model" and isinstance(self.api.model(ref.model), ClassModel)

    def scalar_list(self, ref: TypeRef) -> tuple[str, ...] | None:
        """The item kinds of a list of str, int and bool (or a union of them), else None."""
        if ref.kind != "list":
            return None
        kinds = tuple(m.kind for m in self.flat(ref.args[0]))
        return kinds if all(k in _EXACT for k in kinds) else None

    def json_kinds(self, ref: TypeRef) -> tuple[str, ...] | None:
        """The JSON value classes a type checked inline takes; None when it goes to a hook."""
        if ref.kind in _EXACT:
            return (ref.kind,)
        if ref.kind == "float":
            return ("float", "int")
        if ref.kind in _PARSED:
            return ("str",)
        if ref == TypeRef("dict", (TypeRef("any"),)) or self.is_class(ref):
            return ("dict",)
        if self.scalar_list(ref) is not None or (ref.kind == "list" and self.is_class(ref.args[0])):
            return ("list",)
        return None

    # structure

    def check(self, out: _Lines, field: Field, direction: str, indent: int) -> None:
        """Lines that check `v`, the field's JSON value, and replace it by its Python value."""
        members = self.flat(field.type)
        rest = [m for m in members if m.kind != "null"]
        kinds = [self.json_kinds(m) for m in rest]
        accepted = [k for ks in kinds if ks is not None for k in ks]
        if [m.kind for m in rest] == ["any"]:
            return
        if not rest or None in kinds or len(accepted) != len(set(accepted)):
            handoff = dict(_DIRECTIONS)[direction]
            out.add(indent, f"v = {handoff}.structure(v, {self.field_type(field)})")
            return
        if len(members) > len(rest) and len(rest) == 1 and rest[0].kind in _EXACT:
            out.add(indent, f"if v is not None and type(v) is not {rest[0].kind}:")
            out.add(indent + 1, "raise TypeError")
            return
        if len(members) > len(rest):
            out.add(indent, "if v is not None:")
            indent += 1
        if len(rest) == 1:
            self.check_one(out, rest[0], direction, indent)
            return
        for i, (member, member_kinds) in enumerate(zip(rest, kinds, strict=True)):
            test = " or ".join(f"type(v) is {k}" for k in member_kinds or ())
            out.add(indent, f"{'elif' if i else 'if'} {test}:")
            self.check_one(out, member, direction, indent + 1, known=True)
        out.add(indent, "else:")
        out.add(indent + 1, "raise TypeError")

    def check_one(
        self, out: _Lines, ref: TypeRef, direction: str, indent: int, *, known: bool = False
    ) -> None:
        """Lines that check `v` against one type of `json_kinds` and structure it; `known`: a
        union's branch has checked its JSON class already."""
        if not known:
            test = "type(v) is not float and type(v) is not int" if ref.kind == "float" else ""
            classes = self.json_kinds(ref) or ()
            out.add(indent, f"if {test or f'type(v) is not {classes[0]}'}:")
            out.add(indent + 1, "raise TypeError")
        if ref.kind in _EXACT:
            if known:
                out.add(indent, "pass")
        elif ref.kind == "float":
            out.add(indent, "if type(v) is int:")
            out.add(indent + 1, "v = float(v)")
            out.add(indent, "elif not isfinite(v):")
            out.add(indent + 1, "raise TypeError")
        elif ref.kind in _PARSED:
            out.add(indent, f"v = {_PARSED[ref.kind]}(v)")
        elif ref.kind == "dict":
            out.add(indent, "for k in v:")
            out.add(indent + 1, "if type(k) is not str:")
            out.add(indent + 2, "raise TypeError")
            out.add(indent, "v = dict(v)")
        elif ref.kind == "model":
            out.add(indent, f"v = {self.structure_name(ref.model, direction)}(v)")
        elif (items := self.scalar_list(ref)) is None:  # a list of classes
            item = self.structure_name(ref.args[0].model, direction)
            out.add(indent, f"v = [{item}(x) for x in v]")
        else:
            one = len(items) == 1
            test = f"type(x) is not {items[0]}" if one else f"type(x) not in ({', '.join(items)})"
            out.add(indent, "for x in v:")
            out.add(indent + 1, f"if {test}:")
            out.add(indent + 2, "raise TypeError")
            out.add(indent, "v = list(v)")

    def structure_name(self, model: str, direction: str) -> str:
        return f"structure_{self.names[model]}_{direction}"

    def field_type(self, field: Field) -> str:
        """The constant holding a field's annotation as a run-time type (for a hook)."""
        return self.constant(f"{field.python_name}_type", field.annotation("models."))

    def structure(self, cls: ClassModel, direction: str) -> tuple[str, ...]:
        """The body: check each field, set its attribute on an object made without __init__
        (the generated classes have no validators, converters or hooks to run)."""
        fields = self.api.fields_of(cls)
        strict, extras = direction == "strict", self.api.has_extras(cls)
        counted = strict or extras  # whether undeclared keys matter: `n` counts declared ones
        out = _Lines()
        out.add(0, "try:")
        out.add(1, "if type(o) is not dict:")
        out.add(2, "raise TypeError")
        out.add(1, f"obj = object.__new__(models.{cls.name})")
        if counted:
            out.add(1, f"n = {sum(f.required for f in fields)}")
        for field in fields:
            key = repr(field.wire_name)
            if field.required:
                out.add(1, f"v = o[{key}]")
                self.check(out, field, direction, 1)
            else:
                present = _Lines()
                if counted:
                    present.add(2, "n += 1")
                self.check(present, field, direction, 2)
                out.add(1, f"v = o.get({key}, MISSING)")
                if len(present.lines) == 1 and present.lines[0].lstrip().startswith("v = "):
                    out.add(
                        1, f"v = UNSET if v is MISSING else {present.lines[0].split(' = ', 1)[1]}"
                    )
                else:
                    out.add(1, "if v is MISSING:")
                    out.add(2, "v = UNSET")
                    if present.lines:  # none for an Any field of a class that counts no keys
                        out.add(1, "else:")
                        out.lines += present.lines
            out.add(1, f"obj.{field.python_name} = v")
        if strict:
            out.add(1, "if len(o) > n:  # an undeclared key: refused")
            out.add(2, "raise KeyError")
        if extras and strict:
            out.add(1, "obj.additional_properties = {}")
        elif extras:
            known = ", ".join(repr(f.wire_name) for f in fields)
            names = self.constant(f"{self.names[cls.name]}_keys", f"frozenset(({known},))")
            out.add(1, "if len(o) > n:  # undeclared keys: kept")
            kept = f"{{k: x for k, x in o.items() if k not in {names}}}"
            out.add(2, f"obj.additional_properties = {kept}")
            out.add(1, "else:")
            out.add(2, "obj.additional_properties = {}")
        out.add(1, "return obj")
        out.add(0, "except Exception:  # the fast path says nothing: cattrs finds and words it")
        out.add(1, f"return {dict(_DIRECTIONS)[direction]}.detailed(o, models.{cls.name})")
        return tuple(out.lines)

    # unstructure

    def value(self, field: Field, var: str) -> str:
        """The expression that unstructures `var`, a set field's value."""
        members = self.flat(field.type)
        rest = [m for m in members if m.kind != "null"]
        if len(rest) != 1:  # the union's hook picks by the value's class, as cattrs does
            handed = f"REQUEST.unstructure({var}, {self.field_type(field)})"
            return f"{var} if type({var}) in JSON_SCALARS else {handed}"
        expr = self.value_one(rest[0], var, field.python_name)
        return expr if len(members) == 1 or expr == var else f"None if {var} is None else {expr}"

    def value_one(self, ref: TypeRef, var: str, stem: str) -> str:
        """The expression that unstructures `var`, a value of the one type `ref`; a hook's
        type is kept in a constant named after `stem`."""
        model = self.api.model(ref.model) if ref.kind == "model" else None
        if ref.kind in _PASSED or (
            isinstance(model, EnumModel) and model.base in ("StrEnum", "IntEnum")
        ):
            return var
        if ref.kind in _FORMATTED:
            return f"{_FORMATTED[ref.kind]}({var})"
        if self.scalar_list(ref) is not None:  # anything but a list stays, for the check to name
            return f"list({var}) if type({var}) is list else {var}"
        if ref == TypeRef("dict", (TypeRef("any"),)):
            return f"REQUEST.unstructure_free_form({var})"
        if isinstance(model, ClassModel):
            return f"unstructure_{self.names[model.name]}({var})"
        if ref.kind == "any":
            return f"REQUEST.unstructure({var})"
        tp = self.constant(f"{stem}_value_type", ref.hint("models."))
        return f"REQUEST.unstructure({var}, {tp})"

    def unstructure(self, cls: ClassModel) -> tuple[str, ...]:
        fields = self.api.fields_of(cls)
        out = _Lines()
        # As cattrs does: the fields always sent in one dict display, then those that may be
        # UNSET, each in declaration order.
        out.add(0, "res: dict[str, Any] = {")
        for field in fields:
            if field.required:
                out.add(1, f"{field.wire_name!r}: {self.value(field, f'obj.{field.python_name}')},")
        out.add(0, "}")
        for field in fields:
            if not field.required:
                attribute = f"obj.{field.python_name}"
                out.add(0, f"if {attribute} is not UNSET:")
                out.add(1, f"res[{field.wire_name!r}] = {self.value(field, attribute)}")
        if self.api.has_extras(cls):
            out.add(0, "if obj.additional_properties:")
            out.add(1, "res.update(obj.additional_properties)")
        out.add(0, "return res")
        return tuple(out.lines)


def plan_serde(api: Api) -> SerdeModule:
    """The functions of every attrs class of `api`, and the constants they use."""
    planner = _Planner(api)
    classes = tuple(
        SerdeClass(
            model=cls.name,
            structure=tuple(
                (
                    direction,
                    planner.structure_name(cls.name, direction),
                    planner.structure(cls, direction),
                )
                for direction, _ in _DIRECTIONS
            ),
            unstructure=f"unstructure_{planner.names[cls.name]}",
            unstructure_body=planner.unstructure(cls),
        )
        for cls in api.classes
    )
    constants = tuple(Constant(name, value) for name, value in planner.constants.items())
    return SerdeModule(constants, classes)
