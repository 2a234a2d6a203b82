"""The message catalogue (core/messages): Dutch and English hold the same keys and the same
placeholders, every Dutch text reads at B1, and every button title fits WhatsApp."""

from __future__ import annotations

import re
import string

import pytest

from bot.readability import measure, problems
from core.messages import catalogue, options, text


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_dutch_and_english_hold_the_same_keys_and_placeholders():
    nl, en = catalogue("nl"), catalogue("en")
    assert set(nl) == set(en)
    assert {k: placeholders(v) for k, v in nl.items()} == {k: placeholders(v) for k, v in en.items()}


SAMPLE = {
    "team": "Wijkteam Noord",
    "reference": "IAD-00012",
    "phone": "053 481 1111",
    "veilig_thuis": "0800-2000",
    "alarm": "112",
    "by_when": "maandag 7 december vóór 12:00",
    "window": "'s ochtends",
    "day": "maandag 7 december",
    "time": "12:00",
    "service": "het Geldcafé",
    "loket": "het IAD-loket",
    "hours": "ma-vr 08:30-17:00",
    "when": "vrijdag 4 december 18:49",
}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_text_reads_easily(lang):
    measured = [
        measure(key, lang, text(key, lang, **SAMPLE))
        for key in catalogue(lang)
        if ".buttons." not in key and not key.startswith("deadline.")  # fragments, not sentences
    ]
    assert len(measured) > 20
    assert [p for p in problems(measured) if not p.startswith("Dutch responses average")] == []


def test_button_titles_fit_whatsapp():
    for lang in ("nl", "en"):
        for key in {k.rsplit(".buttons.", 1)[0] for k in catalogue(lang) if ".buttons." in k}:
            assert all(len(title) <= 20 for title in options(key + ".buttons", lang).values()), key


def test_a_missing_key_fails_loudly_and_an_unknown_language_is_dutch():
    with pytest.raises(KeyError):
        text("handover.does_not_exist")
    assert text("handover.reference", "de", reference="X") == text("handover.reference", "nl", reference="X")


def test_no_crisis_number_is_written_into_the_catalogue():
    """Crisis numbers have one home (core/crisis.py and config): the catalogue takes them as placeholders."""
    for lang in ("nl", "en"):
        for key, value in catalogue(lang).items():
            assert not re.search(r"\b(112|113|0800-?\d{4})\b", value), key
