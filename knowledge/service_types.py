"""What well-known Dutch organisations and service types do (service_types.yml), written
once for the Netherlands: most directory records carry only a name ("Humanitas", "Repair
Café", "Stichting Leergeld"), which does not say what a resident gets there. A record
whose name or organisation names one of them gets that knowledge in its search passage.
Nothing here is about one municipality or one record."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.text import fold

SERVICE_TYPES_FILE = Path(__file__).with_name("service_types.yml")
# At most this many kinds per record (a long name can name several).
MAX_PER_RECORD = 3


@dataclass(frozen=True)
class ServiceType:
    names: tuple[str, ...]
    does: str
    needs: tuple[str, ...]
    levensgebieden: tuple[str, ...]


@lru_cache(maxsize=1)
def service_types() -> tuple[ServiceType, ...]:
    data = yaml.safe_load(SERVICE_TYPES_FILE.read_text(encoding="utf-8")) or []
    return tuple(
        ServiceType(
            tuple(item["names"]),
            item["does"],
            tuple(item.get("needs") or ()) + tuple(item.get("needs_en") or ()),
            tuple(item.get("levensgebieden") or ()),
        )
        for item in data
    )


def _pattern(name: str) -> re.Pattern:
    # Short abbreviations ("MEE", "GGD", "AA") only as written; "mee" is an ordinary word.
    if len(name) <= 4:
        return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    return re.compile(rf"(?<!\w){re.escape(fold(name))}(?!\w)")


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[int, re.Pattern, bool, ServiceType], ...]:
    """(length, pattern, matches folded text, kind), longest names first."""
    found = [(len(n), _pattern(n), len(n) > 4, kind) for kind in service_types() for n in kind.names]
    return tuple(sorted(found, key=lambda x: -x[0]))


def service_types_named(*texts: str) -> list[ServiceType]:
    """The kinds the record's own name or organisation names, most specific first."""
    raw = " | ".join(t for t in texts if t)
    folded = fold(raw)
    out: list[ServiceType] = []
    for _length, pattern, on_folded, kind in _patterns():
        if kind not in out and pattern.search(folded if on_folded else raw):
            out.append(kind)
            if len(out) == MAX_PER_RECORD:
                break
    return out
