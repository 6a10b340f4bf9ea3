"""docs/column-mapping.md says what the code does: its alias tables are the specs', and its
Python example runs unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadkit.apis.breakcold.client import CREATE_LEAD
from leadkit.apis.coldsend.client import ADD_LEAD
from leadkit.runtime import OperationSpec

PAGE = Path(__file__).resolve().parents[2] / "docs" / "column-mapping.md"


def _table_after(heading: str) -> dict[str, tuple[str, ...]]:
    """The `| field | aliases |` table that follows the line `heading`."""
    text = PAGE.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", text.split("\n\n", 1)[0], re.M)
    return {field: tuple(alias.strip() for alias in aliases.split(",")) for field, aliases in rows}


@pytest.mark.parametrize(
    ("heading", "op"),
    [("Breakcold (`create_lead`):", CREATE_LEAD), ("Coldsend (`add_lead`):", ADD_LEAD)],
)
def test_the_alias_tables_are_the_specs(heading: str, op: OperationSpec[object]) -> None:
    assert _table_after(heading) == dict(op.column_aliases)


def test_the_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    (example,) = re.findall(
        r"^```python\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), re.M | re.S
    )
    exec(compile(example, str(PAGE), "exec"), {})
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("cp1252 (found by charset-normalizer")
    assert "'Job Title' -> company_role (alias)" in said
