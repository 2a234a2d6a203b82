"""Levensgebieden as multi-label signals, in the resident's own words.

`detect_levensgebieden(text)` returns {code: [words from the text, ...]} for every
levensgebied the message touches ("schulden en de huur is achter" -> geld and wonen). It
records signals for the conversation and the wijkteam; it never scores the
Zelfredzaamheids-Matrix.

Two parts, measured with bot/evaluate.py:
- a lexicon of patterns per code (signalen.yml), matched on word boundaries: transparent,
  and it gives the resident's exact words;
- optionally a classifier on sentence embeddings (knowledge.embeddings), trained only on
  the project's own labelled examples in bot/data/nlu (see bot/actions/lg_classifier.py).
  It adds codes the lexicon missed; their "own words" are the clause that carried them.

Also here: the conversation signals regieverlies and zorg_om_ander (reasons to offer a
warm handover), and a small language guess (nl/en) for the replies.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

LEXICON_FILE = Path(__file__).with_name("signalen.yml")

# The classifier adds a code the lexicon missed only at this probability or above.
# Cross-validation on the own examples picks 0.7 for single messages (lg_classifier), but
# a conversation has several messages and every false code stays in its record: measured
# on the dev set, 0.8 keeps single-message macro-F1 (0.851 -> 0.857) and removes about
# half of the spurious codes in whole conversations.
CLASSIFIER_MIN_PROBABILITY = 0.8
# The classifier only reads messages that tell the question: a hulpvraag, a crisis, or an
# answer inside the vraagverheldering (intent None). Requests like "ik wil met iemand
# praten" or "ja" are lexicon only: the embeddings read "iemand" as contacten.
CLASSIFIER_INTENTS = frozenset(
    {None, "hulpvraag", "nlu_fallback", "crisis_suicide", "crisis_geweld", "crisis_acuut_gevaar",
     "crisis_dakloos_vannacht", "crisis_verward"}
)


def fold(text: str) -> str:
    """Lower case and accents off, one character for one character, so that match
    positions in the folded text are positions in the original."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in base if not unicodedata.combining(c)) or ch
        # Curly apostrophes count as straight ones ("m’n").
        base = base.replace("\u2019", "'").replace("\u2018", "'")
        out.append(base[0].lower() if len(base) >= 1 else ch.lower())
    return "".join(out)


def compile_pattern(pattern: str) -> re.Pattern:
    """Lexicon syntax -> regex: '*' = letters, ' ... ' = gap of up to 3 words,
    (a|b) groups, regex lookaheads kept."""
    p = fold(pattern.strip())
    p = p.replace(" ... ", "\u0000")
    p = re.sub(r"\((?!\?)", "(?:", p)
    p = p.replace("*", r"[\w'-]*")
    p = p.replace(" ", r"\s+")
    p = p.replace("\u0000", r"\s+(?:[^\s.!?;]+\s+){0,3}?")
    return re.compile(r"(?<![\w])(?:" + p + r")(?![\w])")


@lru_cache(maxsize=1)
def _lexicon() -> dict:
    data = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))
    return {
        "levensgebieden": {
            code: [compile_pattern(p) for p in pats]
            for code, pats in data["levensgebieden"].items()
        },
        "signalen": {
            name: [compile_pattern(p) for p in pats] for name, pats in data["signalen"].items()
        },
    }


def _matches(text: str, folded: str, patterns: list[re.Pattern]) -> list[str]:
    """The resident's own words (from `text`) where `patterns` match its folded form."""
    words: list[str] = []
    for pat in patterns:
        for m in pat.finditer(folded):
            span = text[m.start() : m.end()].strip()
            if span and span not in words:
                words.append(span)
    # Drop a match that is part of a longer match ("schulden" inside "veel schulden").
    return [w for w in words if not any(w != o and w.lower() in o.lower() for o in words)]


def _detect(section: str, text: str) -> dict[str, list[str]]:
    """Every entry of the lexicon section that the text matches, with the words it used."""
    if not text or text.startswith("/"):
        return {}
    found = {}
    folded = fold(text)  # once per message, not once per lexicon entry
    for name, patterns in _lexicon()[section].items():
        words = _matches(text, folded, patterns)
        if words:
            found[name] = words
    return found


def detect_lexicon(text: str) -> dict[str, list[str]]:
    return _detect("levensgebieden", text)


def detect_levensgebieden(text: str, use_classifier: bool | None = None) -> dict[str, list[str]]:
    """{code: [the resident's own words]} for every levensgebied the message signals.

    use_classifier: None = use the embedding classifier when it is trained and the
    embedding model is available; True/False to force (for evaluation)."""
    found = detect_lexicon(text)
    if use_classifier is False or not text or text.startswith("/"):
        return found
    from bot.actions import lg_classifier

    clf = lg_classifier.get_classifier(required=bool(use_classifier))
    if clf is None:
        return found
    for code, words in clf.predict(text, threshold=max(clf.threshold, CLASSIFIER_MIN_PROBABILITY)).items():
        if code not in found:
            found[code] = words
    return found


# Messages with these intents carry no hulpvraag ("ik ga dood van de hitte", "welke pil
# tegen hoofdpijn"): the label conventions give them no levensgebied. Inside the
# vraagverheldering every answer counts, whatever its intent (see the extraction action).
NO_LEVENSGEBIED_INTENTS = frozenset(
    {"greet", "goodbye", "thanks", "bot_capabilities", "insult", "nonsense", "out_of_scope",
     "medical_question", "vraag_gegevens", "verwijder_gegevens"}
)


def levensgebieden_for_message(
    text: str, intent: str | None = None, use_classifier: bool | None = None
) -> dict[str, list[str]]:
    """What the bot records for one message: detect_levensgebieden, unless the NLU says the
    message is small talk, out of scope or a medical question."""
    if intent in NO_LEVENSGEBIED_INTENTS:
        return {}
    if intent not in CLASSIFIER_INTENTS:
        use_classifier = False
    return detect_levensgebieden(text, use_classifier=use_classifier)


def detect_signalen(text: str) -> dict[str, list[str]]:
    """{"regieverlies": [...], "zorg_om_ander": [...]}: only the signals present."""
    return _detect("signalen", text)


# --------------------------------------------------------------------- language guess

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
    """'en', 'nl', or None when the message is too short to tell."""
    t = fold(text or "").strip()
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
