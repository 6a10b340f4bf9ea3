"""Error bodies in an API's own convention: RFC 9457 problem details, FastAPI or tRPC.

The spec's x-sandbox names the convention (`error-dialect`; problem details when it names
none). Each dialect renders the same events (missing key, missing scope, invalid request,
duplicate, rate limit, server error) as a server of that kind does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Protocol

from .declaration import ErrorDialect
from .problems import MISSING, Problem
from .spec import Operation

__all__ = [
    "DIALECTS",
    "Body",
    "Dialect",
    "FastApiDialect",
    "ProblemDialect",
    "TrpcDialect",
    "retry_after_text",
]

Body = dict[str, Any]


class Dialect(Protocol):
    """How one API words its errors; each method returns the JSON body."""

    def unauthorized(self, op: Operation, *, header: str, missing: bool) -> Body: ...

    def forbidden(self, op: Operation, *, required: list[str], granted: list[str]) -> Body: ...

    def invalid(self, op: Operation, problems: list[Problem], status: int) -> Body: ...

    def conflict(self, op: Operation, status: int) -> Body: ...

    def rate_limited(self, op: Operation, *, retry_after: str) -> Body: ...

    def server_error(self, op: Operation, status: int) -> Body: ...

    def refused(self, op: Operation, status: int, message: str) -> Body:
        """Any other refusal (a 404, a 413), with its message."""
        ...


def retry_after_text(pattern: str | None, seconds: int) -> str:
    """The spec's retry-after body pattern with its number filled in ('' without a pattern)."""
    if pattern is None:
        return ""
    text = re.sub(r"\([^)]*\)", str(seconds), pattern, count=1)
    return re.sub(r"\\(.)", r"\1", text)


