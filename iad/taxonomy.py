"""The one taxonomy: levensgebieden and crisis categories, from the project's own copy
of the shared vocabulary (iad/levensgebieden.yml). Codes are stable identifiers."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

TAXONOMY_FILE = Path(__file__).with_name("levensgebieden.yml")


@dataclass(frozen=True)
class Levensgebied:
    code: str
    label: str
    signals: tuple[str, ...]


@dataclass(frozen=True)
class CrisisCategory:
    code: str
    label: str


@lru_cache(maxsize=1)
def _load() -> dict:
    return yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def levensgebieden() -> tuple[Levensgebied, ...]:
    return tuple(
        Levensgebied(item["code"], item["label"], tuple(item.get("signals", [])))
        for item in _load()["levensgebieden"]
    )


@lru_cache(maxsize=1)
def crisis_categories() -> tuple[CrisisCategory, ...]:
    return tuple(CrisisCategory(item["code"], item["label"]) for item in _load()["crisis"])


LEVENSGEBIED_CODES: tuple[str, ...] = tuple(lg.code for lg in levensgebieden())
CRISIS_CODES: tuple[str, ...] = tuple(c.code for c in crisis_categories())


def label(code: str) -> str:
    for lg in levensgebieden():
        if lg.code == code:
            return lg.label
    raise KeyError(code)


def crisis_contact(code: str, settings=None) -> str:
    """The number(s) a resident needs first for this crisis, in B1 Dutch.
    The night-shelter and police numbers come from the config."""
    from iad.config import get_settings

    s = settings or get_settings()
    contacts = {
        "suicide": "Bel 113 of gratis 0800-0113. U kunt ook chatten op 113.nl. Bij direct gevaar: bel 112.",
        "geweld": "Bel Veilig Thuis: gratis 0800-2000, dag en nacht. Bij direct gevaar: bel 112.",
        "acuut_gevaar": "Bel nu 112.",
        "dakloos_vannacht": f"Voor een slaapplek vannacht: bel de nachtopvang op {s.night_shelter_phone}. Bij direct gevaar: bel 112.",
        "verward": f"Bel de politie (geen spoed) op {s.police_non_urgent_phone}. Bij direct gevaar: bel 112.",
    }
    return contacts[code]


def merge_words(old: dict | None, new: dict) -> dict[str, list[str]]:
    """Add newly heard words (per levensgebied code, or per signal) to what was recorded so
    far: earlier words first, no word twice."""
    merged = {k: list(v) for k, v in (old or {}).items()}
    for code, words in new.items():
        bucket = merged.setdefault(code, [])
        for w in words:
            if w not in bucket:
                bucket.append(w)
    return merged
