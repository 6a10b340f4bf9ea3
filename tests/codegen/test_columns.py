"""The spec's column declarations (x-aliases, x-extra-columns) in the generated operation."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import leadkit.apis
from tests.codegen.test_codegen import MINIMAL, assert_spec_error, run_codegen

LEAD = "#/components/schemas/Lead"
COLUMNS_SPEC = MINIMAL + (
    "  schemas:\n"
    "    Lead:\n"
    "      type: object\n"
    "      %s\n"
    "      properties:\n"
    "        email: {type: string, x-aliases: %s}\n"
    "        company: {type: string, x-aliases: [Company Name, Organization]}\n"
    "        extra: {type: object, additionalProperties: true}\n"
    "        count: {type: integer}\n"
    "paths:\n  /leads:\n    post:\n      operationId: add_lead\n"
    "      x-dedupe: {field: email}\n"
    "      requestBody:\n        content:\n          application/json:\n"
    "            schema: {$ref: '#/components/schemas/Lead'}\n"
    "      responses:\n        '201': {description: created}\n"
)


def test_aliases_and_the_extra_columns_object_reach_the_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "specs").mkdir()
    spec = COLUMNS_SPEC % ("x-extra-columns: extra", "['E-mail Address', Work Email]")
    (tmp_path / "specs" / "probe.yaml").write_text(spec)
    assert run_codegen(tmp_path) == 0
    monkeypatch.setattr(leadkit.apis, "__path__", [str(tmp_path / "generated")])
    client = importlib.import_module("leadkit.apis.probe.client")
    assert client.ADD_LEAD.column_aliases == {
        "email": ("E-mail Address", "Work Email"),
        "company": ("Company Name", "Organization"),
    }
    assert client.ADD_LEAD.extra_columns == "extra"
    for name in [n for n in sys.modules if n.startswith("leadkit.apis.probe")]:
        del sys.modules[name]


PROPERTY = f"{LEAD}/properties/email/x-aliases"
UNUSABLE = {
    "aliases not a list": (
        COLUMNS_SPEC % ("description: x", "Email Address"),
        f"{PROPERTY}: x-aliases must be a list of column names",
    ),
    "an empty alias": (
        COLUMNS_SPEC % ("description: x", "['  ']"),
        f"{PROPERTY}: x-aliases must be a list of column names",
    ),
    "an alias of its own name": (
        COLUMNS_SPEC % ("description: x", "[E-Mail]"),
        f"{PROPERTY}/0: 'E-Mail' already matches the property 'email'; a column name may mean "
        "one property only",
    ),
    "an alias of another property": (
        COLUMNS_SPEC % ("description: x", "[Mail, organization]"),
        f"{LEAD}/properties/company/x-aliases/1: 'Organization' already matches the alias "
        "'organization' of 'email'; a column name may mean one property only",
    ),
    "extra columns not a property": (
        COLUMNS_SPEC % ("x-extra-columns: custom", "[Mail]"),
        f"{LEAD}/x-extra-columns: 'custom' is not a property of the request body",
    ),
    "extra columns not an object": (
        COLUMNS_SPEC % ("x-extra-columns: count", "[Mail]"),
        f"{LEAD}/x-extra-columns: 'count' must be an object property: columns go in as its keys",
    ),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_unusable_column_declarations_are_spec_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    assert_spec_error(tmp_path, capsys, *UNUSABLE[case])
