"""Column mapping: names, the spec's aliases, the user's --map/--ignore/--set, the rest."""

from __future__ import annotations

import pytest

from leadkit.apis.breakcold.client import API as BREAKCOLD
from leadkit.apis.breakcold.client import CREATE_LEAD
from leadkit.apis.coldsend.client import ADD_LEAD
from leadkit.apis.coldsend.client import API as COLDSEND
from leadkit.bulk.cells import BadValue
from leadkit.bulk.columns import ColumnOptions, ColumnPlan, KeyPlan, Kind, MappingError, Target
from leadkit.bulk.inputs import input_fields

BREAKCOLD_FIELDS = input_fields(BREAKCOLD, CREATE_LEAD)
COLDSEND_FIELDS = input_fields(COLDSEND, ADD_LEAD)


def _plan(header: list[str], coldsend: bool = False, **options: object) -> ColumnPlan:
    fields = COLDSEND_FIELDS if coldsend else BREAKCOLD_FIELDS
    return ColumnPlan(header, fields, ColumnOptions(**options))  # type: ignore[arg-type]


def test_the_generated_operations_carry_the_specs_column_declarations() -> None:
    assert "Job Title" in CREATE_LEAD.column_aliases["company_role"]
    assert "Person Linkedin Url" in CREATE_LEAD.column_aliases["linkedin_url"]
    assert CREATE_LEAD.extra_columns is None
    assert ADD_LEAD.extra_columns == "custom_fields"
    assert set(ADD_LEAD.column_aliases) == {"email", "first_name", "last_name", "company"}


def test_names_and_aliases_match_whatever_their_case_spacing_and_punctuation() -> None:
    header = ["E-MAIL ADDRESS", "firstName", "last-name", "job_title", "Company / Account"]
    plan = _plan(header)
    assert [(c.target, c.how) for c in plan.columns] == [
        (Target("email"), "alias"),
        (Target("first_name"), "name"),
        (Target("last_name"), "name"),
        (Target("company_role"), "alias"),
        (Target("company"), "alias"),
    ]
    assert plan.row(["a@x.io", "Ann", "Lee", "CTO", "Acme"]) == {
        "email": "a@x.io",
        "first_name": "Ann",
        "last_name": "Lee",
        "company_role": "CTO",
        "company": "Acme",
    }


def test_a_field_of_several_columns_takes_the_first_filled_one_of_each_row() -> None:
    plan = _plan(["Email", "Corporate Phone", "Mobile Phone", "Phone"])
    backups = {c.name: c.backs_up for c in plan.columns}
    assert backups == {"Email": None, "Corporate Phone": "Phone", "Mobile Phone": "Phone",
                       "Phone": None}  # fmt: skip
    assert plan.row(["a@x.io", "3", "2", "1"])["phone"] == "1"  # the name before any alias
    assert plan.row(["a@x.io", "3", "2", ""])["phone"] == "2"  # then the aliases, in order
    assert plan.row(["a@x.io", "3", "", " "])["phone"] == "3"
    assert "'Mobile Phone' -> phone where 'Phone' is empty (alias)" in plan.describe()


def test_a_column_that_matches_a_field_never_goes_to_the_extra_object() -> None:
    plan = _plan(["Email", "Company Name", "Title", "Industry"], coldsend=True)
    assert plan.row(["a@x.io", "Acme", "CTO", "Retail"]) == {
        "email": "a@x.io",
        "company": "Acme",
        "custom_fields": {"Title": "CTO", "Industry": "Retail"},
    }


def test_without_an_extra_object_unmatched_columns_are_listed_with_their_likely_field() -> None:
    plan = _plan(["Email", "Compnay", "Industry", "Job Titel"])
    assert [c.describe() for c in plan.unsent] == [
        "'Compnay': not sent; did you mean company? --map \"Compnay=company\"",
        "'Industry': not sent (no field is like it)",
        "'Job Titel': not sent; did you mean company_role? --map \"Job Titel=company_role\"",
    ]
    assert plan.row(["a@x.io", "Acme", "Retail", "CTO"]) == {"email": "a@x.io"}
    with pytest.raises(MappingError, match=r"--strict-columns: columns not sent: 'Compnay'"):
        _plan(["Email", "Compnay"], strict=True)


