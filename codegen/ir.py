"""The intermediate representation: everything templates need, computed, frozen."""

from __future__ import annotations

import attrs

from leadkit.runtime.api import RateLimitPolicy

__all__ = [
    "Api",
    "Auth",
    "Dedupe",
    "ModelInfo",
    "Operation",
    "Param",
    "ResponseCase",
]


@attrs.frozen
class ModelInfo:
    """One class or alias datamodel-code-generator emitted, and its wire renames."""

    class_name: str
    source_ref: str
    is_attrs_class: bool
    """False for enums and type aliases."""
    renames: tuple[tuple[str, str], ...]
    """(python name, wire name) for each field whose names differ."""
    in_responses: bool
    """Whether a response body can contain it (`codegen.reach`). Only such a class has the
    `additional_properties` attribute for undeclared fields: the request converter refuses
    them, so a request-only class has none. A class built with `allOf` inherits its base's."""


@attrs.frozen
class Param:
    """A path, query or header parameter of an operation."""

    wire_name: str
    python_name: str
    location: str
    type_expr: str
    annotation: str
    """The argument's annotation: UUIDs also take str; optional ones default to None."""
    required: bool
    description: str


@attrs.frozen
class ResponseCase:
    """One documented status code and the type of its JSON body (None: no body)."""

    status: int
    type_expr: str | None


@attrs.frozen
class Dedupe:
    """Which request field identifies a record, and the status meaning 'already exists'."""

    field: str
    conflict_status: int | None


@attrs.frozen
class Operation:
    """One operation: a client method."""

    name: str
    const_name: str
    method: str
    path: str
    summary: str
    description: str
    path_params: tuple[Param, ...]
    other_params: tuple[Param, ...]
    body_type: str | None
    body_model: str | None
    success: tuple[ResponseCase, ...]
    errors: tuple[ResponseCase, ...]
    default_error: str | None
    return_type: str
    signature: str
    """Parameters of the method after `self`, e.g. ``campaign_id: UUID | str, *, body: ...``."""
    call_args: str
    """The same parameters passed on, e.g. ``campaign_id, body=body``."""
    dedupe: Dedupe | None
    bulk: bool
    """Whether the client gets a `<name>_bulk` method (a create with a dedupe key)."""
    column_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(wire name, other column names) of each body field with x-aliases, in spec order."""
    extra_columns: str | None = None
    """The body's object field for columns matching no field (x-extra-columns)."""


@attrs.frozen
class Auth:
    """How the API key is sent."""

    header: str
    prefix: str
    env_var: str


@attrs.frozen
class Api:
    """One spec, ready to render into one package."""

    package: str
    client_class: str
    title: str
    spec_file: str
    spec_sha256: str
    base_url: str
    auth: Auth
    rate_limit: RateLimitPolicy | None
    operations: tuple[Operation, ...]
    has_bulk: bool
    models: tuple[ModelInfo, ...]
    models_source: str
    stdlib_imports: tuple[str, ...]
    spec_literal: str
