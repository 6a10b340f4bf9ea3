"""Each generated package re-exports the runtime's error classes: callers catch them from it."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest

from leadkit.runtime import errors
from leadkit.sandbox import Sandbox

PACKAGES = ("leadkit.apis.coldsend", "leadkit.apis.breakcold")


def defined_exceptions(module: ModuleType) -> dict[str, type[BaseException]]:
    """Every public exception class `module` defines itself (not what it imports)."""
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, Exception)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    }


RUNTIME_ERRORS = defined_exceptions(errors)


def test_the_runtime_defines_the_errors_callers_catch() -> None:
    """The reference list below is not empty by accident (a module moved, a rename)."""
    assert {"APIError", "RateLimitError", "RequestValidationError", "OutcomeUnknownError"} <= set(
        RUNTIME_ERRORS
    )


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("name", sorted(RUNTIME_ERRORS))
def test_each_error_class_is_the_runtimes_own_from_the_package(package: str, name: str) -> None:
    module = importlib.import_module(package)
    assert getattr(module, name) is RUNTIME_ERRORS[name]
    assert name in module.__all__


def test_the_import_a_caller_writes() -> None:
    from leadkit.apis.coldsend import (
        AlreadyExistsError,
        APIError,
        OutcomeUnknownError,
        RateLimitError,
        RequestValidationError,
    )

    assert (APIError, RateLimitError) == (errors.APIError, errors.RateLimitError)
    assert (AlreadyExistsError, OutcomeUnknownError) == (
        errors.AlreadyExistsError,
        errors.OutcomeUnknownError,
    )
    assert RequestValidationError is errors.RequestValidationError


async def test_a_failed_call_is_caught_with_the_packages_class(sandbox: Sandbox) -> None:
    import leadkit.apis.breakcold as breakcold
    import leadkit.apis.coldsend as coldsend

    url = sandbox.base_url("coldsend")
    async with coldsend.ColdsendClient(api_key="not-a-coldsend-key", base_url=url) as client:
        with pytest.raises(coldsend.AuthenticationError) as caught:
            await client.add_lead(
                "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", body={"email": "ada@example.com"}
            )
    assert caught.value.status == 401
    url = sandbox.base_url("breakcold")
    async with breakcold.BreakcoldClient(api_key="bc_key", base_url=url) as bc_client:
        with pytest.raises(breakcold.RequestValidationError):
            await bc_client.create_lead(body={"email": 42})
