"""The run time of the generated structure and unstructure functions (``generated/<api>/serde.py``).

A generated package holds, per model, a structure function for the strict request
converter, one for the lenient response converter, and one unstructure function both use.
They check the usual input inline; a type they do not inline they hand to a `Handoff` (the
converter's own hook for it), and on anything unusual they hand the whole value to cattrs'
detailed function, which words the error (or, for an unusual but valid value, gives the
result). `install` puts them on a converter and binds a handoff to it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import cattrs

from .converters import _Converter
from .uuids import parse_uuid

__all__ = [
    "JSON_SCALARS",
    "MISSING",
    "Handoff",
    "StructureFn",
    "UnstructureFn",
    "install",
    "parse_date",
    "parse_datetime",
    "parse_uuid",
    "uuid_text",
]

T = TypeVar("T")
StructureFn = Callable[[Any, Any], Any]
UnstructureFn = Callable[[Any], Any]

MISSING: Any = object()
"""What a structure function reads for a key the input does not have."""
JSON_SCALARS = frozenset((str, int, float, bool, type(None)))
"""The classes the converters unstructure as they are."""
parse_datetime = dt.datetime.fromisoformat
parse_date = dt.date.fromisoformat
_UUID = uuid.UUID


def uuid_text(value: Any) -> str:
    """``str(value)``, the converters' hook for UUIDs, without UUID.__str__'s % formatting."""
    if type(value) is _UUID:
        try:
            digits = value.int.to_bytes(16).hex()
        except OverflowError:  # a number no UUID has: written as UUID.__str__ writes it
            return str(value)
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    return str(value)


class Handoff:
    """One converter, as the generated functions see it; `install` binds it."""

    __slots__ = ("_converter", "_detailed")

    def __init__(self) -> None:
        self._converter: _Converter | None = None
        self._detailed: dict[type, StructureFn] = {}

    @property
    def converter(self) -> _Converter:
        if self._converter is None:
            raise RuntimeError("the generated functions are not registered on a converter")
        return self._converter

    def structure(self, value: Any, tp: Any) -> Any:
        """`value` structured as `tp` by the converter's own hook."""
        return self.converter.structure(value, tp)

    def unstructure(self, value: Any, tp: Any = None) -> Any:
        """`value` unstructured by the converter's own hook for `tp` (default: its class)."""
        return self.converter.unstructure(value, tp)

    def unstructure_free_form(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """A free-form object's wire form: JSON scalars as they are, the rest by the hook of
        their class (a copy of `value` when it holds only scalars, the common case)."""
        for item in value.values():
            if type(item) not in JSON_SCALARS:
                unstructure = self.converter.unstructure
                return {
                    k: x if type(x) in JSON_SCALARS else unstructure(x) for k, x in value.items()
                }
        return dict(value)

    def detailed(self, value: Any, cls: type[T]) -> T:
        """`value` structured as the model `cls` by cattrs' detailed function, which raises
        the worded error a generated function only detects."""
        fn = self._detailed.get(cls)
        if fn is None:
            fn = self._detailed[cls] = self.converter.detailed_structure_fn(cls)
        result: T = fn(value, cls)
        return result


def install(
    converter: cattrs.Converter,
    handoff: Handoff,
    structure: Mapping[type, StructureFn],
    unstructure: Mapping[type, UnstructureFn],
) -> None:
    """Make `converter` (one of `build_converters`) use the generated functions, each for
    exactly its model (a subclass a user makes gets cattrs' own); bind `handoff` to it."""
    if not isinstance(converter, _Converter):
        raise TypeError("install takes a converter of leadkit.runtime.build_converters")
    handoff._converter = converter
    for cls, structure_fn in structure.items():
        converter.register_structure_hook_func(_exactly(cls), structure_fn)
    for cls, unstructure_fn in unstructure.items():
        converter.register_unstructure_hook_func(_exactly(cls), unstructure_fn)


def _exactly(cls: type) -> Callable[[Any], bool]:
    return lambda tp: tp is cls
