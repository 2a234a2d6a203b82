"""What is cut out of a resident's text before it is stored or sent to the bot: every way
residents write a BSN, an IBAN, a phone number or an e-mail address; ordinary numbers stay."""

from __future__ import annotations

import pytest

from conversations.privacy import (
    BSN_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    IBAN_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    redact,
    removed_notice,
)

# 123456782 passes the elfproef; NL91ABNA0417164300 is a valid IBAN.
BSN_WRITTEN = [
    "123456782",
    "1234.56.782",
    "1234 56 782",
    "123 456 782",
    "BSN-123456782",
    "123-45-6782",
    "een twee drie vier vijf zes zeven acht twee",
    "1 2 3 4 5 6 7 8 2",
]
IBAN_WRITTEN = [
    "NL91ABNA0417164300",
    "NL91 ABNA 0417 1643 00",
    "NL91-ABNA-0417-1643-00",
    "NL91.ABNA.0417.1643.00",
    "NL91  ABNA  0417 1643 00",
    "NL 91 ABNA 0417 1643 00",
    "nl91abna0417164300",
]


@pytest.mark.parametrize("written", BSN_WRITTEN)
def test_a_bsn_in_any_writing_is_cut_out(written):
    text, removed = redact(f"mijn nummer is {written} hoor")
    assert BSN_PLACEHOLDER in text and removed == ["bsn"]
    assert not any(ch.isdigit() for ch in text) and "zeven" not in text and text.endswith(" hoor")


@pytest.mark.parametrize("written", IBAN_WRITTEN)
def test_an_iban_in_any_writing_is_cut_out_also_before_a_word(written):
    for after in (" graag", "graag", ". Dank u"):
        text, removed = redact(f"rekening {written}{after}")
        assert text == f"rekening {IBAN_PLACEHOLDER}{after}" and removed == ["iban"]


@pytest.mark.parametrize(
    "text,kind,placeholder",
    [
        ("bel me op 06-12345678 na vijf", "phone", PHONE_PLACEHOLDER),
        ("mijn nummer +31 6 1234 5678", "phone", PHONE_PLACEHOLDER),
        ("thuis 053 481 1234", "phone", PHONE_PLACEHOLDER),
        ("mail naar jan.de.vries+loket@voorbeeld.nl graag", "email", EMAIL_PLACEHOLDER),
    ],
)
def test_phone_numbers_and_email_addresses_are_cut_out(text, kind, placeholder):
    clean, removed = redact(text)
    assert placeholder in clean and removed == [kind]
    assert not any(ch.isdigit() for ch in clean.replace(placeholder, "")) or kind == "email"


@pytest.mark.parametrize(
    "text",
    [
        "ik heb 3 kinderen van 4, 7 en 12 jaar",
        "ik woon op nummer 123 en verdien 1500 euro",
        "postcode 7511 AB",
        "het is 2026-12-03 om 14:30",
        "Ik heb €12.345,67 schuld bij 4 schuldeisers",
        "mijn bsn is 123456789",  # fails the elfproef: not a BSN
        "NL91ABNA0417164301",  # wrong checksum: not an IBAN
    ],
)
def test_ordinary_numbers_stay(text):
    assert redact(text) == (text, [])


def test_the_resident_hears_what_was_removed_in_their_language():
    assert removed_notice(["bsn"], "nl").startswith("Ik heb een BSN uit uw bericht gehaald.")
    assert "een telefoonnummer en een e-mailadres" in removed_notice(["email", "phone"], "nl")
    assert removed_notice(["iban"], "en").startswith("I removed a bank account number")
