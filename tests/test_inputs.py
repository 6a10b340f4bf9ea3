"""CSV and JSONL input: header mapping, typed cells, row-numbered errors that never stop a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from generated.breakcold.client import API as BREAKCOLD
from generated.breakcold.client import CREATE_LEAD
from generated.coldsend.client import ADD_LEAD
from generated.coldsend.client import API as COLDSEND
from leadkit.bulk.inputs import InputFileError, InputRow, open_input, request_fields, snake_case

COLDSEND_FIELDS = request_fields(COLDSEND, ADD_LEAD.body_type)
BREAKCOLD_FIELDS = request_fields(BREAKCOLD, CREATE_LEAD.body_type)


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _rows(path: Path, **options: str) -> list[InputRow]:
    return list(open_input(path, COLDSEND_FIELDS, **options))


def test_snake_case_of_headers() -> None:
    assert [snake_case(h) for h in ("First Name", "firstName", " E-mail ", "usersId")] == [
        "first_name",
        "first_name",
        "e_mail",
        "users_id",
    ]


def test_wire_names_come_from_the_converter() -> None:
    assert COLDSEND_FIELDS.wire_names["first_name"] == "first_name"
    assert set(COLDSEND_FIELDS.types) == {
        "email",
        "first_name",
        "last_name",
        "company",
        "custom_fields",
    }


def test_headers_map_to_fields_and_empty_cells_are_left_out(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", b"\xef\xbb\xbfEmail,First Name,Company\r\na@x.io,,Acme\r\n")
    assert _rows(path) == [InputRow(line=2, data={"email": "a@x.io", "company": "Acme"})]


def test_malformed_rows_are_numbered_and_the_good_rows_survive(tmp_path: Path) -> None:
    content = (
        b"email,first_name,company\n"
        b"good1@x.io,Ann,Acme\n"
        b'bad-quote@x.io,"Bo"b,Acme\n'
        b"short@x.io,Cy\n"
        b'"unclosed@x.io,Dee,Acme\n'
        b"good2@x.io,Eve,Acme\n"
        b"latin1@x.io,\xc9mile,Acme\n"
        b'good3@x.io,"Multi\nline",Acme\n'
        b"\n"
        b"good4@x.io,Fay,Acme\n"
    )
    rows = _rows(_write(tmp_path, "bad.csv", content))
    errors = {row.line: row.error for row in rows if row.error}
    assert errors == {
        3: "line 3: bad CSV quoting (',' expected after '\"')",
        4: "line 4: 2 columns, the header has 3",
        5: "line 5: bad CSV quoting (unexpected end of data)",
        7: "line 7: not valid UTF-8 (byte 0xC9)",
    }
    good = [(row.line, row.data["email"]) for row in rows if row.data]
    assert good == [(2, "good1@x.io"), (6, "good2@x.io"), (8, "good3@x.io"), (11, "good4@x.io")]
    assert rows[2].raw == "short@x.io,Cy\n"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_an_empty_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputFileError, match="the file is empty: a CSV needs a header row"):
        _rows(_write(tmp_path, "empty.csv", content))


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert _rows(_write(tmp_path, "h.csv", b"email,company\n")) == []


def test_unknown_columns_are_one_error_unless_sent_to_a_dict_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", b"email,Job Title,Industry\na@x.io,CTO,\n")
    with pytest.raises(InputFileError, match="columns not in the request: Job Title, Industry"):
        _rows(path)
    rows = _rows(path, extra_columns_to="custom_fields")
    assert rows[0].data == {"email": "a@x.io", "custom_fields": {"Job Title": "CTO"}}
    with pytest.raises(InputFileError, match="'nope' is not a field of the request"):
        _rows(path, extra_columns_to="nope")


def test_cells_take_the_field_type(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "b.csv",
        b"email,is_company,tags,contract_value,is_draft\na@x.io,Yes,t1; t2,1200,perhaps\n",
    )
    (row,) = open_input(path, BREAKCOLD_FIELDS)
    assert row.data == {
        "email": "a@x.io",
        "is_company": True,
        "tags": ["t1", "t2"],
        "contract_value": "1200",
        "is_draft": "perhaps",
    }


def test_jsonl_rows_and_errors(tmp_path: Path) -> None:
    content = (
        b'{"email": "a@x.io", "_leadkit": {"reason": "dropped"}}\n'
        b"not json\n"
        b"[1, 2]\n"
        b"\n"
        b'{"email": "\xff@x.io"}\n'
    )
    rows = _rows(_write(tmp_path, "r.jsonl", content))
    assert rows[0] == InputRow(line=1, data={"email": "a@x.io"})
    assert [row.error for row in rows[1:]] == [
        "line 2: not JSON (Expecting value: line 1 column 1 (char 0))",
        "line 3: expected a JSON object",
        "line 5: not valid UTF-8 (byte 0xFF)",
    ]


def test_other_file_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"expected a \.csv or \.jsonl file"):
        _rows(_write(tmp_path, "leads.xlsx", b"x"))
