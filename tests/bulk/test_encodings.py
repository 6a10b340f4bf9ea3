"""A file's encoding is found before its first row, and the whole file is read in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadkit.apis.breakcold.client import API, CREATE_LEAD
from leadkit.bulk.encodings import EncodingError, scan
from leadkit.bulk.inputs import InputFileError, input_fields, open_input

FIELDS = input_fields(API, CREATE_LEAD)
NAMES = "email,first_name,company\r\n"
WESTERN = [
    ("jose@x.io", "José", "Café Olé — 500 €"),
    ("zoe@x.io", "Zoë", "“Grün” AG"),
    ("francois@x.io", "François", "Crème & Brûlée"),
]


def _write(tmp_path: Path, text: str, encoding: str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _text(rows: list[tuple[str, str, str]]) -> str:
    return NAMES + "".join(",".join(row) + "\r\n" for row in rows)


@pytest.mark.parametrize(
    ("encoding", "name", "bom"),
    [
        ("utf-8", "UTF-8", False),
        ("utf-8-sig", "UTF-8", True),
        ("utf-16", "UTF-16", True),
        ("cp1252", "cp1252", False),
    ],
)
def test_each_encoding_is_found_and_every_row_is_read_in_it(
    tmp_path: Path, encoding: str, name: str, bom: bool
) -> None:
    opened = open_input(_write(tmp_path, _text(WESTERN), encoding), FIELDS)
    assert (opened.encoding.name, opened.encoding.bom) == (name, bom)
    rows = [(r.data["email"], r.data["first_name"], r.data["company"]) for r in opened if r.data]
    assert rows == WESTERN


def test_cp1252_is_told_from_the_code_pages_that_read_its_bytes_as_other_letters(
    tmp_path: Path,
) -> None:
    """charset-normalizer finds Windows-1250 and -1252 equally likely for these bytes (ã is ă
    in 1250): the spreadsheet's commonest one is taken."""
    path = _write(tmp_path, NAMES + "sao@x.io,São,Málaga\r\n", "cp1252")
    found, lines = scan(path)
    assert (found.codec, found.how, lines) == ("cp1252", "charset-normalizer", 2)
    (row,) = open_input(path, FIELDS)
    assert row.data == {"email": "sao@x.io", "first_name": "São", "company": "Málaga"}


def test_a_legacy_byte_late_in_a_big_file_is_read_like_the_rest(tmp_path: Path) -> None:
    """Never half-loaded: the encoding is decided on the whole file, not on its start."""
    ascii_rows = "".join(f"r{i}@x.io,Ann,Acme\r\n" for i in range(50_000))
    path = _write(tmp_path, NAMES + ascii_rows + "last@x.io,Renée,Acme\r\n", "cp1252")
    rows = list(open_input(path, FIELDS))
    assert len(rows) == 50_001 and all(row.data for row in rows)
    assert rows[-1].data == {"email": "last@x.io", "first_name": "Renée", "company": "Acme"}


def test_a_utf8_file_with_a_stray_legacy_line_keeps_utf8_and_that_row_is_invalid(
    tmp_path: Path,
) -> None:
    content = (NAMES + "a@x.io,Chloé,Acme\r\n").encode() + "b@x.io,Zoë,Acme\r\n".encode("cp1252")
    path = tmp_path / "mixed.csv"
    path.write_bytes(content)
    opened = open_input(path, FIELDS)
    assert opened.encoding.bad_lines == (3,)
    assert opened.encoding.describe() == "UTF-8; 1 line is not valid UTF-8 (line 3): invalid rows"
    good, bad = opened
    assert good.data is not None and good.data["first_name"] == "Chloé"
    assert bad.error == "line 3: not valid UTF-8 (byte 0xEB)"


def test_a_given_encoding_is_used_and_checked_on_every_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, _text(WESTERN[:1]), "cp1252")
    (row,) = open_input(path, FIELDS, encoding="latin-1")  # reads it, € and — as C1 controls
    assert row.data is not None and row.data["first_name"] == "José"
    with pytest.raises(InputFileError, match=r"leads.csv: line 2 is not utf-8: a byte there"):
        open_input(path, FIELDS, encoding="utf-8")
    with pytest.raises(InputFileError, match="--encoding klingon: Python knows no such encoding"):
        open_input(path, FIELDS, encoding="klingon")


def test_bytes_no_encoding_reads_are_refused_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"email,first_name\r\n" + bytes(range(128, 256)) * 4 + b"\x00\r\n")
    with pytest.raises(EncodingError, match="its encoding could not be found"):
        scan(path)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("ana@x.io,Directrice générale,Acme\r\n", "cp1252"),  # all at once, this is Big5
        ("lukasz@x.io,Łukasz Żółć,Kraków Spółka\r\n", "cp1250"),
        ("ivan@x.io,Иван Петров,Ромашка Москва\r\n", "cp1251"),
        ("yamada@x.io,山田 太郎,株式会社トヨタ\r\n", "shift_jis"),
        ("wang@x.io,王小明,資訊科技公司\r\n", "big5"),
    ],
)
def test_one_short_line_is_read_in_its_encoding(tmp_path: Path, text: str, encoding: str) -> None:
    """A file of one or two rows gives charset-normalizer little to go on: spreadsheet code
    pages are asked about first, every other encoding only when none of them fits."""
    (row,) = open_input(_write(tmp_path, NAMES + text, encoding), FIELDS)
    assert row.data is not None
    assert ",".join(row.data.values()) + "\r\n" == text
