"""No BSN or IBAN is ever stored: they are cut out of resident messages before the
message is saved or passed on, and the resident is told why."""

from __future__ import annotations

import re

_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
_NINE_DIGITS = re.compile(r"(?<![\d-])(\d{3}[ .-]?\d{2}[ .-]?\d{2}[ .-]?\d{2}|\d{9})(?![\d-])")

BSN_PLACEHOLDER = "[BSN weggehaald]"
IBAN_PLACEHOLDER = "[rekeningnummer weggehaald]"


def _iban_is_valid(candidate: str) -> bool:
    s = re.sub(r"\s", "", candidate).upper()
    if not (15 <= len(s) <= 34):
        return False
    rearranged = s[4:] + s[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def _bsn_is_valid(candidate: str) -> bool:
    """The elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a multiple of 11."""
    digits = [int(d) for d in re.sub(r"\D", "", candidate)]
    if len(digits) != 9 or digits[0] == 0 and digits[1] == 0:
        return False
    total = sum(w * d for w, d in zip(range(9, 1, -1), digits[:8])) - digits[8]
    return total % 11 == 0 and total != 0


def redact(text: str) -> tuple[str, list[str]]:
    """Returns the text with BSNs and IBANs replaced, and which kinds were removed."""
    removed: list[str] = []

    def iban(match: re.Match) -> str:
        if _iban_is_valid(match.group(0)):
            removed.append("iban")
            return IBAN_PLACEHOLDER
        return match.group(0)

    def bsn(match: re.Match) -> str:
        if _bsn_is_valid(match.group(0)):
            removed.append("bsn")
            return BSN_PLACEHOLDER
        return match.group(0)

    text = _IBAN.sub(iban, text)
    text = _NINE_DIGITS.sub(bsn, text)
    return text, sorted(set(removed))
