"""What the search index sees of a service or an article: the fields for the keyword
ranker, one passage for the embedding model, the filter facts (gemeente, age, cost,
levensgebieden) and what a hit shows the resident (name, summary, contact).

Most records of the real directory have a name, themes and an audience but no
description. So the passage is built from what is there: the name, the organisation,
the directory's own themes, the levensgebieden those themes map to (label and the
resident words from core/levensgebieden.yml) and the audience. Nothing is made up per
record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.taxonomy import levensgebieden as all_levensgebieden
from knowledge.articles import Article
from knowledge.service_types import service_types_named
from knowledge.synonyms import related_words
from knowledge.text import analyzer
from sociale_kaart.models import LEVENSGEBIED_TAXONOMY

# B1 phrases for the Twente directory's themes, used in the summary line of a hit.
THEME_PHRASES = {
    "advies": "Advies en hulp",
    "ontmoeten": "Mensen ontmoeten",
    "geld": "Hulp bij geld",
    "jeugd": "Voor kinderen, jongeren en ouders",
    "vrijwillig": "Vrijwilligers",
    "taal": "Taal, lezen en computer",
    "mantelzorg": "Steun voor mantelzorgers",
    "mentaal": "Steun bij psychische klachten",
    "bewegen": "Sport en bewegen",
    "vervoer": "Vervoer",
}
_FREE_NO = re.compile(r"niet gratis|bijdrage|vergoeding|\bkost|tarief|€|\beuro|\bcent\b|betaal", re.I)
_FREE_YES = re.compile(r"^\s*gratis", re.I)


@dataclass
class SearchDocument:
    id: str
    kind: str  # "service" | "article"
    name: str
    summary: str
    contact: str
    levensgebieden: tuple[str, ...]
    iad_level: str
    gemeenten: tuple[str, ...] | None  # None: every gemeente
    minimum_age: int | None = None
    maximum_age: int | None = None
    free: bool | None = None  # None: the record does not say
    fields: dict[str, str] = field(default_factory=dict)  # name / topics / text
    passage: str = ""
    # What a resident can act on, from the record's own words: free or not, how to get in.
    practical: str = ""
    # The record's own words only (no signals, no synonyms): for the plain BM25 baseline.
    plain_text: str = ""


def _levensgebied_info() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {lg.code: (lg.label, lg.signals) for lg in all_levensgebieden()}


def cost_status(rec: dict) -> bool | None:
    """True: known to be free; False: known to cost something; None: not said."""
    amounts = [c.get("amount") for c in rec.get("cost_options", []) if c.get("amount") is not None]
    if any(a == 0 for a in amounts):
        return True
    if any(a > 0 for a in amounts):
        return False
    fees = rec.get("fees_description") or ""
    if _FREE_NO.search(fees):
        return False
    if _FREE_YES.match(fees):
        return True
    return None


def _first_sentence(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = m.group(1) if m else text
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rsplit(" ", 1)[0] + "…"
    return sentence


def _practical(rec: dict) -> str:
    """'Gratis. Vrij binnenlopen of rechtstreeks contact opnemen.' Nothing invented: only
    what the record says about cost and access, each cut to its first sentence."""
    parts = []
    free = cost_status(rec)
    fees = _first_sentence(rec.get("fees_description") or "", limit=90)
    if free is True:
        parts.append("Gratis.")
    elif fees:
        parts.append(fees if fees.endswith((".", "!", "?", "…")) else fees + ".")
    access = _first_sentence(rec.get("application_process") or "", limit=90)
    if access:
        parts.append(access if access.endswith((".", "!", "?", "…")) else access + ".")
    return " ".join(parts)


def _contact(rec: dict) -> str:
    parts = []
    for phone in rec.get("phones", []):
        parts.append(f"Bel {phone['number']}")
    if rec.get("email"):
        parts.append(f"Mail {rec['email']}")
    for sal in rec.get("service_at_locations", []):
        for addr in sal["location"].get("addresses", []):
            line = ", ".join(p for p in (addr.get("address_1"), addr.get("postal_code"), addr.get("city")) if p)
            parts.append(f"Adres: {line}")
    url = rec.get("url") or (rec.get("organization") or {}).get("website")
    if url:
        parts.append(f"Website: {url}")
    return " · ".join(parts) or "Vraag het loket naar de contactgegevens."


def service_document(
    rec: dict,
    *,
    signals: bool = True,
    synonyms: bool = True,
    organization_in_passage: bool = True,
    expand_topics: bool = True,
    service_types: bool = True,
) -> SearchDocument:
    info = _levensgebied_info()
    org = (rec.get("organization") or {}).get("name") or ""
    terms = [a["taxonomy_term"] for a in rec.get("attributes", [])]
    codes = tuple(dict.fromkeys(t["code"] for t in terms if t.get("taxonomy") == LEVENSGEBIED_TAXONOMY))
    themes = [t["name"] for t in terms if t.get("taxonomy") != LEVENSGEBIED_TAXONOMY]
    labels = [info[c][0] for c in codes if c in info]
    signal_words = [s for c in codes if c in info for s in info[c][1]] if signals else []
    audience = rec.get("eligibility_description") or ""
    description = rec.get("description") or ""
    name = rec["name"] if not rec.get("alternate_name") else f"{rec['name']} ({rec['alternate_name']})"

    if description:
        summary = _first_sentence(description)
    else:
        primary = next(
            (a["taxonomy_term"]["code"] for a in rec.get("attributes", []) if a.get("link_type") == "primary_theme"),
            None,
        )
        phrase = THEME_PHRASES.get(primary or "") or (labels[0] if labels else "Aanbod")
        summary = f"{phrase}" + (f" van {org}" if org and org.lower() not in name.lower() else "")
        if audience:
            summary += f", voor {audience[0].lower() + audience[1:]}".rstrip(".")
        summary = _first_sentence(summary + ".")

    topics = " ; ".join(dict.fromkeys(themes + labels))
    text = " . ".join(
        p
        for p in (audience, description, rec.get("application_process") or "", rec.get("fees_description") or "", org)
        if p
    )
    passage_parts = [name + "."]
    if organization_in_passage and org and org.lower() not in name.lower():
        passage_parts.append(f"Organisatie: {org}.")
    if themes or labels:
        passage_parts.append(f"Onderwerp: {', '.join(dict.fromkeys(themes + labels))}.")
    if signal_words:
        passage_parts.append(f"Bij vragen over: {', '.join(signal_words)}.")
    if audience:
        passage_parts.append(f"Voor: {audience}")
    if description:
        passage_parts.append(description)
    if service_types:
        for kind in service_types_named(rec["name"], rec.get("alternate_name") or "", org):
            passage_parts.append(f"Wat dit is: {kind.does} Voor wie zegt: {'; '.join(kind.needs)}.")
    related: list[str] = []
    if synonyms:
        related = related_words(" ".join([name, *themes, audience, description]), analyzer())
        if related:
            passage_parts.append(f"Ook: {', '.join(related)}.")
    return SearchDocument(
        id=rec["id"],
        kind="service",
        name=rec["name"],
        summary=summary,
        contact=_contact(rec),
        levensgebieden=codes,
        iad_level=rec.get("iad_level") or "algemene_voorziening_stad",
        gemeenten=tuple(a["name"] for a in rec.get("service_areas", [])) or None,
        minimum_age=rec.get("minimum_age"),
        maximum_age=rec.get("maximum_age"),
        free=cost_status(rec),
        fields={
            "name": name,
            "topics": " ; ".join(p for p in (topics, *(signal_words + related if expand_topics else [])) if p),
            "text": text,
        },
        passage=" ".join(passage_parts),
        practical=_practical(rec),
        plain_text=" ".join(
            [
                name,
                org,
                *themes,
                audience,
                description,
                rec.get("application_process") or "",
                rec.get("fees_description") or "",
            ]
        ),
    )


def article_document(article: Article, *, signals: bool = True) -> SearchDocument:
    info = _levensgebied_info()
    labels = [info[c][0] for c in article.levensgebieden if c in info]
    signal_words = [s for c in article.levensgebieden if c in info for s in info[c][1]] if signals else []
    body = re.sub(r"[*#>`_-]+", " ", article.body)
    return SearchDocument(
        id=f"artikel:{article.id}",
        kind="article",
        name=article.title,
        summary=article.summary,
        contact=article.contact,
        levensgebieden=article.levensgebieden,
        iad_level=article.iad_level,
        gemeenten=None if article.gemeente is None else (article.gemeente,),
        free=True,
        fields={
            "name": article.title,
            "topics": " ; ".join(labels + signal_words),
            "text": f"{article.summary} {body}",
        },
        passage=" ".join(
            p
            for p in (
                f"{article.title}.",
                article.summary,
                f"Onderwerp: {', '.join(labels)}." if labels else "",
                " ".join(body.split()),
            )
            if p
        ),
        plain_text=f"{article.title} {article.summary} {body}",
    )
