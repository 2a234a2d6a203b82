"""Levensgebieden as multi-label signals, in the resident's own words.

`detect_levensgebieden(text)` returns {code: [words from the text, ...]} for every
levensgebied the message touches ("schulden en de huur is achter" -> geld and wonen). It
records signals for the conversation and the wijkteam; it never scores the
Zelfredzaamheids-Matrix.

The learned multi-label classifier (understanding/levensgebieden.py, trained on
understanding/corpus and the bot's examples) hears paraphrases; the lexicon of patterns per
code (signalen.yml) hears a domain named in so many words and gives the resident's exact
words. The bot records both (the union); the lexicon alone when the classifier is missing.

Also here: the conversation signals regieverlies, overbelast and zorg_om_ander (reasons to
offer a warm handover; learned in understanding/signalen.py, plus the lexicon), and the
language guess (understanding.language) for the replies.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

from understanding import levensgebieden as learned_levensgebieden
from understanding import signalen as learned_signalen

# The language guess lives with the rest of understanding; re-exported for the actions.
from understanding.language import detect_language as detect_language

LEXICON_FILE = Path(__file__).with_name("signalen.yml")
# A conversation has several messages and every false code stays in its record (and counts
# for the handover decision), so the bot records a learned code only this far above the
# threshold that is best for a single message (chosen on the dev dialogues and the dev NLU
# set, never on the blind sets).
RECORD_MARGIN = 0.15
# A code the lexicon hears named ("formulier", "DigiD") counts only when the classifier
# gives it at least its threshold + this: one word is evidence, not the decision.
# None: the lexicon alone decides (the old union).
# Chosen on the dev NLU set (macro-F1: union 0.889, 0.0 -> 0.896, -0.15 -> 0.898) and the
# tuning conversations (eval/tuning; levensgebieden F1 0.768 -> 0.787 for both): a short
# form answer that names its domain ("de was en het bed verschonen") still counts.
LEXICON_MARGIN: float | None = -0.15
# The same for a learned handover signal: one false signal brings an offer by itself.
# (0.15 was tried on the tuning conversations: handover 0.771 -> 0.750.)
SIGNAL_MARGIN = 0.0


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
        "levensgebieden": {code: [compile_pattern(p) for p in pats] for code, pats in data["levensgebieden"].items()},
        "signalen": {name: [compile_pattern(p) for p in pats] for name, pats in data["signalen"].items()},
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

    use_classifier: None = the learned classifier when it is available, else the lexicon;
    True = the classifier (raises when it is missing); False = the lexicon alone."""
    lexicon = detect_lexicon(text)
    if use_classifier is False or not text or text.startswith("/"):
        return lexicon
    if learned_levensgebieden.get_model(required=bool(use_classifier)) is None:
        return lexicon
    # A lexicon match is the resident naming the domain in so many words ("de was", "schulden"):
    # it counts beside the classifier, and its words are the resident's own.
    if LEXICON_MARGIN is None:
        heard = learned_levensgebieden.predict(text, margin=RECORD_MARGIN)
        return {**lexicon, **{code: words for code, words in heard.items() if code not in lexicon}}
    heard = learned_levensgebieden.predict(
        text, margin=RECORD_MARGIN, supported=tuple(lexicon), supported_margin=LEXICON_MARGIN
    )
    # The resident's exact words where the lexicon found them, the clause otherwise.
    return {code: lexicon.get(code) or words for code, words in heard.items()}


# Messages with these intents carry no hulpvraag ("ik ga dood van de hitte", "welke pil
# tegen hoofdpijn"): the label conventions give them no levensgebied. Inside the
# vraagverheldering every answer counts, whatever its intent (see the extraction action).
NO_LEVENSGEBIED_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "bot_capabilities",
        "insult",
        "nonsense",
        "out_of_scope",
        "medical_question",
        "vraag_gegevens",
        "verwijder_gegevens",
    }
)


def levensgebieden_for_message(
    text: str, intent: str | None = None, use_classifier: bool | None = None
) -> dict[str, list[str]]:
    """What the bot records for one message: detect_levensgebieden, unless the NLU says the
    message is small talk, out of scope or a medical question."""
    if intent in NO_LEVENSGEBIED_INTENTS:
        return {}
    return detect_levensgebieden(text, use_classifier=use_classifier)


def detect_signalen(text: str, use_classifier: bool | None = None) -> dict[str, list[str]]:
    """{"regieverlies": [...], "zorg_om_ander": [...]}: only the signals present. What the
    learned signals classifier (understanding/signalen.py) hears, plus what the lexicon
    hears named in so many words; use_classifier as for detect_levensgebieden."""
    lexicon = _detect("signalen", text)
    if use_classifier is False or not text or text.startswith("/"):
        return lexicon
    heard = learned_signalen.predict(text, margin=SIGNAL_MARGIN, required=bool(use_classifier))
    return {**lexicon, **{name: words for name, words in heard.items() if name not in lexicon}}
