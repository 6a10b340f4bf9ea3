"""Turn one HTTP response into the operation's parsed body or its typed error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cattrs

from .api import ApiDescription, OperationSpec
from .converters import validation_problems
from .errors import (
    SNIPPET_BYTES,
    APIStatusError,
    FieldError,
    ResponseValidationError,
    error_class_for_status,
)
from .field_errors import field_errors_of, summary_of
from .json_values import decode_json

__all__ = ["parse_response"]


def _snippet(raw: bytes) -> str:
    return raw[:SNIPPET_BYTES].decode("utf-8", errors="replace")


def parse_response(
    api: ApiDescription,
    op: OperationSpec[Any],
    label: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    whole: bool = True,
) -> Any:
    """The success body structured as the spec says, or raise the status's APIError.

    A success status the spec does not declare raises ResponseValidationError: the call
    succeeded, but there is no body of the declared type to return; so does a success body
    that was not read whole (`whole`: too long), while an error status then keeps its class.
    An error body is parsed into the spec's model for that status when it matches, and
    kept as decoded JSON (or None) when it does not: a hostile or HTML error page still
    gives an error with its status and first bytes.
    """
    converter = api.response_converter
    success = 200 <= status < 300
    if not whole:  # too long to read: nothing in it is trusted, only its status
        if success:
            raise _invalid("the success body is too long to read", label, status, headers, raw)
        raise _status_error(label, status, headers, raw, None, "the error body is too long to read")
    if success and status not in op.success:
        message = f"the server answered {status}, a success the spec does not declare here"
        raise _invalid(message, label, status, headers, raw)
    try:
        data = decode_json(raw) if raw.strip() else None
    except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
        data = None
        if status in op.success and op.success[status] is not None:
            raise _invalid("the success body is not JSON", label, status, headers, raw) from None
    if status in op.success:
        kind = op.success[status]
        if kind is None:
            return None
        try:
            return converter.structure(data, kind)
        except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
            problems = "; ".join(validation_problems(converter, exc))
            message = f"the success body does not match the spec: {problems}"
            raise _invalid(message, label, status, headers, raw) from None
    kind = op.errors.get(status, op.default_error)
    body: Any = data
    if kind is not None and data is not None:
        try:
            body = converter.structure(data, kind)
        except (cattrs.BaseValidationError, TypeError, ValueError):
            body = data
    raise _status_error(label, status, headers, raw, body, summary_of(data), field_errors_of(data))


def _invalid(
    message: str, label: str, status: int, headers: Mapping[str, str], raw: bytes
) -> ResponseValidationError:
    return ResponseValidationError(
        message, operation=label, status=status, snippet=_snippet(raw), headers=headers
    )


def _status_error(
    label: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    body: Any,
    summary: str,
    field_errors: tuple[FieldError, ...] = (),
) -> APIStatusError:
    return error_class_for_status(status)(
        operation=label,
        status=status,
        headers=headers,
        body=body,
        snippet=_snippet(raw),
        field_errors=field_errors,
        summary=summary,
    )
