"""Schemathesis (pinned 4.32.5) against a live sandbox with both specs: bounded, seeded runs."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadkit.apis.breakcold.spec import SPEC as BREAKCOLD_SPEC
from leadkit.apis.coldsend.spec import SPEC as COLDSEND_SPEC
from leadkit.sandbox import Sandbox, SandboxConfig, running_in_thread

MAX_EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _schema(spec: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(copy.deepcopy(spec))
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    return schema


coldsend_schema = _schema(COLDSEND_SPEC)
breakcold_schema = _schema(BREAKCOLD_SPEC)


@pytest.fixture(scope="module")
def live() -> Iterator[Sandbox]:
    """One sandbox for the module, on its own thread (schemathesis calls are synchronous).

    Rate limits are off: a run sends more than a minute's allowance in a second.
    """
    with running_in_thread(SandboxConfig(rate_limits=False)) as sandbox:
        yield sandbox


@pytest.mark.slow
@coldsend_schema.parametrize()
@BOUNDED
def test_coldsend_conforms(case: schemathesis.Case, live: Sandbox) -> None:
    case.call_and_validate(
        base_url=live.base_url("coldsend"),
        headers={"X-API-Key": "cs_live_schemathesis"},
        checks=[*CHECKS, ignored_auth],
    )


@pytest.mark.slow
@breakcold_schema.parametrize()
@BOUNDED
def test_breakcold_conforms(case: schemathesis.Case, live: Sandbox) -> None:
    # Breakcold accepts any non-empty key: `ignored_auth` (a made-up key must fail) does not apply
    case.call_and_validate(
        base_url=live.base_url("breakcold"), headers={"X-API-KEY": "bc_schemathesis"}, checks=CHECKS
    )
