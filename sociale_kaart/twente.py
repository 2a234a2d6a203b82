"""The JSON Lines of the real Sociale kaart Twente (../shared/data/twente/services.jsonl,
see its SOURCE.md) → canonical HSDS records. Nothing is invented: the fields map one to
one, themes become taxonomy terms, and the themes' levensgebieden come from
twente_themes.yml."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import yaml

from core.taxonomy import label as levensgebied_label
from sociale_kaart.hsds import levensgebied_attribute

THEMES_FILE = Path(__file__).with_name("twente_themes.yml")
TWENTE_TAXONOMY = "sociale-kaart-twente"
TWENTE_KEYS = {"id", "name", "organization", "municipalities", "themes"}


@lru_cache(maxsize=1)
def theme_map() -> dict:
    return yaml.safe_load(THEMES_FILE.read_text(encoding="utf-8"))


def theme_levensgebieden(themes: list[str], subthemes: list[str]) -> list[str]:
    mapping = theme_map()
    codes: list[str] = []
    for theme in themes:
        codes.extend(mapping["themes"].get(theme, []))
    for sub in subthemes:
        codes.extend(mapping["subthemes"].get(sub, []))
    return list(dict.fromkeys(codes))


def looks_like_twente(obj: dict) -> bool:
    return isinstance(obj, dict) and TWENTE_KEYS <= set(obj)


_AGE_RANGE = re.compile(r"(\d{1,3})\s*(?:tot(?: en met)?|-|t/m)\s*(\d{1,3})\s*jaar")
_AGE_MAX = re.compile(r"tot en met (\d{1,3}) jaar|t/m (\d{1,3}) jaar|tot (\d{1,3}) jaar")
_AGE_MIN = re.compile(r"vanaf (\d{1,3}) jaar|(\d{1,3})\s*(?:jaar\s*)?(?:en ouder|\+)")


def ages_from_audience(audience: str) -> tuple[int | None, int | None]:
    """Only ages the text states in numbers ("tot en met 17 jaar", "vanaf 55 jaar");
    "senioren" or "jongeren" alone gives no age, as the directory does not say which."""
    text = (audience or "").lower()
    if m := _AGE_RANGE.search(text):
        return int(m.group(1)), int(m.group(2))
    lo = hi = None
    if m := _AGE_MAX.search(text):
        value = next(g for g in m.groups() if g)
        # "tot 18 jaar" excludes 18; "tot en met 17" includes 17.
        hi = int(value) - (1 if m.group(3) else 0)
    if m := _AGE_MIN.search(text):
        lo = int(next(g for g in m.groups() if g))
    return lo, hi


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def twente_to_hsds(obj: dict) -> dict:
    """One line of services.jsonl → an HSDS service record (not yet normalised)."""
    sid = str(obj.get("id") or "")
    org_name = (obj.get("organization") or "").strip()
    themes = [t for t in obj.get("themes") or [] if t]
    subthemes = [s for s in obj.get("subthemes") or [] if s]
    audience = obj.get("audience") or ""
    lo, hi = ages_from_audience(audience)

    attributes = []
    for theme in themes:
        attributes.append(
            {
                "link_type": "primary_theme" if theme == obj.get("category") else "theme",
                "taxonomy_term": {
                    "id": f"{TWENTE_TAXONOMY}:thema:{_slug(theme)}",
                    "code": theme,
                    "name": theme,
                    "taxonomy": TWENTE_TAXONOMY,
                },
            }
        )
    for sub in subthemes:
        attributes.append(
            {
                "link_type": "subtheme",
                "taxonomy_term": {
                    "id": f"{TWENTE_TAXONOMY}:subthema:{_slug(sub)}",
                    "code": sub,
                    "name": sub,
                    "taxonomy": TWENTE_TAXONOMY,
                },
            }
        )
    for code in theme_levensgebieden(themes, subthemes):
        attributes.append(levensgebied_attribute(code, levensgebied_label(code)))

    costs = (obj.get("costs") or "").strip()
    cost_options = []
    if costs.lower().startswith("gratis"):
        cost_options.append({"id": f"{sid}:cost", "option": costs, "amount": 0, "currency": "EUR"})

    sals = []
    if (obj.get("address") or "").strip():
        city = (obj.get("town") or "").strip() or (obj.get("municipalities") or [""])[0]
        sals.append(
            {
                "id": f"{sid}:sal",
                "location": {
                    "id": f"{sid}:location",
                    "name": obj.get("name"),
                    "addresses": [{"id": f"{sid}:address", "address_1": obj["address"].strip(), "city": city}],
                },
            }
        )

    return {
        "id": sid,
        "name": obj.get("name"),
        "description": obj.get("description"),
        "url": obj.get("source"),
        "status": "active",
        "application_process": obj.get("access"),
        "fees_description": costs,
        "eligibility_description": audience,
        "minimum_age": lo,
        "maximum_age": hi,
        "organization": {
            "id": "org-" + (_slug(org_name) or hashlib.sha1(sid.encode()).hexdigest()[:12]),
            "name": org_name,
        }
        if org_name
        else None,
        "service_areas": [{"id": f"{sid}:area:{_slug(g)}", "name": g} for g in obj.get("municipalities") or []],
        "service_at_locations": sals,
        "cost_options": cost_options,
        "attributes": attributes,
        # Everything in this directory is freely accessible welzijnsaanbod (SOURCE.md);
        # the file does not say whether an offer is for one wijk or the whole gemeente.
        "iad_level": "algemene_voorziening_stad",
    }