_PY_TYPES = {
    "string": ("string_type", "a valid string"),
    "integer": ("int_type", "a valid integer"),
    "number": ("float_type", "a valid number"),
    "boolean": ("bool_type", "a valid boolean"),
    "object": ("dict_type", "a valid dictionary"),
    "array": ("list_type", "a valid list"),
}
_SERVER_ERRORS = {
    500: ("INTERNAL_SERVER_ERROR", "Internal Server Error"),
    502: ("BAD_GATEWAY", "Bad Gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
}


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


class FastApiDialect:
    """FastAPI/Pydantic bodies, ``{"detail": str | [{loc, msg, type}]}``."""

    def unauthorized(self, op: Operation, *, header: str, missing: bool) -> Body:
        if missing:
            return {"detail": f"API key required. Include your API key in {header} header."}
        return {"detail": "Invalid or revoked API key"}

    def forbidden(self, op: Operation, *, required: list[str], granted: list[str]) -> Body:
        return {
            "detail": "Missing required scopes: " + ", ".join(required),
            "error": "insufficient_scopes",
            "required": required,
            "granted": granted,
        }

    def _item(self, problem: Problem) -> Body:
        item: Body = {"type": "value_error", "loc": list(problem.loc), "msg": problem.message}
        if problem.kind == "missing":
            item.update(type="missing", msg="Field required")
        elif problem.kind == "json":
            item.update(type="json_invalid", loc=["body", 0], msg="JSON decode error")
            item["ctx"] = {"error": problem.message}
        elif problem.kind == "media_type":  # inferred: Pydantic given the body's raw bytes
            item.update(
                type="model_attributes_type",
                msg="Input should be a valid dictionary or object to extract fields from",
            )
        elif problem.kind == "type" and problem.expected in _PY_TYPES:
            kind, words = _PY_TYPES[problem.expected]
            item.update(type=kind, msg=f"Input should be {words}")
        elif problem.kind == "enum":
            options = [repr(v) for v in problem.expected]
            item.update(type="enum", msg="Input should be " + " or ".join(options))
            item["ctx"] = {"expected": ", ".join(options)}
        elif problem.kind == "format" and problem.expected == "uuid":
            item.update(type="uuid_parsing", msg="Input should be a valid UUID")
        if problem.received is not MISSING:
            item["input"] = _json_safe(problem.received)
        return item

    def invalid(self, op: Operation, problems: list[Problem], status: int) -> Body:
        return {"detail": [self._item(p) for p in problems]}

    def conflict(self, op: Operation, status: int) -> Body:
        return {"detail": "Resource already exists"}

    def rate_limited(self, op: Operation, *, retry_after: str) -> Body:
        said = f"{retry_after}." if retry_after else ""  # documented: "... 60 seconds."
        return {"detail": " ".join(filter(None, ("Rate limit exceeded.", said)))}

    def server_error(self, op: Operation, status: int) -> Body:
        return {"detail": _SERVER_ERRORS.get(status, _SERVER_ERRORS[500])[1]}

    def refused(self, op: Operation, status: int, message: str) -> Body:
        return {"detail": message}


def _zod_type(value: Any) -> str:
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


class TrpcDialect:
    """tRPC errors exposed as REST, ``{message, code, data: {code, httpStatus, path}, issues}``."""

    @staticmethod
    def _body(op: Operation, status: int, code: str, message: str) -> Body:
        verb = op.name.split("_", 1)[0]
        procedure = ".".join([*filter(None, op.path.split("/")), verb])
        return {
            "message": message,
            "code": code,
            "data": {"code": code, "httpStatus": status, "path": procedure},
        }

    def unauthorized(self, op: Operation, *, header: str, missing: bool) -> Body:
        return self._body(op, 401, "UNAUTHORIZED", "UNAUTHORIZED")

    def forbidden(self, op: Operation, *, required: list[str], granted: list[str]) -> Body:
        return self._body(op, 403, "FORBIDDEN", "FORBIDDEN")

    @staticmethod
    def _issue(problem: Problem) -> Body:
        path = list(problem.loc[1:] if problem.loc[:1] == ("body",) else problem.loc)
        issue: Body = {"code": "custom", "path": path, "message": problem.message}
        if problem.kind in ("missing", "type"):
            expected = problem.expected or "object"
            received = _zod_type(problem.received)
            issue.update(code="invalid_type", expected=expected, received=received)
            missing = problem.kind == "missing"
            issue["message"] = (
                "Required" if missing else f"Expected {expected}, received {received}"
            )
        elif problem.kind == "enum":
            options = " | ".join(repr(v) for v in problem.expected)
            issue.update(code="invalid_enum_value", options=list(problem.expected))
            issue["message"] = (
                f"Invalid enum value. Expected {options}, received {problem.received!r}"
            )
        elif problem.kind == "union":
            issue.update(code="invalid_union", message="Invalid input")
        elif problem.kind == "json":
            issue["message"] = "Invalid JSON body"
        return issue

    def invalid(self, op: Operation, problems: list[Problem], status: int) -> Body:
        body = self._body(op, status, "BAD_REQUEST", "Input validation failed")
        body["issues"] = [self._issue(p) for p in problems]
        return body

    def conflict(self, op: Operation, status: int) -> Body:
        message = f"A record with this {op.dedupe_field} already exists"
        return self._body(op, status, "CONFLICT", message)

    def rate_limited(self, op: Operation, *, retry_after: str) -> Body:
        message = " ".join(filter(None, ("Rate limit exceeded.", retry_after)))
        return self._body(op, 429, "TOO_MANY_REQUESTS", message)

    def server_error(self, op: Operation, status: int) -> Body:
        code, message = _SERVER_ERRORS.get(status, _SERVER_ERRORS[500])
        return self._body(op, status, code, message)

    def refused(self, op: Operation, status: int, message: str) -> Body:
        code = _phrase(status).upper().replace(" ", "_")  # NOT_FOUND, REQUEST_ENTITY_TOO_LARGE
        return self._body(op, status, code, message)


def _phrase(status: int) -> str:
    """The status's reason phrase ("Not Found"), or "Error" for a status without one."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _pointer(parts: Iterable[str | int]) -> str:
    """An RFC 6901 pointer into the request body, as an RFC 9457 ``errors`` item gives it."""
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class ProblemDialect:
    """RFC 9457 problem details, ``{type, title, status, detail}``; an invalid request's
    carry ``errors: [{detail, pointer | parameter}]`` as the RFC's own example does."""

    @staticmethod
    def _body(status: int, detail: str) -> Body:
        return {"type": "about:blank", "title": _phrase(status), "status": status, "detail": detail}

    def unauthorized(self, op: Operation, *, header: str, missing: bool) -> Body:
        said = f"No API key: send it in the {header} header." if missing else "Invalid API key."
        return self._body(401, said)

    def forbidden(self, op: Operation, *, required: list[str], granted: list[str]) -> Body:
        return self._body(403, "The key lacks the scopes: " + ", ".join(required))

    @staticmethod
    def _error(problem: Problem) -> Body:
        where, *rest = problem.loc
        place = {"parameter": str(rest[0])} if where == "path" else {"pointer": _pointer(rest)}
        return {"detail": problem.message, **place}

    def invalid(self, op: Operation, problems: list[Problem], status: int) -> Body:
        body = self._body(status, "The request is not valid.")
        body["errors"] = [self._error(p) for p in problems]
        return body

    def conflict(self, op: Operation, status: int) -> Body:
        return self._body(status, f"A record with this {op.dedupe_field} already exists.")

    def rate_limited(self, op: Operation, *, retry_after: str) -> Body:
        return self._body(429, " ".join(filter(None, ("Rate limit exceeded.", retry_after))))

    def server_error(self, op: Operation, status: int) -> Body:
        return self._body(status, _phrase(status))

    def refused(self, op: Operation, status: int, message: str) -> Body:
        return self._body(status, message)


DIALECTS: Mapping[ErrorDialect, Dialect] = {
    "problem": ProblemDialect(),
    "fastapi": FastApiDialect(),
    "trpc": TrpcDialect(),
}
"""Each x-sandbox `error-dialect` and what renders it."""
