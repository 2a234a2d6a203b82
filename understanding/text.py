"""One way to fold a resident's text before reading it: lower case, accents off, curly
apostrophes straight, spaces tidied ("Zelfmoord!!" -> "zelfmoord!!", "m’n" -> "m'n")."""

from __future__ import annotations

import re
import unicodedata


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("\u2019", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip()
