"""Real exports loaded into the sandbox with no mapping flag: where every column's value went.

The files in tests/exports/ have the headers and the bytes of the exports people have:
Apollo, HubSpot, LinkedIn Sales Navigator through a scraping tool, a Salesforce report,
Google Contacts, European Excel (';', a byte-order mark, CRLF), a Google Sheets download
(empty columns and rows around the data) and an Outlook export in Windows-1252. Each is read
here with Python's csv module (not the loader's reader), and every non-empty cell is looked
for where it must be: in its field, in Coldsend's custom_fields under its column's name, or,
for Breakcold, which has no object for them, nowhere.
"""

from __future__ import annotations

import csv
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from leadkit.apis.breakcold import models as breakcold_models
from leadkit.apis.breakcold.client import API as BREAKCOLD
from leadkit.apis.breakcold.client import CREATE_LEAD
from leadkit.bulk.cells import members
from leadkit.bulk.inputs import input_fields, open_input, request_fields
from leadkit.cli import main
from leadkit.sandbox import SandboxConfig
from leadkit.sandbox.server import Sandbox, running_in_thread
from tests.cli_support import ROOT

EXPORTS = ROOT / "tests" / "exports"
COLDSEND_FIELDS = ("email", "first_name", "last_name", "company")
_REQUEST = request_fields(BREAKCOLD, CREATE_LEAD.body_type).types
ECHOED = {
    field
    for field in request_fields(BREAKCOLD, breakcold_models.Lead).types
    if field != "id" and members(_REQUEST.get(field)) == [str]
}
"""The text fields of a Breakcold request that the sandbox's stored lead (a Lead response)
keeps (its id is the server's own)."""


@attrs.frozen
class Export:
    """An export file, and the Breakcold field of each column (None: not sent). Columns of
    one field are listed in the order that fills it: the first non-empty one wins."""

    name: str
    breakcold: dict[str, str | None]
    encoding: str = "utf-8"
    delimiter: str = ","


EXPORT_FILES = [
    Export("apollo.csv", {
        "First Name": "first_name", "Last Name": "last_name", "Title": "company_role",
        "Company Name": "company", "Company Name for Emails": "company", "Email": "email",
        "Email Status": None, "Seniority": None, "Departments": None,
        "Work Direct Phone": "phone", "Mobile Phone": "phone", "Corporate Phone": "phone",
        "# Employees": None, "Industry": None, "Keywords": None,
        "Person Linkedin Url": "linkedin_url", "Website": "website_url",
        "Company Linkedin Url": "company_linkedin_url", "City": "city", "State": None,
        "Country": None, "Apollo Contact Id": None,
    }),
    Export("hubspot.csv", {
        "Record ID": None, "First Name": "first_name", "Last Name": "last_name",
        "Email": "email", "Phone Number": "phone", "Mobile Phone Number": "phone",
        "Job Title": "company_role", "Company Name": "company", "LinkedIn URL": "linkedin_url",
        "City": "city", "State/Region": None, "Country/Region": None,
        "Website URL": "website_url", "Contact owner": None, "Lifecycle Stage": None,
        "Lead Status": None, "Create Date": None,
    }),
    Export("sales_navigator.csv", {
        "defaultProfileUrl": "linkedin_url", "profileUrl": "linkedin_url", "fullName": None,
        "firstName": "first_name", "lastName": "last_name", "companyName": "company",
        "title": "company_role", "companyId": None, "companyUrl": None, "industry": None,
        "location": None, "durationInRole": None, "connectionDegree": None,
        "profileImageUrl": "avatar_url", "query": None, "timestamp": None, "email": "email",
    }),
    Export("salesforce_report.csv", {
        "Lead Owner": None, "First Name": "first_name", "Last Name": "last_name",
        "Title": "company_role", "Company / Account": "company", "Email": "email",
        "Phone": "phone", "Mobile": "phone", "Lead Source": None, "Lead Status": None,
        "City": "city", "Website": "website_url",
    }),
    Export("google_contacts.csv", {
        "First Name": "first_name", "Middle Name": None, "Last Name": "last_name",
        "Nickname": None, "Organization Name": "company", "Organization Title": "company_role",
        "Organization Department": None, "Birthday": None, "Notes": None, "Labels": None,
        "E-mail 1 - Label": None, "E-mail 1 - Value": "email", "E-mail 2 - Label": None,
        "E-mail 2 - Value": None, "Phone 1 - Label": None, "Phone 1 - Value": "phone",
        "Address 1 - Label": None, "Address 1 - City": "city", "Website 1 - Label": None,
        "Website 1 - Value": "website_url",
    }),
    Export("excel_eu.csv", {
        "Email": "email", "First Name": "first_name", "Last Name": "last_name",
        "Company": "company", "Job Title": "company_role", "Phone": "phone", "City": "city",
        "Tags": "tags", "Notes": None,
    }, encoding="utf-8-sig", delimiter=";"),
    Export("google_sheets.csv", {
        "Email": "email", "Full Name": None, "Company": "company", "Role": "company_role",
    }),
    Export("outlook_cp1252.csv", {
        "First Name": "first_name", "Last Name": "last_name", "Company": "company",
        "Job Title": "company_role", "E-mail Address": "email", "Business Phone": "phone",
        "Business City": "city", "Notes": None,
    }, encoding="cp1252"),
]  # fmt: skip


