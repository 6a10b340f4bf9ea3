"""The row ledger alone, without a scheduler or a server: what it makes of each row read, of
each call's end, of rows sharing a key, and what it leaves in the journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leadkit.apis.coldsend.client import ADD_LEAD, ColdsendClient
from leadkit.bulk import IN_FLIGHT_REASON, NOT_SENT_REASON, InputRow, Outcome, RowResult
from leadkit.bulk.journal import Journal, State
from leadkit.bulk.ledger import Job, RowLedger
from leadkit.bulk.seen import SeenKeys
from leadkit.runtime import ApiResponse
from leadkit.runtime.errors import APIConnectionError, ConflictError, InternalServerError
from tests.transport_support import lead_json

SCOPE = {"api": "coldsend", "operation": "add_lead", "path_params": {"campaign_id": "c"}}
LABEL = "POST /leads"


def ledger(journal: Journal | SeenKeys | None = None, **kwargs: Any) -> RowLedger:
    kwargs.setdefault("dry_run", False)
    kwargs.setdefault("resend_in_flight", True)
    return RowLedger(ColdsendClient.api, ADD_LEAD, journal or SeenKeys(), **kwargs)


def job(admitted: RowResult | Job | None) -> Job:
    assert isinstance(admitted, Job), admitted
    return admitted


def response(email: str) -> ApiResponse[Any]:
    parsed = ColdsendClient.api.response_converter.structure(
        lead_json(email), ADD_LEAD.success[201]
    )
    return ApiResponse(status=201, headers={}, parsed=parsed, elapsed=0.01, attempts=2)


def status_error(kind: type[InternalServerError | ConflictError], status: int) -> Any:
    return kind(operation=LABEL, status=status, headers={}, body=None, snippet="")


def test_a_valid_row_becomes_a_job_keyed_by_its_dedupe_field_and_a_bad_one_a_result() -> None:
    rows = ledger()
    first = job(rows.admit(0, {"email": " Ada@Example.com "}))
    assert (first.index, first.key) == (0, "ada@example.com")
    assert first.journal_key == "key:ada@example.com"
    invalid = rows.admit(1, {"email": 42})
    assert isinstance(invalid, RowResult) and invalid.outcome is Outcome.INVALID
    assert invalid.error == "expected str, got int @ $.email"
    unreadable = InputRow(line=3, data=None, error="bad quoting", raw='a,"b')
    result = rows.admit(2, unreadable)
    assert isinstance(result, RowResult)
    assert (result.outcome, result.line, result.error) == (Outcome.INVALID, 3, "bad quoting")


def test_a_row_without_a_key_is_keyed_by_a_hash_of_its_body() -> None:
    rows = ledger()
    first = job(rows.admit(0, {"email": "", "first_name": "Ada"}))
    assert first.key is None and first.journal_key.startswith("body:")
    assert rows.admit(1, {"first_name": "Ada", "email": ""}) is None  # same body: it waits


def test_rows_sharing_a_key_wait_for_the_first_and_share_its_fate() -> None:
    rows = ledger()
    first = job(rows.admit(0, {"email": "ada@example.com"}))
    assert rows.admit(1, {"email": "ADA@example.com"}) is None
    assert rows.admit(2, {"email": "ada@example.com"}) is None
    created = rows.created(first, response("ada@example.com"), 0.5)
    assert (created.outcome, created.attempts, created.latency) == (Outcome.CREATED, 2, 0.5)
    waited = rows.settle(first.journal_key, created)
    assert [(r.index, r.outcome, r.error) for r in waited] == [
        (1, Outcome.SKIPPED_DUPLICATE, "same key as row index 0"),
        (2, Outcome.SKIPPED_DUPLICATE, "same key as row index 0"),
    ]
    late = rows.admit(3, {"email": "ada@example.com"})  # after it ended: from the journal
    assert isinstance(late, RowResult) and late.outcome is Outcome.SKIPPED_DUPLICATE


def test_a_failed_first_row_fails_the_rows_that_waited_for_it() -> None:
    rows = ledger()
    first = job(rows.admit(0, {"email": "ada@example.com"}))
    assert rows.admit(1, {"email": "ada@example.com"}) is None
    failed = rows.failed(first, status_error(InternalServerError, 500), 0.1)
    assert (failed.outcome, failed.status) == (Outcome.FAILED, 500)
    [copy] = rows.settle(first.journal_key, failed)
    assert copy.outcome is Outcome.FAILED
    assert copy.error == f"same key as row index 0, which failed: {failed.error}"


@pytest.mark.parametrize(
    ("error", "outcome", "state"),
    [
        (status_error(ConflictError, 409), Outcome.ALREADY_EXISTS, State.ALREADY_EXISTS),
        (status_error(InternalServerError, 500), Outcome.FAILED, State.FAILED),
        (APIConnectionError("reset", operation=LABEL, sent=True), Outcome.FAILED, State.UNKNOWN),
        (APIConnectionError("refused", operation=LABEL, sent=False), Outcome.FAILED, State.FAILED),
    ],
)
def test_each_error_leaves_its_outcome_and_journal_state(
    tmp_path: Path, error: Any, outcome: Outcome, state: State
) -> None:
    journal = Journal(tmp_path / "j.sqlite", SCOPE)
    rows = ledger(journal)
    first = job(rows.admit(0, {"email": "ada@example.com"}))
    assert rows.failed(first, error, 0.1).outcome is outcome
    entry = journal.get(first.journal_key)
    assert entry is not None and (entry.state, entry.reason) == (state, str(error))
    journal.close()


def test_an_interrupted_job_says_whether_it_was_sent_and_an_unsent_one_is_queued_again(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite", SCOPE)
    rows = ledger(journal, resend_in_flight=False)
    assert rows.sent_first is journal  # 'sent' must be durable before a row goes
    first, second = (job(rows.admit(i, {"email": f"{i}@example.com"})) for i in range(2))
    rows.mark_sent(first)
    assert rows.interrupted(first, sent=False).error == NOT_SENT_REASON
    assert journal.get(first.journal_key).state is State.QUEUED  # type: ignore[union-attr]
    rows.sent(second)
    assert rows.interrupted(second, sent=True).error == IN_FLIGHT_REASON
    assert journal.get(second.journal_key).state is State.SENT  # type: ignore[union-attr]
    journal.close()


def test_a_resumed_run_skips_what_was_created_and_reports_what_was_left_in_flight(
    tmp_path: Path,
) -> None:
    earlier = Journal(tmp_path / "j.sqlite", SCOPE)
    rows = ledger(earlier)
    made, left = (job(rows.admit(i, {"email": f"{i}@example.com"})) for i in range(2))
    rows.created(made, response("0@example.com"), 0.1)
    rows.sent(left)
    earlier.close()
    again = Journal(tmp_path / "j.sqlite", SCOPE)
    resumed = ledger(again, resend_in_flight=False)
    skipped = resumed.admit(0, {"email": "0@example.com"})
    reported = resumed.admit(1, {"email": "1@example.com"})
    assert isinstance(skipped, RowResult) and isinstance(reported, RowResult)
    assert (skipped.outcome, skipped.resumed) == (Outcome.CREATED, True)
    assert (reported.outcome, reported.error) == (Outcome.FAILED, IN_FLIGHT_REASON)
    again.close()
    third = Journal(tmp_path / "j.sqlite", SCOPE)
    resent = ledger(third, resend_in_flight=True).admit(1, {"email": "1@example.com"})
    assert isinstance(resent, Job)  # a repeat cannot duplicate it: sent again
    third.close()


def test_a_dry_run_reports_valid_rows_and_sends_none() -> None:
    rows = ledger(dry_run=True)
    result = rows.admit(0, {"email": "ada@example.com"})
    assert isinstance(result, RowResult) and result.outcome is Outcome.VALID
