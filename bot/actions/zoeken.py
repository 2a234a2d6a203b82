"""From the conversation to a search of the sociale kaart, and back to short B1 lines.

The search itself is knowledge.search.search_directory (one index per process); this
module only decides what to ask it and how to show what it found.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from core.taxonomy import label
from sociale_kaart.models import IAD_LEVELS

log = logging.getLogger(__name__)

# IAD order: eigen kracht, then algemene voorzieningen (wijk, stad), then the wijkteam,
# then specialist help. Among hits that fit equally, show the lighter help first.
IAD_ORDER = {level: rank for rank, level in enumerate(IAD_LEVELS)}
MAX_SUMMARY_WORDS = 22


@dataclass
class Offer:
    id: str
    name: str
    wat: str
    contact: str
    iad_level: str
    # Why it is shown: the levensgebied of the question it answers, and the gemeente when
    # the offer is for that gemeente (not for everyone everywhere).
    code: str | None = None
    gemeente: str | None = None
    practical: str = ""  # free or not, how to get in

    def line(self, english: bool = False) -> str:
        """What the resident reads after the name: what it is, why it fits, what to do."""
        why = ""
        if english:
            why = f"In {self.gemeente}." if self.gemeente else ""
        elif self.code:
            why = f"Voor uw vraag over {label(self.code).lower()}" + (
                f", in {self.gemeente}." if self.gemeente else "."
            )
        elif self.gemeente:
            why = f"In {self.gemeente}."
        return " ".join(p for p in (self.wat, why, "" if english else self.practical) if p)


def first_sentence(text: str, max_words: int = MAX_SUMMARY_WORDS) -> str:
    """The first sentence of a directory summary, cut to a B1-friendly length."""
    text = re.sub(r"\s+", " ", (text or "").strip())
    if not text:
        return ""
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = m.group(1) if m else text
    words = sentence.split()
    if len(words) > max_words:
        sentence = " ".join(words[:max_words]).rstrip(",;:") + "..."
    return sentence


def parse_age(text: str | None) -> int | None:
    """'hij is 15', '8 jaar', 'vijftien' -> an age, if the answer gives one."""
    if not text:
        return None
    m = re.search(r"\b(\d{1,2})\b", text)
    if m:
        return int(m.group(1))
    words = {
        "een": 1,
        "twee": 2,
        "drie": 3,
        "vier": 4,
        "vijf": 5,
        "zes": 6,
        "zeven": 7,
        "acht": 8,
        "negen": 9,
        "tien": 10,
        "elf": 11,
        "twaalf": 12,
        "dertien": 13,
        "veertien": 14,
        "vijftien": 15,
        "zestien": 16,
        "zeventien": 17,
        "achttien": 18,
    }
    for w, n in words.items():
        if re.search(rf"\b{w}\b", text.lower()):
            return n
    return None


def build_queries(
    hulpvraag: str,
    codes: list[str],
    woorden: dict,
    antwoorden: dict[str, str],
    english: bool = False,
) -> list[tuple[str | None, str]]:
    """One query per levensgebied heard (the resident's words for it plus their answer to
    its clarifying question), or one query from the whole question when none was heard.
    For an English conversation the levensgebied's Dutch name is added, because the
    sociale kaart is written in Dutch."""
    queries: list[tuple[str | None, str]] = []
    for code in codes[:3]:
        parts = list(woorden.get(code, []))
        if english:
            parts.insert(0, label(code))
        answer = antwoorden.get(code)
        if answer and not answer.startswith("/"):
            parts.append(answer)
        if hulpvraag and len(" ".join(parts).split()) < 4:
            parts.insert(0, hulpvraag)
        queries.append((code, " ".join(parts)))
    if not queries and hulpvraag:
        queries.append((None, hulpvraag))
    return queries


def find_offers(
    queries: list[tuple[str | None, str]],
    gemeente: str | None,
    age: int | None = None,
    limit: int = 3,
    search=None,
) -> list[Offer]:
    """Up to `limit` offers: the best hit for each levensgebied first, then the next best.
    Raises whatever the search raises (the action tells the resident and gives the phone)."""
    if search is None:
        # heavy: knowledge.search loads spaCy (about 3 s); the action server's warm-up loads it
        # in the background, and tests or eval that import the actions without searching skip it
        from knowledge.search import search_directory as search

    per_query = []
    for code, query in queries:
        result = search(
            query,
            gemeente=gemeente,
            levensgebieden=[code] if code else None,
            age=age,
            limit=limit,
        )
        hits = [] if result.no_match else list(result.hits)
        # Lighter help first among hits of similar score (IAD order).
        hits.sort(key=lambda h: (-round(h.score, 1), IAD_ORDER.get(h.iad_level, 2)))
        per_query.append(hits)
    chosen, seen = [], set()
    for rnd in range(limit):
        for (code, _query), hits in zip(queries, per_query):
            if rnd < len(hits) and hits[rnd].id not in seen and len(chosen) < limit:
                chosen.append((code, hits[rnd]))
                seen.add(hits[rnd].id)
    return [
        Offer(
            h.id,
            h.name,
            first_sentence(h.summary),
            (h.contact or "").strip(),
            h.iad_level,
            code=code,
            gemeente=gemeente if gemeente and h.gemeenten and gemeente in h.gemeenten else None,
            practical=getattr(h, "practical", "") or "",
        )
        for code, h in chosen
    ]
