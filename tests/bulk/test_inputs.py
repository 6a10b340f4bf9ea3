"""CSV and JSONL input: header mapping, typed cells, row-numbered errors that never stop a file."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit.apis.breakcold.client import API as BREAKCOLD
from leadkit.apis.breakcold.client import CREATE_LEAD
from leadkit.apis.coldsend.client import ADD_LEAD
from leadkit.apis.coldsend.client import API as COLDSEND
from leadkit.bulk.columns import ColumnOptions, header_key
from leadkit.bulk.inputs import (
    MAX_RECORD_LINES,
    InputFileError,
    InputRow,
    open_input,
    request_fields,
)

COLDSEND_FIELDS = request_fields(COLDSEND, ADD_LEAD.body_type)
BREAKCOLD_FIELDS = request_fields(BREAKCOLD, CREATE_LEAD.body_type)


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _rows(path: Path, extra_to: str | None = None) -> list[InputRow]:
    return list(open_input(path, COLDSEND_FIELDS, options=ColumnOptions(extra_to=extra_to)))


def test_header_keys_ignore_case_accents_spaces_and_punctuation() -> None:
    names = ("First Name", "firstName", " first-name ", "FIRST_NAME", "Prénom", "# Employees")
    assert [header_key(name) for name in names] == [
        "firstname",
        "firstname",
        "firstname",
        "firstname",
        "prenom",
        "employees",
    ]
    assert header_key("名前") == "名前"
    assert header_key(" # ") == "#"


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
        b"utf8@x.io,\xc3\x89mile,Acme\n"
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
    }
    good = [(row.line, row.data["email"]) for row in rows if row.data]
    assert good == [
        (2, "good1@x.io"),
        (6, "good2@x.io"),
        (7, "utf8@x.io"),
        (8, "good3@x.io"),
        (11, "good4@x.io"),
    ]
    assert rows[5].data is not None and rows[5].data["first_name"] == "Émile"
    assert rows[2].raw == "short@x.io,Cy\n"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
@pytest.mark.parametrize(
    ("name", "message"),
    [("empty.csv", "a CSV needs a header row"), ("empty.jsonl", "a JSONL file needs a row")],
)
def test_an_empty_file_is_an_error(tmp_path: Path, content: bytes, name: str, message: str) -> None:
    with pytest.raises(InputFileError, match=f"empty.*: the file is empty: {message}"):
        open_input(_write(tmp_path, name, content), COLDSEND_FIELDS)


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert _rows(_write(tmp_path, "h.csv", b"email,company\n")) == []


def test_unknown_columns_are_not_sent_unless_an_object_field_takes_them(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", b"email,Job Title,Industry\na@x.io,CTO,\n")
    opened = open_input(path, COLDSEND_FIELDS)
    assert opened.columns is not None
    assert [column.name for column in opened.columns.unsent] == ["Job Title", "Industry"]
    assert [row.data for row in opened] == [{"email": "a@x.io"}]
    rows = _rows(path, extra_to="custom_fields")
    assert rows[0].data == {"email": "a@x.io", "custom_fields": {"Job Title": "CTO"}}
    with pytest.raises(InputFileError, match="--extra-columns-to 'nope' is not an object field"):
        _rows(path, extra_to="nope")
    with pytest.raises(InputFileError, match="'first_name' is not an object field"):
        _rows(path, extra_to="first_name")


def test_unknown_jsonl_keys_go_to_the_dict_field_when_asked(tmp_path: Path) -> None:
    lines = [
        {"email": "a@x.io", "Job Title": "CTO", "custom_fields": {"tier": 1}},
        {"email": "b@x.io", "Job Title": "CEO", "custom_fields": "not an object"},
    ]
    path = _write(tmp_path, "x.jsonl", "\n".join(json.dumps(x) for x in lines).encode())
    assert [r.data for r in _rows(path)] == lines, "without the option, validation names them"
    rows = _rows(path, extra_to="custom_fields")
    assert rows[0].data == {"email": "a@x.io", "custom_fields": {"tier": 1, "Job Title": "CTO"}}
    assert rows[1].data == lines[1], "kept beside a field that is not an object"
    with pytest.raises(InputFileError, match="'nope' is not an object field"):
        _rows(path, extra_to="nope")


def test_cells_take_the_field_type(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "b.csv",
        b"email,is_company,tags,contract_value,is_draft\n"
        b"a@x.io,Yes,t1; t2,1200,0\n"
        b"b@x.io,TRUE,,,perhaps\n",
    )
    good, bad = open_input(path, BREAKCOLD_FIELDS)
    assert good.data == {
        "email": "a@x.io",
        "is_company": True,
        "tags": ["t1", "t2"],
        "contract_value": "1200",
        "is_draft": False,
    }
    assert bad.error == (
        "line 3: column 'is_draft': 'perhaps' is not a boolean (true/false, yes/no or 1/0)"
    )


def test_a_list_separator_other_than_a_semicolon(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.csv", b"email,tags\na@x.io,t1|t2 ; x\n")
    options = ColumnOptions(list_separator="|")
    (row,) = open_input(path, BREAKCOLD_FIELDS, options=options)
    assert row.data == {"email": "a@x.io", "tags": ["t1", "t2 ; x"]}


def test_jsonl_rows_and_errors(tmp_path: Path) -> None:
    content = (
        b'{"email": "a@x.io", "_leadkit": {"reason": "dropped"}}\n'
        b"not json\n"
        b"[1, 2]\n"
        b"\n"
        b'{"email": "\xc3\xbf@x.io"}\n'
        b'{"email": "\xff@x.io", "first_name": "\xc3\xa9"}\n'
    )
    rows = _rows(_write(tmp_path, "r.jsonl", content))
    assert rows[0] == InputRow(line=1, data={"email": "a@x.io"})
    assert rows[3] == InputRow(line=5, data={"email": "ÿ@x.io"})
    assert [row.error for row in rows[1:] if row.error] == [
        "line 2: not JSON (Expecting value: line 1 column 1 (char 0))",
        "line 3: expected a JSON object",
        "line 6: not valid UTF-8 (byte 0xFF)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[\n  {"email": "a@x.io"},\n  {"email": "b@x.io"}\n]\n',
         "holds a JSON array, not one JSON object per line (JSONL); "
         "convert it with: jq -c '.[]' DIR/leads.jsonl > leads.lines.jsonl"),
        (b'\xef\xbb\xbf\n[{"email": "a@x.io"}, {"email": "b@x.io"}]',
         "holds a JSON array, not one JSON object per line"),
        (b'{\n  "email": "a@x.io"\n}\n{\n  "email": "b@x.io"\n}\n',
         "holds JSON written over many lines, not one JSON object per line (JSONL); "
         "convert it with: jq -c . DIR/leads.jsonl > leads.lines.jsonl"),
    ],
    ids=["array", "array-on-one-line-after-a-bom", "objects-over-many-lines"],
)  # fmt: skip
def test_a_jsonl_file_of_plain_json_says_how_to_convert_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = _write(tmp_path, "leads.jsonl", content)
    with pytest.raises(InputFileError) as raised:
        _rows(path)
    assert str(raised.value).startswith(f"{path}: {message.replace('DIR', str(tmp_path))}")


def test_other_file_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"expected a \.csv or \.jsonl file"):
        _rows(_write(tmp_path, "leads.xlsx", b"x"))


def test_a_quote_inside_an_unquoted_field_loses_no_row(tmp_path: Path) -> None:
    content = b'email,company\na@x.io,5" Displays\nb@x.io,7" Screens\nc@x.io,Acme\n'
    rows = _rows(_write(tmp_path, "q.csv", content))
    assert [(row.line, row.data) for row in rows] == [
        (2, {"email": "a@x.io", "company": '5" Displays'}),
        (3, {"email": "b@x.io", "company": '7" Screens'}),
        (4, {"email": "c@x.io", "company": "Acme"}),
    ]


def test_a_quote_inside_the_header_loses_no_row(tmp_path: Path) -> None:
    content = b'email,Size"\na@x.io,5\nb@x.io,7" x\nc@x.io,1\n'
    rows = _rows(_write(tmp_path, "h.csv", content), extra_to="custom_fields")
    assert [(row.line, row.data) for row in rows] == [
        (2, {"email": "a@x.io", "custom_fields": {'Size"': "5"}}),
        (3, {"email": "b@x.io", "custom_fields": {'Size"': '7" x'}}),
        (4, {"email": "c@x.io", "custom_fields": {'Size"': "1"}}),
    ]


def test_a_multiline_record_with_wrong_columns_is_one_invalid_row(tmp_path: Path) -> None:
    content = b'email,first_name,company\na@x.io,"Two\nlines"\nb@x.io,Bo,Acme\n'
    rows = _rows(_write(tmp_path, "m.csv", content))
    assert [(row.line, row.error) for row in rows] == [
        (2, "line 2: 2 columns, the header has 3"),
        (4, None),
    ]
    assert rows[0].raw == 'a@x.io,"Two\nlines"\n'


def test_an_unclosed_quote_is_cut_after_max_record_lines(tmp_path: Path) -> None:
    body = "".join(f"r{i}@x.io,Acme\n" for i in range(MAX_RECORD_LINES + 5))
    rows = _rows(_write(tmp_path, "u.csv", f'email,company\n"open@x.io,Acme\n{body}'.encode()))
    assert rows[0].error == "line 2: bad CSV quoting (unexpected end of data)"
    assert [row.line for row in rows[1:]] == list(range(3, MAX_RECORD_LINES + 8))


def _physical_lines(text: str) -> list[str]:
    """The lines the reader sees: split after \\n, \\r\\n or \\r, nothing translated."""
    return io.StringIO(text, newline="").readlines()


def _record_starts(lines: list[str]) -> list[tuple[int, list[str]]] | None:
    """(index of first line, cells) of each record csv.reader finds with a non-blank cell (a
    row of empty cells is a spreadsheet's empty row); None on an error."""
    reader = csv.reader(iter(lines), strict=True)
    records, start = [], 0
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((start, cells))
            start = reader.line_num
    except csv.Error:
        return None
    return records


def _written(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue()


_TEXT = 'ab ,"\n\r'
"""Quotes, commas and line ends: the characters that decide where CSV records end."""
_WRITTEN = st.lists(st.lists(st.text(_TEXT, max_size=5), min_size=1, max_size=3), max_size=6)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_WRITTEN.map(lambda rows: "".join(map(_written, rows))), st.text(_TEXT)))
def test_every_line_is_in_exactly_one_row(
    tmp_path_factory: pytest.TempPathFactory, body: str
) -> None:
    """A row is a record csv.reader reads whole, or one line whose quoting is broken.

    So for any text, the lines from one row's first line to the next row's (blank lines and
    rows of empty cells aside) are exactly one csv record, or one line reported as badly
    quoted: no line is
    skipped, no record swallows its neighbour. Where csv.reader reads the whole text, the
    rows start where its non-blank records start.
    """
    path = tmp_path_factory.mktemp("p") / "p.csv"
    path.write_bytes(("email,company\n" + body).encode())
    rows = _rows(path)
    lines = _physical_lines(body)
    starts = [row.line - 2 for row in rows]
    assert starts == sorted(set(starts))
    bounds = [*starts, len(lines)]
    assert _record_starts(lines[: bounds[0]]) == []
    for row, (start, end) in zip(rows, itertools.pairwise(bounds), strict=True):
        span = lines[start:end]
        if row.error is not None and "bad CSV quoting" in row.error:
            assert _record_starts(span[1:]) == [], (row, span)
            continue
        records = _record_starts(span)
        assert records is not None and len(records) == 1, (row, span)
        if row.data is not None:  # cells past the header's may be there, empty
            cells = records[0][1]
            assert not any(cell.strip() for cell in cells[2:])
            assert row.data == {
                k: v.strip()
                for k, v in zip(("email", "company"), cells[:2], strict=True)
                if v.strip()
            }
    whole = _record_starts(lines)
    if whole is not None and len(lines) < MAX_RECORD_LINES:
        assert starts == [start for start, _ in whole]


