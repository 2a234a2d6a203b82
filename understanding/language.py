"""Which language a resident writes in: 'nl', 'en', or None when a message is too short to
tell. A small word-count guess: enough to answer in the resident's language; every text
exists in both (core/crisis.py, the bot's responses)."""

from __future__ import annotations

import re

from understanding.text import normalise

_EN = set(
    "the i i'm im my is are and to a an can have has you me not for with don't dont do "
    "what how please help need want would about of it this that there am was get i've "
    "we our they their he she his her your from at on in no yes hello hi thanks thank".split()
)
_NL = set(
    "ik de het een en mijn m'n niet van dat met voor heb wil kan ben er maar geen hoe wat "
    "mij zijn u je we ze op te naar nog ook al bij hebben moet kunnen jij wij hij zij hallo "
    "hoi dag bedankt dank ja nee is in".split()
)
_SHORT_EN = {"hi", "hello", "thanks", "thank you", "yes", "no", "bye", "goodbye", "please"}


def detect_language(text: str) -> str | None:
    t = normalise(text)
    if not t or t.startswith("/"):
        return None
    words = re.findall(r"[a-z']+", t)
    if not words:
        return None
    if t.strip(" !.?") in _SHORT_EN:
        return "en"
    en = sum(w in _EN for w in words)
    nl = sum(w in _NL for w in words)
    # Words in both lists ("is", "in") count for both.
    if en >= 2 and en > nl:
        return "en"
    if nl >= 1 and nl >= en:
        return "nl"
    return None
