"""B1 readability of every bot response in the domain (bot/domain/*.yml).

Residents first: every reply must be Dutch at B1 level (short sentences, common words).
We measure each response variation, with its {placeholders} filled with realistic values:

- words per sentence: B1 writing guides (Direct Duidelijk, Stichting Makkelijk Lezen)
  advise about 10 words on average and at most 15-20 in one sentence;
- Flesch-Douma (the Dutch Flesch formula, textstat with lang "nl"): 206.835 - 0.93 x
  words/sentence - 77 x syllables/word; 60-70 reads "fairly easy", above 70 "easy".
  English variations get the English Flesch Reading Ease. (For Dutch our count agrees
  with textstat.flesch_reading_ease(lang="nl"); a test checks that.)

LIMITS below are what tests/test_bot_domain.py enforces. The per-response limits leave
room for one necessary long word (a phone number, "huisartsenpost"); the domain averages
hold the line for the whole conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyphen
import yaml

from core.config import get_settings
from core.crisis import crisis_reply

DOMAIN_DIR = Path(__file__).resolve().parent / "domain"

LIMITS = {
    "max_sentence_words": 15,  # B1 guides: no sentence over 15-20 words; we take 15
    "max_avg_sentence_words": 12.0,  # per response: B1 guides advise 10-12 on average
    "min_flesch": 60.0,  # per response: 60+ is "fairly easy" on Flesch-Douma
    "max_domain_avg_sentence_words": 10.0,  # over all Dutch responses
    "min_domain_avg_flesch": 70.0,  # over all Dutch responses: "easy"
}
# Texts that are not ours: a directory entry is shown as the sociale kaart gives it
# (cut to its first sentence, at most 22 words, by bot/actions/zoeken.py).
NOT_OURS = {"utter_hulp_item"}


@dataclass
class Measured:
    response: str
    lang: str
    text: str
    sentences: int
    avg_sentence_words: float
    max_sentence_words: int
    flesch: float


def sample_values() -> dict[str, str]:
    s = get_settings()
    return {
        "loket_naam": s.loket_name,
        "loket_telefoon": s.loket_phone,
        "loket_uren": s.loket_hours,
        "nachtopvang": s.night_shelter_phone,
        "politie": s.police_non_urgent_phone,
    }


def response_texts(domain_dir: Path = DOMAIN_DIR) -> list[tuple[str, str, str]]:
    """(response name, lang, text with placeholders filled) for every variation."""
    values = sample_values()
    out = []
    for path in sorted(domain_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variations in (data.get("responses") or {}).items():
            if name in NOT_OURS:
                continue
            for var in variations:
                text = var.get("text")
                if not text:
                    continue
                cond = var.get("condition") or []
                lang = "en" if any(c.get("name") == "taal" and c.get("value") == "en" for c in cond) else "nl"
                vals = dict(values)
                if name.startswith("utter_crisis_"):
                    vals["contact"] = crisis_reply(name.removeprefix("utter_crisis_"), lang)
                filled = re.sub(r"\{(\w+)\}", lambda m, vals=vals: vals.get(m.group(1), m.group(0)), text)
                out.append((name, lang, filled))
    return out


def _sentences(text: str) -> list[str]:
    # Phone numbers and times ("08:30-17:00", "0800-0113") are one word each; a colon
    # before a list or number does not end a sentence.
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p for p in parts if re.search(r"\w", p)]


# Flesch constants: Douma (1960) for Dutch, Flesch (1948) for English.
FLESCH = {"nl": (206.835, 0.93, 77.0), "en": (206.835, 1.015, 84.6)}


def flesch(text: str, lang: str) -> float:
    """Flesch(-Douma) with syllables from pyphen's hyphenation dictionaries, as textstat
    counts them for Dutch (textstat's English count needs NLTK's cmudict, which cannot be
    downloaded here; pyphen ships en_US)."""
    dic = pyphen.Pyphen(lang="nl_NL" if lang == "nl" else "en_US")
    words = re.findall(r"[^\W\d_]+(?:[-'][^\W\d_]+)*|\d[\d:.\-]*", text)
    if not words:
        return 0.0
    syllables = sum(max(1, len(dic.inserted(w).split("-"))) if w[0].isalpha() else 1 for w in words)
    base, per_sentence, per_syllable = FLESCH[lang]
    n_sentences = max(1, len(_sentences(text)))
    return base - per_sentence * len(words) / n_sentences - per_syllable * syllables / len(words)


def measure(name: str, lang: str, text: str) -> Measured:
    sentences = _sentences(text)
    lengths = [len(s.split()) for s in sentences]
    return Measured(
        response=name,
        lang=lang,
        text=text,
        sentences=len(sentences),
        avg_sentence_words=sum(lengths) / len(lengths),
        max_sentence_words=max(lengths),
        flesch=round(flesch(text, lang), 1),
    )


def measure_domain(domain_dir: Path = DOMAIN_DIR) -> list[Measured]:
    return [measure(*t) for t in response_texts(domain_dir)]


def problems(measured: list[Measured]) -> list[str]:
    bad = []
    for m in measured:
        if m.max_sentence_words > LIMITS["max_sentence_words"]:
            bad.append(f"{m.response} ({m.lang}): a sentence of {m.max_sentence_words} words")
        if m.avg_sentence_words > LIMITS["max_avg_sentence_words"]:
            bad.append(f"{m.response} ({m.lang}): {m.avg_sentence_words:.1f} words per sentence")
        if m.flesch < LIMITS["min_flesch"]:
            bad.append(f"{m.response} ({m.lang}): Flesch {m.flesch:.0f}")
    nl = [m for m in measured if m.lang == "nl"]
    if nl:
        avg_len = sum(m.avg_sentence_words for m in nl) / len(nl)
        avg_fl = sum(m.flesch for m in nl) / len(nl)
        if avg_len > LIMITS["max_domain_avg_sentence_words"]:
            bad.append(f"Dutch responses average {avg_len:.1f} words per sentence")
        if avg_fl < LIMITS["min_domain_avg_flesch"]:
            bad.append(f"Dutch responses average Flesch-Douma {avg_fl:.0f}")
    return bad


if __name__ == "__main__":
    ms = measure_domain()
    for m in sorted(ms, key=lambda m: m.flesch):
        print(f"{m.flesch:6.1f} {m.avg_sentence_words:5.1f} {m.max_sentence_words:3d} {m.lang} {m.response}")
    nl = [m for m in ms if m.lang == "nl"]
    print(
        "nl responses:",
        len(nl),
        "avg words/sentence %.1f" % (sum(m.avg_sentence_words for m in nl) / len(nl)),
        "avg Flesch-Douma %.1f" % (sum(m.flesch for m in nl) / len(nl)),
    )
    print("problems:", problems(ms) or "none")