def _source_rows(export: Export) -> list[dict[str, str]]:
    """The file's rows as Python's csv module reads them: named, non-empty cells only."""
    text = (EXPORTS / export.name).read_bytes().decode(export.encoding)
    header, *rows = csv.reader(text.splitlines(), delimiter=export.delimiter)
    assert {name for name in header if name} == set(export.breakcold), "a place for each column"
    cells = [dict(zip(header, row, strict=True)) for row in rows]
    return [
        {name: value.strip() for name, value in row.items() if name and value.strip()}
        for row in cells
        if any(value.strip() for value in row.values())
    ]


def _breakcold_body(export: Export, row: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for column, field in export.breakcold.items():
        if field is not None and column in row and field not in body:
            body[field] = row[column].split(";") if field == "tags" else row[column]
    return body


def _coldsend_body(export: Export, row: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    custom = {}
    for column, field in export.breakcold.items():
        if column not in row:
            continue
        if field in COLDSEND_FIELDS:
            body.setdefault(field, row[column])
        else:
            custom[column] = row[column]
    return {**body, "custom_fields": custom} if custom else body


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox of both APIs in a thread of its own, rate limits off; keys in the env."""
    monkeypatch.setenv("COLDSEND_API_KEY", "cs_live_exports_test")
    monkeypatch.setenv("BREAKCOLD_API_KEY", "breakcold-usr-exports-test")
    with running_in_thread(SandboxConfig(rate_limits=False)) as running:
        yield running


def stored(sandbox: Sandbox, api: str) -> dict[str, dict[str, Any]]:
    """The leads the sandbox holds for `api`, by e-mail."""
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/leads?api={api}") as response:
        return {lead["email"]: lead for lead in json.load(response)}


def load(sandbox: Sandbox, api: str, path: Path, *flags: str) -> int:
    """`leadkit load API PATH` against the sandbox, with no flag but `flags`."""
    target = ["--base-url", sandbox.base_url(api)]
    return main(["load", api, *target, *flags, str(path)])


@pytest.mark.parametrize("export", EXPORT_FILES, ids=lambda export: export.name)
def test_every_column_of_a_real_export_lands_where_it_belongs_in_breakcold(
    sandbox: Sandbox, export: Export
) -> None:
    rows = _source_rows(export)
    assert load(sandbox, "breakcold", EXPORTS / export.name) == 0
    read = [
        row.data for row in open_input(EXPORTS / export.name, input_fields(BREAKCOLD, CREATE_LEAD))
    ]
    assert read == [_breakcold_body(export, row) for row in rows]  # and no other column sent
    leads = stored(sandbox, "breakcold")
    assert len(leads) == len(rows)
    for row in rows:
        body = _breakcold_body(export, row)
        lead = leads[body["email"]]
        for field in ECHOED:
            assert lead.get(field) in ((body[field],) if field in body else (None, "")), field


@pytest.mark.parametrize("export", EXPORT_FILES, ids=lambda export: export.name)
def test_every_column_of_a_real_export_lands_where_it_belongs_in_coldsend(
    sandbox: Sandbox, export: Export
) -> None:
    rows = _source_rows(export)
    campaign = str(uuid.uuid4())
    assert load(sandbox, "coldsend", EXPORTS / export.name, "--campaign-id", campaign) == 0
    leads = stored(sandbox, "coldsend")
    assert len(leads) == len(rows)
    for row in rows:
        body = _coldsend_body(export, row)
        lead = leads[body["email"]]
        assert lead["campaign_id"] == campaign
        assert {field: lead[field] for field in (*COLDSEND_FIELDS, "custom_fields")} == {
            "first_name": None, "last_name": None, "company": None, "custom_fields": {}, **body,
        }  # fmt: skip


@pytest.mark.parametrize("name", ["apollo.csv", "hubspot.csv"])
def test_apollo_and_hubspot_exports_fill_each_apis_own_fields(sandbox: Sandbox, name: str) -> None:
    """The issue's first complaint: company, title, phone and LinkedIn URL went into the
    extra object, or nowhere, and the load still said it succeeded."""
    assert load(sandbox, "breakcold", EXPORTS / name) == 0
    assert load(sandbox, "coldsend", EXPORTS / name, "--campaign-id", str(uuid.uuid4())) == 0
    breakcold, coldsend = stored(sandbox, "breakcold"), stored(sandbox, "coldsend")
    for email, lead in breakcold.items():
        assert all(lead[field] for field in ("company", "company_role", "phone", "linkedin_url"))
        assert coldsend[email]["company"] == lead["company"]
        custom = coldsend[email]["custom_fields"]
        assert lead["company_role"] in custom.values() and lead["linkedin_url"] in custom.values()
    assert {lead["company_role"] for lead in breakcold.values()} >= (
        {"VP of Sales", "Head of Procurement"} if name == "apollo.csv" else {"Founder"}
    )


def test_a_dry_run_prints_the_mapping_and_the_first_valid_rows_body(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load(sandbox, "breakcold", EXPORTS / "salesforce_report.csv", "--dry-run") == 0
    said = capsys.readouterr().err
    assert "columns of salesforce_report.csv:\n" in said
    assert "  'Company / Account' -> company (alias)\n" in said
    assert "  'Mobile' -> phone where 'Phone' is empty (alias)\n" in said
    assert "  'Lead Source': not sent (no field is like it)\n" in said
    body = said.split("first valid row (line 2), as it would be sent:\n")[1]
    assert json.loads(body[: body.index("\n}\n") + 2]) == {
        "first_name": "Hannah", "last_name": "Kowalski", "company_role": "IT Manager",
        "company": "Brightwater Clinics", "email": "hannah.kowalski@brightwater.example",
        "phone": "(312) 555-0144", "city": "Chicago", "website_url": "www.brightwater.example",
    }  # fmt: skip
    assert stored(sandbox, "breakcold") == {}


def test_map_file_map_ignore_and_set_say_where_columns_go(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "hubspot.sdl.yaml"
    mapping.write_text(
        "# as a Salesforce Data Loader mapping: column -> field\n"
        "Lead Status: contract_name\n"
        "Record ID: attributes.hubspot_id\n"
        "Create Date: ~\n"
        "Lifecycle Stage: icebreaker\n"
    )
    flags = ["--map-file", str(mapping), "--map", "Lifecycle Stage=icebreaker_2"]
    flags += ["--ignore", "Contact owner", "--set", "tags=webinar;2024", "--strict-columns"]
    flags += ["--ignore", "State/Region", "--ignore", "Country/Region"]
    assert load(sandbox, "breakcold", EXPORTS / "hubspot.csv", *flags, "--dry-run") == 0
    said = capsys.readouterr().err
    assert "  'Record ID' -> attributes['hubspot_id'] (--map)\n" in said
    assert "  'Create Date': ignored (--ignore)\n" in said
    assert "  'Lifecycle Stage' -> icebreaker_2 (--map)\n" in said  # --map wins over the file
    assert "  --set tags = ['webinar', '2024']\n" in said
    body = json.loads(said[said.index("{\n") : said.index("\n}\n") + 2])
    assert (body["attributes"], body["contract_name"], body["icebreaker_2"], body["tags"]) == (
        {"hubspot_id": "51234001"}, "New", "Lead", ["webinar", "2024"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- a\n- b\n", "expected lines of COLUMN: FIELD"),
        ("Email: [email]\n", "'Email': ['email'] is not COLUMN: FIELD"),
        ("Email: email\n  bad: indent\n", "not YAML"),
    ],
)
def test_a_map_file_that_is_not_a_mapping_is_a_usage_error(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(content)
    assert load(sandbox, "breakcold", EXPORTS / "hubspot.csv", "--map-file", str(mapping)) == 2
    assert message in capsys.readouterr().err