def test_the_users_word_wins() -> None:
    header = ["Email", "Title", "Industry", "Notes", "Company Name"]
    plan = _plan(
        header,
        maps={"title": "contract_name", "Industry": "attributes.attr_42", "Notes": None},
    )
    kinds = {c.name: (c.kind, c.target, c.how) for c in plan.columns}
    assert kinds["Title"] == (Kind.FIELD, Target("contract_name"), "--map")
    assert kinds["Industry"] == (Kind.EXTRA, Target("attributes", "attr_42"), "--map")
    assert kinds["Notes"] == (Kind.IGNORED, None, "--ignore")
    row = plan.row(["a@x.io", "CTO", "Retail", "call back", "Acme"])
    assert row == {
        "email": "a@x.io",
        "contract_name": "CTO",
        "attributes": {"attr_42": "Retail"},
        "company": "Acme",
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"maps": {"Nope": "company"}}, "the header has no column 'Nope' (--map, --ignore)"),
        ({"maps": {"Title": "job"}}, "--map Title=job: 'job' is not a field of the request"),
        ({"maps": {"Title": "comapny"}}, "'comapny' is not a field of the request; did you "
         "mean company?"),
        ({"maps": {"Title": "company.x"}}, "--map Title=company.x: company is not an object "
         "field, so it has no keys"),
        ({"maps": {"Title": "attributes."}}, "name the key after attributes."),
        ({"constants": {"is_company": "maybe"}}, "--set is_company=maybe: 'maybe' is not a "
         "boolean (true/false, yes/no or 1/0)"),
        ({"constants": {"company": "Acme"}}, "--set company and the column 'Company Name' both "
         "give company; --ignore 'Company Name' or leave out --set"),
        ({"extra_to": "company"}, "--extra-columns-to 'company' is not an object field"),
    ],
)  # fmt: skip
def test_options_that_cannot_work_are_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(MappingError) as raised:
        _plan(["Email", "Title", "Company Name"], **options)
    assert message in str(raised.value)


def test_set_gives_every_row_a_value_read_as_a_cell() -> None:
    plan = _plan(
        ["Email"],
        constants={"tags": "webinar; q3", "is_company": "No", "attributes.source": "fair"},
    )
    assert plan.row(["a@x.io"]) == {
        "email": "a@x.io",
        "tags": ["webinar", "q3"],
        "is_company": False,
        "attributes": {"source": "fair"},
    }
    assert plan.describe()[-3:] == [
        "--set tags = ['webinar', 'q3']",
        "--set is_company = False",
        "--set attributes['source'] = 'fair'",
    ]


def test_booleans_take_six_words_in_any_case() -> None:
    plan = _plan(["Email", "Is Company"])
    values = [plan.row(["a@x.io", word])["is_company"] for word in ("YES", "no", "1", "False")]
    assert values == [True, False, True, False]
    with pytest.raises(BadValue, match=r"column 'Is Company': 'y' is not a boolean"):
        plan.row(["a@x.io", "y"])


def test_a_failures_files_own_columns_are_left_out_and_its_unread_rows_recognised() -> None:
    plan = _plan(["Email", "Company", "line", "error"])
    assert [c.how for c in plan.columns[2:]] == ["a failures file's own column"] * 2
    assert plan.row(["a@x.io", "Acme", "7", "400 bad"]) == {"email": "a@x.io", "company": "Acme"}
    assert plan.unread_before(["", "", "9", "bad CSV quoting; as read: x"]) == (
        "bad CSV quoting; as read: x"
    )
    assert plan.unread_before(["a@x.io", "", "9", "400"]) is None
    mapped = _plan(["Email", "error"], maps={"error": "contract_name"})
    assert mapped.row(["a@x.io", "x"]) == {"email": "a@x.io", "contract_name": "x"}


def test_spreadsheet_padding_is_accepted_but_not_a_shifted_row() -> None:
    plan = _plan(["Email", "Company", "", ""])
    assert plan.row(["a@x.io", "Acme"]) == {"email": "a@x.io", "company": "Acme"}
    assert plan.row(["a@x.io", "Acme", "", "", "", " "]) == {"email": "a@x.io", "company": "Acme"}
    with pytest.raises(BadValue, match="1 columns, the header has 4"):
        plan.row(["a@x.io"])
    with pytest.raises(BadValue, match="5 columns, the header has 4"):
        plan.row(["a@x.io", "Acme", "", "", "late"])
    with pytest.raises(BadValue, match="column 3 has a value but no name"):
        plan.row(["a@x.io", "Acme", "x", ""])


def test_jsonl_keys_follow_the_same_rules() -> None:
    keys = KeyPlan(COLDSEND_FIELDS, ColumnOptions(maps={"Notes": None}))
    row = keys.row({"Email": "a@x.io", "Company Name": "Acme", "Title": "CTO", "Notes": "x",
                    "custom_fields": {"tier": 1}})  # fmt: skip
    assert row == {
        "email": "a@x.io",
        "company": "Acme",
        "custom_fields": {"tier": 1, "Title": "CTO"},
    }
    keys = KeyPlan(BREAKCOLD_FIELDS, ColumnOptions(constants={"tags": "webinar"}))
    assert keys.row({"email": "a@x.io", "Industry": "x"}) == {
        "email": "a@x.io",
        "Industry": "x",  # no field, no extra object: validation names it
        "tags": ["webinar"],
    }
    assert keys.row({"email": "a@x.io", "tags": ["webinar"]})["tags"] == ["webinar"]
    with pytest.raises(BadValue, match=r"'tags' is \['other'\] here, but --set gives"):
        keys.row({"email": "a@x.io", "tags": ["other"]})
