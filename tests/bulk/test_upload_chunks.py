"""The upload path's parts without a server: a chunk's CSV and its exact size, and what a job's
final status says of each row, read tolerantly."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from leadkit.apis.coldsend.client import ADD_LEAD, ADD_LEAD_UPLOAD, ColdsendClient
from leadkit.bulk import Outcome
from leadkit.bulk.chunks import Chunk, cell_text, unsendable
from leadkit.bulk.job_report import JobReport
from leadkit.bulk.journal import State
from leadkit.bulk.ledger import Job, RowLedger
from leadkit.bulk.seen import SeenKeys

FIELDS = ["email", "first_name", "last_name", "company", "custom_fields"]


def jobs(*rows: dict[str, Any]) -> list[Job]:
    ledger = RowLedger(
        ColdsendClient.api, ADD_LEAD, SeenKeys(), dry_run=False, resend_in_flight=True
    )
    admitted = [ledger.admit(index, row) for index, row in enumerate(rows)]
    assert all(isinstance(job, Job) for job in admitted), admitted
    return admitted  # type: ignore[return-value]


def chunk(folder: Path, **limits: int) -> Chunk:
    limits = {"max_rows": 100, "max_bytes": 10**6, **limits}
    return Chunk(folder, 1, fields=FIELDS, extra="custom_fields", **limits)  # type: ignore[arg-type]


def test_the_csv_holds_each_row_and_its_size_is_known_before_it_is_written(
    tmp_path: Path,
) -> None:
    rows = jobs(
        {"email": "ada@example.com", "first_name": 'Ada "the first"'},
        {"email": "grace@example.com", "company": "Navy, US", "custom_fields": {"Title": "Adm."}},
        {"email": "linus@example.com", "last_name": None, "custom_fields": {"Notes": "a\nb"}},
        {"email": "zoë@example.com", "custom_fields": {"Score": 4.5, "Active": True, "Tags": [1]}},
    )
    filling = chunk(tmp_path)
    for job in rows:
        expected = filling.size_with(job)
        filling.add(job)
    path = filling.write_csv()
    assert path.stat().st_size == expected
    with path.open(encoding="utf-8", newline="") as file:
        read = list(csv.DictReader(file))
    assert list(read[0]) == [
        "email",
        "first_name",
        "company",
        "Title",
        "Notes",
        "Score",
        "Active",
        "Tags",
    ]
    assert read[0]["first_name"] == 'Ada "the first"' and read[1]["company"] == "Navy, US"
    assert (read[2]["Notes"], read[2]["first_name"]) == ("a\nb", "")  # null: not given
    assert (read[3]["Score"], read[3]["Active"], read[3]["Tags"]) == ("4.5", "true", "[1]")
    assert filling.mapping() == {"email": "email", "first_name": "first_name", "company": "company"}
    back = list(filling.spooled())
    assert [(r.position, r.index, r.key) for r in back] == [
        (0, 0, "ada@example.com"),
        (1, 1, "grace@example.com"),
        (2, 2, "linus@example.com"),
        (3, 3, "zoë@example.com"),
    ]
    filling.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_chunk_fits_rows_within_its_row_and_byte_limits(tmp_path: Path) -> None:
    first, second, third = jobs(
        {"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "c@example.com"}
    )
    by_rows = chunk(tmp_path, max_rows=2)
    by_rows.add(first)
    by_rows.add(second)
    assert not by_rows.fits(third)
    one_row = chunk(tmp_path, max_bytes=chunk(tmp_path).size_with(first))
    assert one_row.fits(first)
    one_row.add(first)
    assert not one_row.fits(second)


def test_cells_and_custom_fields_the_file_cannot_carry() -> None:
    assert [cell_text(v) for v in ("x", None, True, 3, 0.5, {"a": 1})] == [
        "x", "", "true", "3", "0.5", '{"a":1}'
    ]  # fmt: skip
    assert unsendable({"custom_fields": {"Title": "CTO"}}, FIELDS, "custom_fields") is None
    assert unsendable({"custom_fields": {"EMAIL": "x"}}, FIELDS, "custom_fields") == (
        "custom_fields has the key 'EMAIL', which the upload would read as the field 'email'"
    )
    assert "no name" in str(unsendable({"custom_fields": {" ": "x"}}, FIELDS, "custom_fields"))


def status(**fields: Any) -> Any:
    counts = {"success_count": 0, "duplicate_count": 0, "error_count": 0, "total_count": 0}
    return SimpleNamespace(**{"status": "COMPLETED", "errors": [], **counts, **fields})


ROWS = [(0, "a@example.com"), (1, "b@example.com"), (2, "c@example.com"), (3, "d@example.com")]


def test_items_name_rows_by_email_or_by_number_under_any_declared_key() -> None:
    items = [
        {"row": 1, "message": "first"},  # the first row after the header
        {"row_number": "3", "error": "third, its number as text"},
        {"email": "D@example.com", "row": 1, "detail": "by its email, whatever its number"},
        {"message": "the file is slow"},  # about no row
        {"row": 99, "message": "a row the file does not have"},
    ]
    report = JobReport(
        ADD_LEAD_UPLOAD,
        status(errors=items, success_count=1, error_count=5, total_count=4),
        ROWS,
        job="j1",
        failed=False,
    )
    assert report.refused == {
        0: "first",
        2: "third, its number as text",
        3: "by its email, whatever its number",
    }
    assert report.verdict(1).outcome is Outcome.CREATED  # the one left: the one created
    assert report.verdict(3).outcome is Outcome.FAILED and report.verdict(3).state is State.FAILED


def test_an_item_without_a_message_is_its_json_and_the_first_row_is_declared() -> None:
    counted = attrs.evolve(ADD_LEAD_UPLOAD, first_row=2)  # a server counting the header as 1
    report = JobReport(
        counted,
        status(errors=[{"line": 2, "code": "E1"}], success_count=3),
        ROWS,
        job="j",
        failed=False,
    )
    assert report.refused == {0: '{"line": 2, "code": "E1"}'}


@pytest.mark.parametrize(
    ("counts", "outcome", "state"),
    [
        ({"success_count": 4}, Outcome.CREATED, State.CREATED),
        (
            {"success_count": 1, "duplicate_count": 3},
            Outcome.CREATED_OR_EXISTS,
            State.CREATED_OR_EXISTS,
        ),
        ({"success_count": 3}, Outcome.FAILED, State.UNKNOWN),
        ({"success_count": None}, Outcome.FAILED, State.UNKNOWN),
    ],
)
def test_the_rows_no_item_names_are_what_the_counts_say(
    counts: dict[str, Any], outcome: Outcome, state: State
) -> None:
    report = JobReport(ADD_LEAD_UPLOAD, status(**counts), ROWS, job="j2", failed=False)
    verdict = report.verdict(0)
    assert (verdict.outcome, verdict.state) == (outcome, state)
    if outcome is Outcome.FAILED:
        assert verdict.reason is not None
        assert verdict.reason.startswith("upload job j2 ended COMPLETED, but its counts")


def test_a_failed_job_fails_every_row_with_its_reason() -> None:
    items = [{"message": "the file has no column for email"}, {"row": 2, "message": "bad"}]
    report = JobReport(
        ADD_LEAD_UPLOAD, status(status="FAILED", errors=items), ROWS, job="j3", failed=True
    )
    assert report.verdict(0).reason == (
        "upload job j3 ended FAILED: the file has no column for email"
    )
    assert (report.verdict(1).outcome, report.verdict(1).reason) == (Outcome.FAILED, "bad")
