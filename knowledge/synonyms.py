"""Query expansion from knowledge/synonyms.yml: plain resident words ↔ directory words."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.text import DutchAnalyzer

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yml")


@lru_cache(maxsize=1)
def _raw_groups() -> tuple[tuple[str, ...], ...]:
    """The groups of synonyms.yml as written, read once."""
    data = yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8")) or {}
    return tuple(tuple(str(p) for p in group) for group in data.get("groups", []))


@lru_cache(maxsize=4)
def _groups(analyzer: DutchAnalyzer) -> tuple[tuple[tuple[frozenset[str], tuple[str, ...]], ...], ...]:
    groups = []
    for group in _raw_groups():
        members = []
        for phrase in group:
            terms = tuple(analyzer.terms(phrase))
            if terms:
                members.append((frozenset(terms), terms))
        groups.append(tuple(members))
    return tuple(groups)


def expand_terms(terms: list[str], analyzer: DutchAnalyzer) -> list[str]:
    """Terms to add to a query: the other members of every group one of whose phrases
    the query contains whole. Never repeats a term the query already has."""
    have = set(terms)
    extra: dict[str, None] = {}
    for group in _groups(analyzer):
        if any(needed <= have for needed, _ in group):
            for _, member_terms in group:
                for t in member_terms:
                    if t not in have:
                        extra[t] = None
    return list(extra)


@lru_cache(maxsize=4)
def _phrases(analyzer: DutchAnalyzer) -> tuple[tuple[tuple[frozenset[str], str], ...], ...]:
    return tuple(
        tuple((frozenset(terms), p) for p in group if (terms := analyzer.terms(p, split=False)))
        for group in _raw_groups()
    )


def related_words(text: str, analyzer: DutchAnalyzer) -> list[str]:
    """The plain words of every synonym group that `text` touches, minus what it already
    says: to widen a document's passage (Slachtofferhulp → inbraak, overval, ...).
    Only whole words trigger a group here: the parts of a compound are too loose
    evidence about a record ("geldzorgen" is not about mantelzorg)."""
    have = set(analyzer.terms(text, split=False))
    out: dict[str, None] = {}
    for group in _phrases(analyzer):
        if any(needed <= have for needed, _ in group):
            for needed, phrase in group:
                if not needed <= have:
                    out[phrase] = None
    return list(out)
