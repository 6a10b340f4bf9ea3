"""Read field errors and a one-line summary out of an error body, whatever its convention.

Two conventions cover both APIs and most others: FastAPI/Pydantic (``detail`` is a list of
``{loc, msg, type}``) and Zod/tRPC (``issues`` is a list of ``{path, message, code}``).
"""

from __future__ import annotations

from typing import Any

from .errors import FieldError

__all__ = ["field_errors_of", "summary_of"]

# (list key, location key, message key, type key) of each convention
_CONVENTIONS = (("detail", "loc", "msg", "type"), ("issues", "path", "message", "code"))


def field_errors_of(body: Any) -> tuple[FieldError, ...]:
    """Field errors of a decoded JSON error body; empty when it has none."""
    if not isinstance(body, dict):
        return ()
    found: list[FieldError] = []
    for list_key, loc_key, msg_key, type_key in _CONVENTIONS:
        items = body.get(list_key)
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict) and msg_key in item:
                location = item.get(loc_key)
                found.append(
                    FieldError(
                        location=tuple(location) if isinstance(location, list) else (),
                        message=str(item[msg_key]),
                        type=str(item[type_key]) if type_key in item else None,
                    )
                )
    return tuple(found)


def summary_of(body: Any) -> str:
    """One line saying what the server said, or '' when the body says nothing usable.

    An ``error`` object (``{"error": {"message": ...}}``) is read as a body of its own.
    """
    if not isinstance(body, dict):
        return ""
    for key in ("detail", "message", "error", "code"):
        if isinstance(body.get(key), str):
            return str(body[key])
    if isinstance(body.get("error"), dict) and (said := summary_of(body["error"])):
        return said
    errors = field_errors_of(body)
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.location)
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{where}: {first.message}{more}" if where else first.message + more
    return ""