def test_repeated_extra_columns_are_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", b"email,Notes,notes\na@x.io,1,2\n")
    with pytest.raises(InputFileError, match="the header repeats a column: 'Notes', 'notes'"):
        _rows(path, extra_to="custom_fields")


def test_repeated_request_columns_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="the header repeats a column: 'Email', 'email'"):
        _rows(_write(tmp_path, "d.csv", b"Email, email \na@x.io,b@x.io\n"))


DEEP = "[" * 200_000


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"email": "b\\ud800@x.io"}', "the escape \\ud800 is half a surrogate pair"),
        ('{"email": "a@x.io", "tags": ["\\udfff"]}', "the escape \\udfff is half a surrogate"),
        (DEEP, "nested too deeply"),
    ],
)
def test_jsonl_rows_no_request_can_carry_are_invalid(
    tmp_path: Path, line: str, reason: str
) -> None:
    content = f'{{"email": "a@x.io"}}\n{line}\n{{"email": "\\ud83d\\ude00@x.io"}}\n'
    rows = _rows(_write(tmp_path, "s.jsonl", content.encode()))
    assert [row.line for row in rows] == [1, 2, 3]
    assert rows[1].error is not None and rows[1].error.startswith(f"line 2: {reason}")
    assert rows[2].data == {"email": "\U0001f600@x.io"}


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ('"{""a"": ""\\ud800""}"', "column 'custom_fields': the escape \\ud800 is half"),
        ("[" * 100_000, "column 'custom_fields': nested too deeply"),
    ],
)
def test_csv_cells_no_request_can_carry_are_invalid(tmp_path: Path, cell: str, reason: str) -> None:
    content = f"email,custom_fields\na@x.io,{cell}\nb@x.io,{{}}\n".encode()
    rows = _rows(_write(tmp_path, "c.csv", content))
    assert rows[0].error is not None and rows[0].error.startswith(f"line 2: {reason}")
    assert rows[1].data == {"email": "b@x.io", "custom_fields": {}}


