"""Every leadkit error survives pickle (a process pool, a task queue) whole, never with the key."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from leadkit.apis.coldsend import models
from leadkit.runtime import RetryPolicy, errors
from tests.transport_support import CAMPAIGN, KEY, coldsend, serve

HEADERS = {"X-RateLimit-Remaining": "0", "Retry-After": "7"}
BODY = models.HTTPError(detail="Rate limit exceeded.")


def _status(cls: type[Any]) -> Any:
    return cls(
        operation="POST /lead",
        status=429,
        headers=HEADERS,
        body=BODY,
        snippet='{"detail": "Rate limit exceeded."}',
        field_errors=(errors.FieldError(("body", "email"), "Field required", "missing"),),
        summary="Rate limit exceeded.",
    )


EXAMPLES: dict[type[Any], Callable[[type[Any]], Any]] = {
    errors.MissingApiKeyError: lambda cls: cls("no key: set COLDSEND_API_KEY"),
    errors.APIError: lambda cls: cls("went wrong", operation="POST /lead"),
    errors.APIConnectionError: lambda cls: cls("timed out", operation="POST /lead", sent=True),
    errors.ResponseValidationError: lambda cls: cls(
        "the success body is not JSON",
        operation="POST /lead",
        status=201,
        snippet='{"lead_id": "0f2b',
        headers=HEADERS,
    ),
    errors.APIStatusError: _status,
    errors.OutcomeUnknownError: lambda cls: cls(
        errors.APITimeoutError("timed out", operation="POST /lead", sent=True), attempts=3
    ),
    errors.RequestValidationError: lambda cls: cls("ManualLeadRequest", ["expected str @ $.email"]),
    errors.BodyNotReplayableError: lambda cls: cls(
        _status(errors.RateLimitError), reason="the part 'file' was read", attempts=1
    ),
    errors.JobFailedError: lambda cls: cls(
        operation="upload_leads", job_id="j-1", state="FAILED", status={"status": "FAILED"}
    ),
    errors.JobTimeoutError: lambda cls: cls(
        operation="upload_leads",
        job_id="j-1",
        timeout=5.0,
        status=None,
        resume="upload_leads_job('c-1', 'j-1')",
    ),
}
"""An example of each error, by the class whose __init__ builds it."""


def _every_error_class(root: type[Any] = errors.LeadkitError) -> Iterator[type[Any]]:
    yield root
    for sub in root.__subclasses__():
        yield from _every_error_class(sub)


def _example(cls: type[Any]) -> Any:
    builder = next(k for k in cls.__mro__ if "__init__" in vars(k) or k is errors.LeadkitError)
    assert builder in EXAMPLES or builder is errors.LeadkitError, (
        f"{cls.__name__} has its own __init__: add an example of it to EXAMPLES"
    )
    return EXAMPLES.get(builder, lambda c: c("something went wrong"))(cls)


def _state(error: BaseException) -> tuple[Any, ...]:
    """What must survive: class, text, args and every attribute (a cause by its own state)."""
    attributes = {
        name: _state(value) if isinstance(value, BaseException) else value
        for name, value in vars(error).items()
    }
    return type(error), str(error), error.args, attributes


@pytest.mark.parametrize("cls", sorted(set(_every_error_class()), key=lambda c: c.__name__))
def test_every_error_class_round_trips_through_pickle(cls: type[Any]) -> None:
    error = _example(cls)
    error.attempts = 3
    copy = pickle.loads(pickle.dumps(error))
    assert _state(copy) == _state(error)
    for name in ("status", "body", "headers", "sent", "attempts"):
        assert getattr(copy, name, None) == getattr(error, name, None)


def test_the_classes_found_include_every_kind() -> None:
    found = set(_every_error_class())
    assert {errors.ConflictError, errors.APITimeoutError, errors.RequestValidationError} <= found
    assert errors.AlreadyExistsError in found


async def test_errors_from_a_server_that_echoes_the_key_pickle_without_it() -> None:
    async def echo(request: web.Request) -> web.Response:
        key = request.headers["X-API-Key"]
        return web.json_response({"detail": f"bad key {key}"}, status=409, headers={"X-Echo": key})

    once = RetryPolicy(max_attempts=1)
    async with serve(echo) as url, coldsend(url, retry=once) as client:
        with pytest.raises(errors.ConflictError) as caught:
            await client.add_lead(CAMPAIGN, body={"email": "ada@example.com"})
    pickled = pickle.dumps(caught.value)
    assert KEY.encode() not in pickled
    copy = pickle.loads(pickled)
    assert (copy.status, copy.headers["X-Echo"], copy.body.detail) == (409, "***", "bad key ***")
