"""Functional tests: the generated clients against a real aiohttp server on 127.0.0.1.

Every request the clients send is checked against the spec with openapi-core
(`scripted_server`), so these tests are also the contract tests.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

from leadkit.apis.breakcold import BreakcoldClient
from leadkit.apis.breakcold import models as bc
from leadkit.apis.breakcold.spec import SPEC as BREAKCOLD_SPEC
from leadkit.apis.coldsend import UNSET, ColdsendClient
from leadkit.apis.coldsend import models as cs
from leadkit.apis.coldsend.spec import SPEC as COLDSEND_SPEC
from leadkit.runtime import RequestValidationError, RetryPolicy, errors
from tests.scripted_server import Reply, ScriptedServer, scripted_server
from tests.spec_examples import example

KEY = "cs_live_s3cr3t-key-for-tests"
CAMPAIGN = uuid.UUID("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d")
LEAD_SCHEMA = {"$ref": "#/components/schemas/LeadResponse"}
BC_LEAD_SCHEMA = {"$ref": "#/components/schemas/Lead"}
ONCE = RetryPolicy(max_attempts=1)  # these tests check one answer each; retries: test_transport

sys.path.insert(0, str(Path(__file__).parents[1] / "golden" / "expected"))
import inventory  # noqa: E402  (the golden fixture package)
from inventory import models as inv  # noqa: E402
from inventory.spec import SPEC as INVENTORY_SPEC  # noqa: E402


@pytest.fixture
async def coldsend() -> AsyncIterator[tuple[ScriptedServer, ColdsendClient]]:
    async with scripted_server(COLDSEND_SPEC) as server:
        async with ColdsendClient(api_key=KEY, base_url=server.base_url, retry=ONCE) as client:
            yield server, client
        assert server.contract_errors == []


@pytest.fixture
async def breakcold() -> AsyncIterator[tuple[ScriptedServer, BreakcoldClient]]:
    async with scripted_server(BREAKCOLD_SPEC) as server:
        async with BreakcoldClient(api_key=KEY, base_url=server.base_url, retry=ONCE) as client:
            yield server, client
        assert server.contract_errors == []


def lead_reply(http_status: int = 201, **fields: Any) -> Reply:
    body = {**example(COLDSEND_SPEC, LEAD_SCHEMA), **fields}
    return Reply(status=http_status, body=body, headers={"X-RateLimit-Remaining": "99"})


async def test_coldsend_create_sends_spec_conformant_request(coldsend: Any) -> None:
    server, client = coldsend
    server.replies.append(lead_reply(email="ada@example.com", status="QUEUED"))
    body = cs.ManualLeadRequest(email="ada@example.com", first_name=None, company="Acme")
    response = await client.add_lead_with_response(CAMPAIGN, body=body)
    sent = server.received[0]
    assert sent["method"] == "POST"
    assert sent["path"] == f"/api/public/v1/campaigns/{CAMPAIGN}/leads/manual"
    assert sent["headers"]["X-API-Key"] == KEY
    assert "X-API-Key" in sent["header_names"]
    # UNSET fields are omitted; None is an explicit null
    assert sent["json"] == {"email": "ada@example.com", "first_name": None, "company": "Acme"}
    assert response.status == 201
    assert response.headers["X-RateLimit-Remaining"] == "99"
    lead = response.parsed
    assert isinstance(lead, cs.LeadResponse)
    assert lead.lead_id == uuid.UUID("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert lead.created_at == dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=dt.UTC)
    assert lead.sequence_step is UNSET
    assert lead.delivery_status is UNSET  # optional: an older response leaves it out


async def test_coldsend_accepts_200_and_keeps_unknown_fields(coldsend: Any) -> None:
    server, client = coldsend
    server.replies.append(
        lead_reply(
            200,
            delivery_status="delivered",
            thread_intent="interested",
            created_at="2024-01-02T03:04:05+02:00",
        )
    )
    lead = await client.add_lead(str(CAMPAIGN), body={"email": "bo@example.com"})
    assert lead.delivery_status == "delivered"
    assert lead.additional_properties == {"thread_intent": "interested"}
    assert lead.created_at.utcoffset() == dt.timedelta(hours=2)


def _error_cases(spec: dict[str, Any], path: str) -> list[tuple[int, dict[str, Any]]]:
    responses = spec["paths"][path]["post"]["responses"]
    cases = []
    for status, response in responses.items():
        if int(status) >= 400:
            ref = response["$ref"].split("/")[-1]
            schema = spec["components"]["responses"][ref]["content"]["application/json"]["schema"]
            cases.append((int(status), example(spec, schema)))
    return cases


EXPECTED_CLASS = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    422: errors.UnprocessableEntityError,
    429: errors.RateLimitError,
    500: errors.InternalServerError,
    503: errors.InternalServerError,
}
COLDSEND_PATH = "/api/public/v1/campaigns/{campaign_id}/leads/manual"


@pytest.mark.parametrize(("status", "body"), _error_cases(COLDSEND_SPEC, COLDSEND_PATH))
async def test_coldsend_every_error_status_raises_its_class(
    coldsend: Any, status: int, body: dict[str, Any]
) -> None:
    server, client = coldsend
    server.replies.append(Reply(status=status, body=body, headers={"X-Trace": "t1"}))
    with pytest.raises(errors.APIError) as caught:
        await client.add_lead(CAMPAIGN, body={"email": "x@example.com"})
    error = caught.value
    if status == 500:  # sent, then failed: the lead may exist, so this is never a plain error
        assert isinstance(error, errors.OutcomeUnknownError)
        error = error.cause
    assert type(error) is EXPECTED_CLASS[status]
    assert isinstance(error, errors.APIStatusError)
    assert error.status == status
    assert error.headers["X-Trace"] == "t1"
    expected_model = cs.ForbiddenError if status == 403 else cs.HTTPError
    assert isinstance(error.body, expected_model)
    assert KEY not in str(error) and KEY not in repr(error)


async def test_coldsend_validation_detail_becomes_field_errors(coldsend: Any) -> None:
    server, client = coldsend
    detail = [{"loc": ["body", "email"], "msg": "field required", "type": "missing"}]
    server.replies.append(Reply(status=422, body={"detail": detail}))
    with pytest.raises(errors.UnprocessableEntityError) as caught:
        await client.add_lead(CAMPAIGN, body={"email": "x@example.com"})
    assert caught.value.field_errors == (
        errors.FieldError(location=("body", "email"), message="field required", type="missing"),
    )
    assert "body.email: field required" in str(caught.value)


async def test_html_error_page_still_gives_a_useful_error(coldsend: Any) -> None:
    server, client = coldsend
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.replies.append(Reply(status=502, raw=page, content_type="text/html"))
    with pytest.raises(errors.OutcomeUnknownError) as caught:
        await client.add_lead(CAMPAIGN, body={"email": "x@example.com"})
    cause = caught.value.cause
    assert isinstance(cause, errors.InternalServerError)
    assert cause.body is None
    assert cause.snippet.startswith("<html><body><h1>502 Bad Gateway")
    assert "502 Bad Gateway" in str(caught.value)


async def test_non_json_success_body_is_a_response_validation_error(coldsend: Any) -> None:
    server, client = coldsend
    server.replies.append(Reply(status=201, raw=b"OK", content_type="text/plain"))
    with pytest.raises(errors.ResponseValidationError, match="not JSON"):
        await client.add_lead(CAMPAIGN, body={"email": "x@example.com"})


async def test_wrong_type_fails_before_anything_is_sent(coldsend: Any) -> None:
    server, client = coldsend
    with pytest.raises(RequestValidationError) as caught:
        await client.add_lead(CAMPAIGN, body={"email": 42, "custom_fields": []})
    assert caught.value.problems == [
        "expected str, got int @ $.email",
        "expected dict[str, Any], got list @ $.custom_fields",
    ]
    bad_model = cs.ManualLeadRequest(email="ok@example.com", company=7)  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match=r"\$\.company"):
        await client.add_lead(CAMPAIGN, body=bad_model)
    assert server.received == []


async def test_request_models_have_no_additional_properties_and_still_refuse_unknown_keys(
    coldsend: Any, breakcold: Any
) -> None:
    """Requests refuse undeclared fields, so a request-only model has no attribute for them
    (it could only make the request fail); response models keep theirs."""
    assert "additional_properties" in attrs.fields_dict(cs.LeadResponse)
    for model in (cs.ManualLeadRequest, bc.CreateLeadRequest, bc.Location):
        assert "additional_properties" not in attrs.fields_dict(model)
    with pytest.raises(TypeError, match="additional_properties"):
        cs.ManualLeadRequest(email="a@example.com", additional_properties={"phone": "1"})  # type: ignore[call-arg]
    (cs_server, cs_client), (bc_server, bc_client) = coldsend, breakcold
    with pytest.raises(RequestValidationError) as caught:
        await cs_client.add_lead(CAMPAIGN, body={"email": "a@example.com", "phone": "1"})
    assert str(caught.value) == "invalid ManualLeadRequest: unknown field(s) ['phone'] @ $"
    with pytest.raises(RequestValidationError) as caught:
        await bc_client.create_lead(body={"email": "a@example.com", "nickname": "A"})
    assert str(caught.value) == "invalid CreateLeadRequest: unknown field(s) ['nickname'] @ $"
    assert cs_server.received == [] and bc_server.received == []
    # a model is sent as before: declared fields only, extras go in a declared object field
    cs_server.replies.append(lead_reply())
    body = cs.ManualLeadRequest(email="a@example.com", custom_fields={"phone": "1"})
    assert isinstance(await cs_client.add_lead(CAMPAIGN, body=body), cs.LeadResponse)
    assert cs_server.received[0]["json"] == {
        "email": "a@example.com",
        "custom_fields": {"phone": "1"},
    }


async def test_breakcold_create_maps_wire_names_and_nested_values(breakcold: Any) -> None:
    server, client = breakcold
    reply = {**example(BREAKCOLD_SPEC, BC_LEAD_SCHEMA), "usersId": "user-1", "score": None}
    server.replies.append(Reply(status=200, body=reply))
    body = bc.CreateLeadRequest(
        email="google",
        contract_currency=bc.ContractCurrency.EUR,
        contract_value="1200",
        lists=["list-1"],
        attributes={"a": 42.0, "b": ["opt-1"], "c": bc.Location(latitude=1.5, longitude=2.5)},
    )
    lead = await client.create_lead(body=body)
    sent = server.received[0]
    assert sent["headers"]["X-API-KEY"] == KEY
    assert "X-API-KEY" in sent["header_names"]  # the exact spelling the spec gives
    assert sent["json"] == {
        "email": "google",
        "lists": ["list-1"],
        "contract_currency": "EUR",
        "contract_value": "1200",
        "attributes": {"a": 42.0, "b": ["opt-1"], "c": {"latitude": 1.5, "longitude": 2.5}},
    }
    assert lead.users_id == "user-1"
    assert lead.score is None


async def test_breakcold_trpc_issues_become_field_errors(breakcold: Any) -> None:
    server, client = breakcold
    body = {
        "message": "Input validation failed",
        "code": "BAD_REQUEST",
        "issues": [{"code": "invalid_type", "message": "Expected string", "path": ["email"]}],
    }
    server.replies.append(Reply(status=400, body=body))
    with pytest.raises(errors.BadRequestError) as caught:
        await client.create_lead(body={"email": "a@b.c"})
    assert isinstance(caught.value.body, bc.ErrorBody)
    assert caught.value.body.issues != UNSET
    assert caught.value.field_errors[0].location == ("email",)
    assert "Input validation failed" in str(caught.value)


async def test_breakcold_not_found_body_as_observed(breakcold: Any) -> None:
    server, client = breakcold
    observed = {
        "message": "NOT_FOUND",
        "code": "NOT_FOUND",
        "data": {"code": "NOT_FOUND", "httpStatus": 404, "path": "lead.delete"},
    }
    server.replies.append(Reply(status=404, body=observed))
    with pytest.raises(errors.NotFoundError) as caught:
        await client.create_lead(body={})
    assert isinstance(caught.value.body, bc.ErrorBody)
    assert isinstance(caught.value.body.data, bc.ErrorData)
    assert caught.value.body.data.http_status == 404


def test_missing_key_is_a_clear_error_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLDSEND_API_KEY", raising=False)
    with pytest.raises(errors.MissingApiKeyError, match="COLDSEND_API_KEY"):
        ColdsendClient()
    monkeypatch.setenv("BREAKCOLD_API_KEY", "from-env-123")
    client = BreakcoldClient()
    assert "from-env-123" not in repr(client)
    assert repr(client) == "BreakcoldClient(base_url='https://api.breakcold.com/rest')"


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ValueError, match="plain HTTP"):
        ColdsendClient(api_key=KEY, base_url="http://api.coldsend.pro")
    client = ColdsendClient(
        api_key=KEY, base_url="http://api.coldsend.pro", allow_insecure_http=True
    )
    assert client.base_url == "http://api.coldsend.pro"


async def test_a_session_passed_in_is_used_and_not_closed() -> None:
    async with scripted_server(COLDSEND_SPEC) as server, aiohttp.ClientSession() as session:
        server.replies.append(lead_reply())
        async with ColdsendClient(api_key=KEY, base_url=server.base_url, session=session) as c:
            await c.add_lead(CAMPAIGN, body={"email": "a@example.com"})
        assert not session.closed
        assert len(server.received) == 1


@pytest.fixture
async def inventory_client() -> AsyncIterator[tuple[ScriptedServer, inventory.InventoryClient]]:
    async with scripted_server(INVENTORY_SPEC) as server:
        async with inventory.InventoryClient(api_key="tok", base_url=server.base_url) as client:
            yield server, client
        assert server.contract_errors == []


async def test_toolkit_query_header_params_and_array_responses(inventory_client: Any) -> None:
    server, client = inventory_client
    item = {
        "id": 7,
        "name": "Lamp",
        "colour": "ultraviolet",
        "history": [{"at": "2024-05-01T00:00:00Z"}],
    }
    server.replies.append(Reply(body=[item]))
    items = await client.list_items(limit=5, tag=["a", "b"], x_request_id="req-1")
    sent = server.received[0]
    assert sent["query"] == [("limit", "5"), ("tag", "a"), ("tag", "b")]
    assert sent["headers"]["X-Request-Id"] == "req-1"
    assert sent["headers"]["X-Token"] == "tok"
    assert isinstance(items[0], inv.Item) and isinstance(items[0], inv.NewItem)
    # an enum value the spec does not list is kept, not raised on
    assert items[0].colour.value == "ultraviolet"
    assert items[0].history[0].at == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


async def test_toolkit_put_patch_delete_and_array_bodies(inventory_client: Any) -> None:
    server, client = inventory_client
    server.replies += [
        Reply(body={"id": 1, "name": "Desk", "restockedAt": None}),
        Reply(body={"id": 1, "name": "Table"}),
        Reply(status=204, raw=b""),
        Reply(status=201, body=[{"id": 2, "name": "Chair"}]),
        Reply(status=404, body={"title": "no such item"}),
    ]
    desk = inv.NewItem(name="Desk", colour=inv.Colour.RED, restocked_at=None, labels={"k": "v"})
    replaced = await client.replace_item(1, body=desk)
    assert replaced.restocked_at is None and replaced.id == 1
    renamed = await client.rename_item(1, body=inv.ItemsItemIdPatchRequest(name="Table"))
    assert renamed.name == "Table"
    assert await client.delete_item(1) is None
    created = await client.create_items(body=[inv.NewItem(name="Chair")])
    assert [c.id for c in created] == [2]
    with pytest.raises(errors.NotFoundError) as caught:
        await client.get_item(99)
    assert isinstance(caught.value.body, inv.Problem)
    methods = [(r["method"], r["path"]) for r in server.received]
    assert methods == [
        ("PUT", "/v2/items/1"),
        ("PATCH", "/v2/items/1"),
        ("DELETE", "/v2/items/1"),
        ("POST", "/v2/items"),
        ("GET", "/v2/items/99"),
    ]
    assert server.received[0]["json"] == {
        "name": "Desk",
        "colour": "red",
        "labels": {"k": "v"},
        "restockedAt": None,
    }
