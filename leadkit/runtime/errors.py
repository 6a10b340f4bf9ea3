"""Exceptions raised by generated clients: one base, one class per meaningful status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITLSError",
    "APITimeoutError",
    "AlreadyExistsError",
    "AuthenticationError",
    "BadRequestError",
    "BodyNotReplayableError",
    "ConflictError",
    "FieldError",
    "InternalServerError",
    "JobFailedError",
    "JobTimeoutError",
    "LeadkitError",
    "MissingApiKeyError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "error_class_for_status",
]

SNIPPET_BYTES = 200
SUMMARY_CHARS = 500
"""A server's message longer than this is cut in the error's text (the body keeps it all)."""


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "… (cut)"


def _restore(cls: type[LeadkitError], args: tuple[Any, ...]) -> LeadkitError:
    """An error rebuilt by pickle without calling its `__init__` (whose signature varies)."""
    error = cls.__new__(cls)
    error.args = args
    return error


class LeadkitError(Exception):
    """Base of every error leadkit raises.

    Every error pickles (to cross a process pool or a task queue) with all its attributes:
    pickle rebuilds it from its text and attributes, never by calling `__init__`. None
    holds the API key: response headers and bodies are masked before an error sees them.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (type(self), self.args), self.__dict__


class MissingApiKeyError(LeadkitError):
    """No API key was given and its environment variable is not set."""


class RequestValidationError(LeadkitError, ValueError):
    """A request body does not match its schema; nothing was sent."""

    def __init__(self, model: str, problems: list[str]) -> None:
        self.model = model
        self.problems = problems
        super().__init__(f"invalid {model}: " + "; ".join(problems))


@attrs.frozen
class FieldError:
    """One field the server rejected: where, why, and the server's error type."""

    location: tuple[str | int, ...]
    message: str
    type: str | None = None


class APIError(LeadkitError):
    """A request failed; `operation` names the call, e.g. ``POST /lead``.

    `attempts` counts the requests sent (or tried) for this call, retries included.
    """

    def __init__(self, message: str, *, operation: str) -> None:
        self.operation = operation
        self.attempts = 1
        super().__init__(f"{operation}: {message}")

    def __str__(self) -> str:
        text = super().__str__()
        return text if self.attempts == 1 else f"{text} (after {self.attempts} attempts)"


class APIConnectionError(APIError):
    """The request failed in transport; `sent` says whether the body may have reached the server."""

    def __init__(self, message: str, *, operation: str, sent: bool) -> None:
        self.sent = sent
        super().__init__(message, operation=operation)


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APITLSError(APIConnectionError):
    """The TLS handshake failed, e.g. the certificate did not verify; never retried."""


class ResponseValidationError(APIError):
    """A success response whose body does not match the spec (cut, malformed, another shape).

    The server answered 2xx, so it did what was asked (the record exists); only its
    parsed body is missing. `headers` are the response's, `snippet` its first bytes.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status: int,
        snippet: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.snippet = snippet
        self.headers = dict(headers or {})
        super().__init__(
            f"{message} (status {status}, body starts {snippet!r})", operation=operation
        )


class APIStatusError(APIError):
    """The server answered with an error status.

    `body` is the error body parsed into the spec's model for that status when it
    matches, else the decoded JSON, else None; `snippet` holds the first bytes of the
    raw body, so that an HTML or empty error page still says something.
    """

    def __init__(
        self,
        *,
        operation: str,
        status: int,
        headers: Mapping[str, str],
        body: Any,
        snippet: str,
        field_errors: tuple[FieldError, ...] = (),
        summary: str = "",
    ) -> None:
        self.status = status
        self.headers = dict(headers)
        self.body = body
        self.snippet = snippet
        self.field_errors = field_errors
        text = _clip(summary) or (repr(snippet) if snippet else "empty body")
        super().__init__(f"{status} {type(self).__name__}: {text}", operation=operation)


class BadRequestError(APIStatusError):
    """400: the request was malformed or failed validation."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope or permission."""


class NotFoundError(APIStatusError):
    """404: the resource (e.g. the campaign) does not exist."""


class ConflictError(APIStatusError):
    """409: the record exists already."""


class AlreadyExistsError(ConflictError):
    """The de-duplication conflict that followed an ambiguous attempt of this same call.

    An earlier attempt most likely created the record: treat it as created, not failed.
    """

    @classmethod
    def from_conflict(cls, error: APIStatusError) -> AlreadyExistsError:
        """The same error, re-classed; its text says an earlier attempt likely created it."""
        new = cls(
            operation=error.operation,
            status=error.status,
            headers=error.headers,
            body=error.body,
            snippet=error.snippet,
            field_errors=error.field_errors,
            summary="exists already; an earlier ambiguous attempt of this call likely created it",
        )
        new.attempts = error.attempts
        return new


class UnprocessableEntityError(APIStatusError):
    """422: the body failed the server's validation."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class OutcomeUnknownError(APIError):
    """The request may or may not have been applied: the record may exist.

    Raised when an attempt failed after the body was sent (read timeout, reset, 5xx)
    and the call was not repeated or its repeats did not settle it. `cause` is the
    last attempt's error.
    """

    def __init__(self, cause: APIError, *, attempts: int) -> None:
        self.cause = cause
        last = str(cause.args[0]).removeprefix(f"{cause.operation}: ")
        super().__init__(
            f"outcome unknown, the record may exist; last error: {last}",
            operation=cause.operation,
        )
        self.attempts = attempts


class BodyNotReplayableError(APIError):
    """An attempt failed in a way worth retrying, but its body cannot be sent again.

    A file part given as an async iterable is streamed as it yields: once an attempt has
    read from it, a retry would send a truncated or empty file, so the call stops here.
    `cause` is the failed attempt's error; pass bytes or a path to let the client retry.
    """

    def __init__(self, cause: APIError, *, reason: str, attempts: int) -> None:
        self.cause = cause
        self.reason = reason
        last = str(cause.args[0]).removeprefix(f"{cause.operation}: ")
        super().__init__(
            f"not retried: {reason}; the attempt failed: {last}", operation=cause.operation
        )
        self.attempts = attempts


class JobFailedError(LeadkitError):
    """A long-running job ended in a failed status; `status` is its final status model.

    `operation` names the operation that started it, `job_id` the job.
    """

    def __init__(self, *, operation: str, job_id: str, state: str, status: Any) -> None:
        self.operation = operation
        self.job_id = job_id
        self.state = state
        self.status = status
        super().__init__(f"{operation} job {job_id} ended {state}")


class JobTimeoutError(LeadkitError, TimeoutError):
    """Waiting for a long-running job took longer than the caller's timeout.

    The job keeps running on the server: wait again (`resume` says how) with the same id.
    `status` is the last status read (None: none was read yet).
    """

    def __init__(
        self, *, operation: str, job_id: str, timeout: float, status: Any, resume: str
    ) -> None:
        self.operation = operation
        self.job_id = job_id
        self.timeout = timeout
        self.status = status
        self.resume = resume
        super().__init__(
            f"{operation} job {job_id} did not end within {timeout:g}s; it keeps running on "
            f"the server: wait again with {resume}"
        )


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[APIStatusError]:
    """The exception class for an error status."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)
