"""No BSN, IBAN, phone number or e-mail address is ever stored from a resident's own text:
they are cut out before the message is saved or passed on to the bot, and the resident
is told why. (A callback number the bot asked for is taken out first and kept encrypted:
conversations/addresses.py.)

- IBAN: schwifty checks the country's length and the checksum; a candidate is read
  character by character across spaces, dots and dashes, so "NL 91 ABNA..." or an IBAN
  followed by a word is found.
- BSN: nine digits in any grouping ("1234.56.782", "123 456 782", "BSN-123456782"), also
  spoken as words ("een twee drie ..."), that pass the elfproef.
- Phone numbers: Google's libphonenumber (the phonenumbers package), Dutch numbers and
  international ones; e-mail addresses by their shape.
"""

from __future__ import annotations

import re

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

BSN_PLACEHOLDER = "[BSN weggehaald]"
IBAN_PLACEHOLDER = "[rekeningnummer weggehaald]"
PHONE_PLACEHOLDER = "[telefoonnummer weggehaald]"
EMAIL_PLACEHOLDER = "[e-mailadres weggehaald]"

# An IBAN may have up to three of space, dot and dash between any of its characters ("NL91
# ABNA", "NL 91 - ABNA"), also inside the country letters and check digits (speech to text
# writes "N L 9 1 A B N A ..."): schwifty's checks keep other text out. A BSN's digits may
# have up to two ("1234.56.782", "123 - 456"), and no further digit may follow or precede
# them that closely: "25-9-2024-11.00" or "€ 7.189 - 6.316" are a date and amounts.
_SEP = r"[ .\-]{0,3}"
_IBAN_START = re.compile(rf"\b[A-Z]{_SEP}[A-Z]{_SEP}\d{_SEP}\d", re.IGNORECASE)
_IBAN_NEXT = re.compile(r"[ .\-]{0,3}([A-Z0-9])", re.IGNORECASE)
_NINE_DIGITS = re.compile(r"(?<!\d)\d(?:[ .\-]{0,2}\d){8}(?!\d)")
_DIGIT_BEFORE = re.compile(r"\d[ .\-]{0,3}$")
_DIGIT_AFTER = re.compile(r"[ .\-]{0,3}\d")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_DIGIT_WORDS = {
    "nul": 0, "zero": 0, "een": 1, "één": 1, "eén": 1, "one": 1, "twee": 2, "two": 2, "drie": 3, "three": 3,
    "vier": 4, "four": 4, "vijf": 5, "five": 5, "zes": 6, "six": 6, "zeven": 7, "seven": 7, "acht": 8,
    "eight": 8, "negen": 9, "nine": 9,
}  # fmt: skip
_DIGIT_WORD = r"(?:\d|" + "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True)) + r")"
_SPOKEN_NINE = re.compile(rf"\b{_DIGIT_WORD}(?:[\s,.\-]+{_DIGIT_WORD}){{8}}\b", re.IGNORECASE)


def _bsn_is_valid(digits: list[int]) -> bool:
    """The elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a multiple of 11."""
    if len(digits) != 9 or digits[0] == 0 and digits[1] == 0:
        return False
    total = sum(w * d for w, d in zip(range(9, 1, -1), digits[:8])) - digits[8]
    return total % 11 == 0 and total != 0


def _spoken_digits(span: str) -> list[int]:
    return [int(t) if t.isdigit() else _DIGIT_WORDS[t.lower()] for t in re.findall(_DIGIT_WORD, span, re.I)]


def _iban_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for start in _IBAN_START.finditer(text):
        chars, pos, end = re.sub(r"[ .\-]", "", start.group(0)), start.end(), None
        while len(chars) < 34:
            more = _IBAN_NEXT.match(text, pos)
            if not more:
                break
            chars, pos = chars + more.group(1), more.end()
            if len(chars) >= 15:
                try:
                    IBAN(chars)
                except SchwiftyException:
                    continue
                end = pos
                break
        if end is not None and not any(s <= start.start() < e for s, e in spans):
            spans.append((start.start(), end))
    return spans


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + placeholder + text[end:]
    return text


def redact(text: str) -> tuple[str, list[str]]:
    """The text with IBANs, BSNs, e-mail addresses and phone numbers replaced, and which
    kinds were removed ("iban", "bsn", "email", "phone")."""
    removed: list[str] = []

    spans = _iban_spans(text)
    if spans:
        removed.append("iban")
        text = _replace(text, spans, IBAN_PLACEHOLDER)

    def bsn(match: re.Match) -> str:
        whole = match.string
        if _DIGIT_BEFORE.search(whole, 0, match.start()) or _DIGIT_AFTER.match(whole, match.end()):
            return match.group(0)  # nine digits out of a longer run of numbers
        # Written or spoken, the same nine digits: _spoken_digits reads both "1 2 3" and "een twee drie".
        if _bsn_is_valid(_spoken_digits(match.group(0))):
            removed.append("bsn")
            return BSN_PLACEHOLDER
        return match.group(0)

    text = _NINE_DIGITS.sub(bsn, text)
    text = _SPOKEN_NINE.sub(bsn, text)

    def email(match: re.Match) -> str:
        removed.append("email")
        return EMAIL_PLACEHOLDER

    text = _EMAIL.sub(email, text)
    phones = [
        (m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, "NL", leniency=phonenumbers.Leniency.VALID)
    ]
    if phones:
        removed.append("phone")
        text = _replace(text, phones, PHONE_PLACEHOLDER)
    return text, sorted(set(removed))


# What the resident hears, per kind removed (one sentence, then why).
_NOTICE = {
    "nl": {
        "bsn": "een BSN", "iban": "een rekeningnummer", "phone": "een telefoonnummer", "email": "een e-mailadres",
        "sentence": "Ik heb {what} uit uw bericht gehaald. Dat bewaren we niet. Deel het hier liever niet.",
        "and": " en ",
    },
    "en": {
        "bsn": "a BSN (citizen service number)", "iban": "a bank account number", "phone": "a phone number",
        "email": "an e-mail address",
        "sentence": "I removed {what} from your message. We do not keep it. Please do not share it here.",
        "and": " and ",
    },
}  # fmt: skip


def removed_notice(removed: list[str], lang: str = "nl") -> str:
    words = _NOTICE.get(lang, _NOTICE["nl"])
    names = [words[kind] for kind in ("bsn", "iban", "phone", "email") if kind in removed]
    what = ", ".join(names[:-1]) + words["and"] + names[-1] if len(names) > 1 else names[0]
    return words["sentence"].format(what=what)
