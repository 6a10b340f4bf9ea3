"""The few facts the sandbox serves from, as the generated package embeds them (`CONTRACT`).

The generator reads the spec once (its IR) and writes, in ``generated/<api>/contract.py``,
each operation's route, schemas, statuses, dedupe and scopes, the auth header and the
x-rate-limit and x-sandbox declarations; nothing here walks the spec itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

import leadkit.apis
from leadkit.runtime.api import RateLimitPolicy, rate_limit_from_spec

from .declaration import SandboxDeclaration, read_declaration

__all__ = [
    "API_NAMES",
    "ApiModel",
    "Operation",
    "UploadSpec",
    "load_api",
    "read_api",
    "resolve",
]

API_NAMES: tuple[str, ...] = tuple(
    sorted(module.name for module in pkgutil.iter_modules(leadkit.apis.__path__) if module.ispkg)
)
"""The generated packages (found without importing them): `Sandbox()` serves each one's
`contract.CONTRACT`."""


@attrs.frozen(kw_only=True)
class UploadSpec:
    """An operation's x-upload, as contract.py writes it (wire names throughout)."""

    creates: str
    """The create operation each row of the file is a request of."""
    file: str
    mapping: str | None
    max_rows: int
    max_bytes: int
    statuses: Mapping[str, str]
    """queued, validating, running, completed, failed -> the status value of each."""
    counts: Mapping[str, str]
    """total, processed, created, duplicates, errors, percentage, started, completed -> the
    status model's field (those the spec names)."""
    errors: str
    """The status model's list of refused rows."""
    error_row: str
    """The key an error item gives its row's number under (the first the spec names)."""
    error_message: str
    first_row: int
    status_operation: str
    job_id: str
    """The upload response's field holding the job's id, and the status operation's path
    parameter taking it."""
    status_field: str

    @classmethod
    def read(cls, raw: Mapping[str, Any]) -> UploadSpec:
        """The declaration from its contract data."""
        errors, poll = raw["errors"], raw["poll"]
        return cls(
            creates=raw["creates"],
            file=raw["file"],
            mapping=raw["mapping"],
            max_rows=raw["max_rows"],
            max_bytes=raw["max_bytes"],
            statuses=raw["statuses"],
            counts=raw["counts"],
            errors=errors["field"],
            error_row=errors["row"][0],
            error_message=errors["message"][0],
            first_row=errors["first_row"],
            status_operation=poll["operation"],
            job_id=poll["id"],
            status_field=poll["status"],
        )


@attrs.frozen
class Operation:
    """One operation: route, schemas, its success status and its declarations."""

    name: str
    method: str
    path: str
    path_params: Mapping[str, Any]
    """Path parameter name -> its schema."""
    request_schema: Mapping[str, Any] | None
    success_status: int
    response_schema: Mapping[str, Any] | None
    """The success body's schema ({} for a body without one); None: the answer has no body."""
    dedupe_field: str | None
    conflict_status: int | None
    scopes: tuple[str, ...]
    extra_columns: str | None = None
    """The body's object field for a file's columns that match no field (x-extra-columns)."""
    upload: UploadSpec | None = None

    @property
    def creates(self) -> bool:
        """Whether it is a create (POST): what it answers is stored."""
        return self.method == "POST"

    @property
    def writes(self) -> bool:
        """Whether a key without the write scope is refused it (everything but GET)."""
        return self.method != "GET"


@attrs.frozen
class ApiModel:
    """Everything the sandbox reads from one spec."""

    name: str
    spec: Mapping[str, Any] = attrs.field(repr=False)
    """What the `$ref`s of the operations' schemas resolve against (JSON-schema validation)."""
    prefix: str
    """Path of the spec's first server URL, e.g. "/rest"; "" for none."""
    auth_header: str
    rate_limit: RateLimitPolicy | None
    operations: tuple[Operation, ...]
    sandbox: SandboxDeclaration
    """The spec's x-sandbox: key format, read-only keys, error dialect..."""

    def route(self, op: Operation) -> str:
        """The aiohttp route of an operation, including the server prefix."""
        return self.prefix + op.path

    def operation(self, name: str) -> Operation:
        """The operation named `name` (its operationId)."""
        return next(op for op in self.operations if op.name == name)


def resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local `$ref`s until a node without one."""
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local refs are supported, got {ref!r}")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _operation(raw: Mapping[str, Any]) -> Operation:
    responses: Mapping[int, Any] = raw["responses"]
    success = min(code for code in responses if 200 <= code < 300)
    dedupe = raw["dedupe"] or {}
    return Operation(
        name=raw["name"],
        method=raw["method"],
        path=raw["path"],
        path_params=raw["path_params"],
        request_schema=raw["request_schema"],
        success_status=success,
        response_schema=responses[success],
        dedupe_field=dedupe.get("field"),
        conflict_status=dedupe.get("conflict_status"),
        scopes=tuple(raw["scopes"]),
        extra_columns=raw.get("extra_columns"),
        upload=UploadSpec.read(raw["upload"]) if raw.get("upload") else None,
    )


def read_api(name: str, contract: Mapping[str, Any]) -> ApiModel:
    """Build the ApiModel of one API from its contract data (routes, auth header, limits...)."""
    operations = tuple(_operation(raw) for raw in contract["operations"])
    return ApiModel(
        name=name,
        spec=contract["refs"],
        prefix=urlsplit(contract["base_url"]).path.rstrip("/"),
        auth_header=contract["auth_header"],
        rate_limit=rate_limit_from_spec(contract["x-rate-limit"]),
        operations=operations,
        sandbox=read_declaration(contract["x-sandbox"]),
    )


def load_api(name: str) -> ApiModel:
    """The ApiModel of the generated package `generated.<name>` (its embedded CONTRACT)."""
    module = importlib.import_module(f"leadkit.apis.{name}.contract")
    contract: dict[str, Any] = module.CONTRACT
    return read_api(name, contract)
