"""parse_uuid gives exactly what uuid.UUID gives: the same value or the same error."""

from __future__ import annotations

import pickle
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadkit.runtime.uuids import parse_uuid

_FORMS = (
    str,
    lambda u: u.hex,
    lambda u: str(u).upper(),
    lambda u: u.urn,
    lambda u: "{" + str(u) + "}",
    lambda u: " " + u.hex + " ",
    lambda u: "0x" + u.hex[2:],
    lambda u: u.hex[:16] + "_" + u.hex[17:],
    lambda u: str(u)[:-1] + "g",
    lambda u: str(u) + "0",
    lambda u: "-".join(u.hex),
    lambda u: "{" + u.hex[:30] + "}",
    lambda u: "uuid:" + u.hex[:27],
    lambda u: "-{" + u.hex + "}",
)
"""Ways a UUID is written or miswritten; the last three have 32 characters besides hyphens
that uuid.UUID strips to fewer (or, "-{", does not strip at all)."""

_TEXT = st.one_of(
    st.builds(lambda u, form: form(u), st.uuids(), st.sampled_from(_FORMS)),
    st.text(alphabet="0123456789abcdefABCDEF-{}:urnid_ +x", min_size=28, max_size=44),
    st.text(max_size=40),
)


def _outcome(parse: type[uuid.UUID] | object, text: str) -> tuple[str, object]:
    try:
        value = parse(text)  # type: ignore[operator]
    except ValueError as exc:
        return "error", str(exc)
    assert type(value) is uuid.UUID
    return "value", (value, value.is_safe, str(value), hash(value))


@given(_TEXT)
def test_parse_uuid_agrees_with_uuid_module(text: str) -> None:
    assert _outcome(parse_uuid, text) == _outcome(uuid.UUID, text)


@pytest.mark.parametrize("form", _FORMS)
def test_every_form_agrees(form: object) -> None:
    text = form(uuid.UUID("1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"))  # type: ignore[operator]
    assert _outcome(parse_uuid, text) == _outcome(uuid.UUID, text)


def test_parsed_uuid_behaves_like_any_uuid() -> None:
    text = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
    parsed = parse_uuid(text)
    assert pickle.loads(pickle.dumps(parsed)) == uuid.UUID(text)
    assert parsed.version == 4 and {parsed: 1}[uuid.UUID(text)] == 1
    with pytest.raises(TypeError):  # immutable, as uuid.UUID is
        parsed.int = 0  # type: ignore[misc]