# --- what real spreadsheet exports look like ------------------------------------------------


def test_a_quoted_field_of_many_lines_is_one_row(tmp_path: Path) -> None:
    thread = "\n".join(f"> line {i}" for i in range(150)) + "\ncarol@forwarded.example,Carol"
    content = f'email,company\na@x.io,"{thread}"\nb@x.io,Beta\n'.encode()
    rows = _rows(_write(tmp_path, "t.csv", content))
    assert [(row.line, row.data) for row in rows] == [
        (2, {"email": "a@x.io", "company": thread}),
        (153, {"email": "b@x.io", "company": "Beta"}),
    ]


def test_a_field_longer_than_csvs_default_limit_is_read(tmp_path: Path) -> None:
    notes = "x" * 200_000
    content = f'email,company\na@x.io,"{notes}"\nb@x.io,{notes}\n'.encode()
    rows = _rows(_write(tmp_path, "b.csv", content))
    assert [row.data for row in rows] == [
        {"email": "a@x.io", "company": notes},
        {"email": "b@x.io", "company": notes},
    ]


def test_empty_rows_are_skipped_and_cells_are_trimmed(tmp_path: Path) -> None:
    content = b"email,company\r\n a@x.io , Acme \r\n,,\r\n , \r\nb@x.io,\r\n"
    rows = _rows(_write(tmp_path, "e.csv", content))
    assert [(row.line, row.data) for row in rows] == [
        (2, {"email": "a@x.io", "company": "Acme"}),
        (5, {"email": "b@x.io"}),
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"email;company\r\na@x.io;Acme, Inc\r\n",
        b"sep=;\r\nemail;company\r\na@x.io;Acme, Inc\r\n",
        b"email\tcompany\na@x.io\tAcme, Inc\n",
    ],
)
def test_a_semicolon_or_tab_separated_file_is_read(tmp_path: Path, content: bytes) -> None:
    (row,) = _rows(_write(tmp_path, "s.csv", content))
    assert row.data == {"email": "a@x.io", "company": "Acme, Inc"}


