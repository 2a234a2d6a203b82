"""Short answers to a yes/no question ("ja", "nee hoor", "yes", "weet ik niet"), typed,
spoken or clicked. Ambivalence counts as yes for a safety question: when in doubt the
resident gets the crisis help, which costs a line of text; a miss can cost a life."""

from __future__ import annotations

import re

from understanding.text import normalise

YES, NO = "yes", "no"

_YES = re.compile(
    r"^(ja+|jawel|jazeker|jep|jup|yes|yeah|yep|ya|klopt|dat klopt|zeker|inderdaad|misschien|soms|"
    r"een beetje|beetje|ik denk het|denk het wel|weet (ik )?niet|weet het niet|geen idee|i don'?t know|"
    r"maybe|sometimes|kinda|sort of|true|correct|wel|helaas wel|eigenlijk wel)\b"
)
_NO = re.compile(
    r"^(nee+|neen|nein|no+|nope|nah|niet|helemaal niet|zeker niet|echt niet|nee hoor|not at all|"
    r"absoluut niet|niks aan de hand|gaat (wel )?goed|het gaat wel|i'?m fine|i am fine|im ok|ik ben ok|"
    r"geen zorgen|no worries)\b"
)


def _fold(text: str) -> str:
    """Folded, without a leading "eh"/"nou" and without punctuation."""
    text = re.sub(r"^(eh+|uh+m*|uhm+|ehm+|nou|tja|hmm+|o+k*)[\s,.]+", "", normalise(text))
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


def yes_or_no(text: str) -> str | None:
    """YES, NO, or None when the message is not a short answer."""
    t = (text or "").strip()
    if t in ("/affirm", "1"):
        return YES
    if t in ("/deny", "2"):
        return NO
    folded = _fold(t)
    if not folded or len(folded.split()) > 8:
        return None
    if _NO.match(folded):
        return NO
    if _YES.match(folded):
        return YES
    return None
