"""The one taxonomy: levensgebieden and crisis categories, from the project's own copy
of the shared vocabulary (core/levensgebieden.yml). Codes are stable identifiers."""

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
        Levensgebied(item["code"], item["label"], tuple(item.get("signals", []))) for item in _load()["levensgebieden"]
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
