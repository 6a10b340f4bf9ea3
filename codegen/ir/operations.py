"""The IR's operations: parameters, bodies, responses and x-dedupe of each client method."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .type_ref import TypeRef

__all__ = ["Body", "Dedupe", "Operation", "Param", "Response"]


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
    column_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(wire name, other column names) of each body field with x-aliases, in spec order."""
    extra_columns: str | None = None
    """The body's object field for the columns of a file matching no field (x-extra-columns)."""

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

    def signature(self, options: Sequence[str] = ()) -> str:
        """Parameters of the method after `self`, e.g. ``campaign_id: UUID | str, *, body: ...``.

        Path parameters are positional; the body, the other parameters and `options` (the
        declarations of the call options) keyword-only.
        """
        declared = [f"{p.python_name}: {p.annotation}" for p in self.path_params]
        keyword = [f"body: {self._body_annotation}"] if self.body else []
        keyword += [f"{p.python_name}: {p.annotation}" for p in self.other_params]
        keyword += options
        return ", ".join(declared + (["*", *keyword] if keyword else []))

    def call_args(self, options: Sequence[str] = ()) -> str:
        """The same parameters passed on, e.g. ``campaign_id, body=body, timeout=timeout``."""
        passed = [p.python_name for p in self.path_params] + (["body=body"] if self.body else [])
        passed += [f"{p.python_name}={p.python_name}" for p in self.other_params]
        passed += [f"{name}={name}" for name in options]
        return ", ".join(passed)

    @property
    def _body_annotation(self) -> str:
        assert self.body is not None
        return f"{self.body_model} | Mapping[str, Any]" if self.body_model else self.body.type_expr
