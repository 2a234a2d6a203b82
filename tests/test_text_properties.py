"""Properties of the text handling, checked with hypothesis on generated input rather than
on a few written examples: any valid BSN or IBAN, however it is grouped and whatever
surrounds it, is cut out; cutting out is stable (twice is once); any text at all is
handled without an error; text with no digits and no @ passes unchanged; and the chat
API keeps any text it accepts exactly as the resident wrote it (less control characters)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schwifty import IBAN

from conversations.privacy import BSN_PLACEHOLDER, IBAN_PLACEHOLDER, redact

# Words around the number: letters and ordinary punctuation, the way residents write.
WORDS = st.text(alphabet=st.characters(categories=["L", "Zs"], exclude_characters="\x85"), max_size=40)
# How residents (and speech to text) group a number: BSN digits with up to two characters
# between them, IBAN characters with up to three.
BSN_SEPARATORS = st.sampled_from(["", "", "", " ", ".", "-", "  ", ". ", "- "])
IBAN_SEPARATORS = st.sampled_from(["", "", "", " ", ".", "-", "  ", " - "])


@st.composite
def valid_bsn(draw) -> str:
    """Nine digits that pass the elfproef (9*d1 + ... + 2*d8 - d9 is a multiple of 11)."""
    first = draw(st.lists(st.integers(0, 9), min_size=8, max_size=8))
    weighted = sum(w * d for w, d in zip(range(9, 1, -1), first))
    last = weighted % 11
    # A sum of 0 (0000000 00, 010000008) passes the arithmetic but is no number ever issued.
    assume(last <= 9 and not (first[0] == 0 and first[1] == 0) and weighted != last)
    return "".join(map(str, first + [last]))


@st.composite
def grouped(draw, chars: str, separators) -> str:
    """The characters with a separator (or none) drawn between each pair."""
    out = chars[0]
    for char in chars[1:]:
        out += draw(separators) + char
    return out


@st.composite
def valid_dutch_iban(draw) -> str:
    bank = draw(st.sampled_from(["ABNA", "INGB", "RABO", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ"]))
    account = draw(st.text(alphabet="0123456789", min_size=10, max_size=10))
    iban = str(IBAN.generate("NL", bank_code=bank, account_code=account)).replace(" ", "")
    return iban if draw(st.booleans()) else iban.lower()


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@settings(max_examples=300, deadline=None)
@given(before=WORDS, bsn=valid_bsn(), after=WORDS, data=st.data())
def test_any_valid_bsn_in_any_grouping_is_cut_out(before, bsn, after, data):
    written = data.draw(grouped(bsn, BSN_SEPARATORS))
    text, removed = redact(f"{before} {written} {after}")
    assert "bsn" in removed and BSN_PLACEHOLDER in text
    assert bsn not in _digits(text)


@settings(max_examples=200, deadline=None)
@given(before=WORDS, iban=valid_dutch_iban(), after=WORDS, data=st.data())
def test_any_valid_iban_in_any_grouping_is_cut_out(before, iban, after, data):
    written = data.draw(grouped(iban, IBAN_SEPARATORS))
    text, removed = redact(f"{before} {written} {after}")
    assert "iban" in removed and IBAN_PLACEHOLDER in text
    assert iban[4:].upper() not in re.sub(r"[^0-9A-Z]", "", text.upper())


@st.composite
def everyday_numbers(draw) -> str:
    """Dates, times, amounts, house numbers and ranges of them, as residents write them."""
    day, month = draw(st.integers(1, 28)), draw(st.integers(1, 12))
    year, hour, minute = draw(st.integers(1950, 2030)), draw(st.integers(0, 23)), draw(st.integers(0, 59))
    amount = st.integers(1, 99_999).map(lambda n: f"{n:,}".replace(",", "."))
    one = draw(
        st.sampled_from(
            [
                f"{day}-{month}-{year}",
                f"{day}.{month}.{year}",
                f"{hour}.{minute:02d} uur",
                f"{hour}:{minute:02d}",
                f"€ {draw(amount)}",
                f"{draw(amount)} euro",
                f"in {year}",
                f"huisnummer {draw(st.integers(1, 999))}",
            ]
        )
    )
    parts = [
        one,
        *draw(
            st.lists(st.sampled_from([f"{day}-{month}-{year}", f"{draw(amount)}", f"{hour}.{minute:02d}"]), max_size=3)
        ),
    ]
    return draw(st.sampled_from([" - ", " tot ", "-", " en ", ", "])).join(parts)


@settings(max_examples=500, deadline=None)
@given(before=WORDS, numbers=everyday_numbers(), after=WORDS)
def test_dates_times_and_amounts_are_never_taken_for_a_bsn(before, numbers, after):
    assert "bsn" not in redact(f"{before} {numbers} {after}")[1]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_handled_and_cutting_out_twice_is_cutting_out_once(text):
    once, _ = redact(text)
    assert redact(once)[0] == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Nd", "Cs"], exclude_characters="@"), max_size=300))
def test_text_without_digits_or_at_signs_passes_unchanged(text):
    # Phone numbers can be written with letters on some keypads; libphonenumber reads only digits here.
    assert redact(text) == (text, [])


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@pytest.fixture
def unlimited_client(unlimited_app):
    return unlimited_app.test_client()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(exclude_categories=["Nd", "Cs"], exclude_characters="@"), max_size=200))
def test_the_chat_api_keeps_what_it_accepts_exactly_and_refuses_the_rest_clearly(unlimited_client, text):
    client = unlimited_client
    started = client.post("/api/chat/conversations")
    cid = started.get_json()["conversation_id"]
    response = client.post(f"/api/chat/conversations/{cid}/messages", json={"text": text})
    cleaned = _CONTROL.sub("", text).strip()
    if not cleaned:
        assert response.status_code == 400 and response.get_json()["error"] == "empty_message"
        return
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["message"]["text"] == cleaned
    listed = client.get(f"/api/chat/conversations/{cid}/messages").get_json()["messages"]
    assert listed[0]["sender"] == "resident" and listed[0]["text"] == cleaned