def test_a_header_with_no_field_of_the_request_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "n.csv", b"Email Address,Given Name\na@x.io,Ann\n")
    with pytest.raises(InputFileError, match="no column is a field of the request"):
        _rows(path, extra_to="custom_fields")


def test_headers_in_any_script_and_unnamed_columns(tmp_path: Path) -> None:
    content = "email,名前,会社,,\na@x.io,太郎,トヨタ,,\nb@x.io,花子,,,late\n".encode()
    rows = _rows(_write(tmp_path, "u.csv", content), extra_to="custom_fields")
    assert rows[0].data == {"email": "a@x.io", "custom_fields": {"名前": "太郎", "会社": "トヨタ"}}
    assert rows[1].error == "line 3: column 5 has a value but no name in the header"


def test_utf16_and_cp1252_files_are_read_whole(tmp_path: Path) -> None:
    utf16 = "email,company\r\na@x.io,Café\r\n".encode("utf-16")
    (row,) = _rows(_write(tmp_path, "w.csv", utf16))
    assert row.data == {"email": "a@x.io", "company": "Café"}
    cp1252 = "email,Société\r\na@x.io,Acme\r\n".encode("cp1252")
    (row,) = _rows(_write(tmp_path, "c.csv", cp1252), extra_to="custom_fields")
    assert row.data == {"email": "a@x.io", "custom_fields": {"Société": "Acme"}}


def test_a_utf8_file_with_a_broken_header_says_how_to_go_on(tmp_path: Path) -> None:
    content = "email,Société\na@x.io,Café\nb@x.io,Thé\n".encode().replace(b"\xc3\xa9t", b"\xe9t")
    with pytest.raises(InputFileError, match=r"cannot read the header: not valid UTF-8 \(byte "
                       r"0xE9\); give its encoding with --encoding NAME"):  # fmt: skip
        _rows(_write(tmp_path, "b.csv", content), extra_to="custom_fields")


def test_a_failures_file_row_that_was_never_read_stays_unread_with_its_text(
    tmp_path: Path,
) -> None:
    meta = {"line": 201, "outcome": "invalid", "reason": "line 201: 4 columns, the header has 6"}
    lines = [{"_leadkit": {**meta, "raw": "a@x.io,Ann\n"}}, {"email": "b@x.io", "_leadkit": meta}]
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    unread, fixed = _rows(_write(tmp_path, "failed.jsonl", content))
    assert unread.error == (
        "line 1: an earlier load could not send it (line 201: 4 columns, the header has 6); "
        "fix it in the source file"
    )
    assert unread.raw == "a@x.io,Ann\n"
    assert fixed.data == {"email": "b@x.io"}
