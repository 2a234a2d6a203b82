"""Checks on canonical service records before anything touches the database.
Every problem is reported (not just the first), in Dutch a loket employee can act on."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from core.config import get_settings
from core.taxonomy import LEVENSGEBIED_CODES
from sociale_kaart.hsds import IAD_LEVEL_LABELS, SERVICE_STATUSES
from sociale_kaart.models import LEVENSGEBIED_TAXONOMY

GEMEENTEN_FILE = Path(__file__).with_name("gemeenten.yml")
# Larger files are refused before reading: a directory of 10,000 services is about 10 MB.
MAX_IMPORT_BYTES = 20 * 1024 * 1024

# Column sizes in sociale_kaart.models: checked here so that a long value is a reported
# row, not a database error halfway through the transaction.
MAX_LENGTHS = {"id": 120, "name": 300, "alternate_name": 300, "url": 500, "email": 200}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _gemeenten_from_file() -> tuple[str, ...]:
    data = yaml.safe_load(GEMEENTEN_FILE.read_text(encoding="utf-8")) or {}
    names: list[str] = []
    for members in (data.get("regions") or {}).values():
        names.extend(members)
    return tuple(names)


@lru_cache(maxsize=1)
def woonplaatsen() -> dict[str, str]:
    """lower-case woonplaats → its gemeente (gemeenten.yml), the gemeenten themselves included."""
    data = yaml.safe_load(GEMEENTEN_FILE.read_text(encoding="utf-8")) or {}
    places = {name.lower(): name for name in _gemeenten_from_file()}
    for gemeente, members in (data.get("woonplaatsen") or {}).items():
        for place in members:
            # A village name shared by two gemeenten (Haarle) says nothing: left out.
            places[place.lower()] = gemeente if places.get(place.lower(), gemeente) == gemeente else ""
    return {k: v for k, v in places.items() if v}


def known_gemeenten() -> dict[str, str]:
    """lower-case name → spelling, from gemeenten.yml plus the configured GEMEENTE."""
    names = list(_gemeenten_from_file()) + [get_settings().gemeente]
    return {n.lower(): n for n in names}


def _apply_default_gemeente(rec: dict, gemeenten: dict[str, str], gemeente: str) -> None:
    areas = rec.setdefault("service_areas", [])
    if any((a.get("name") or "").lower() in gemeenten for a in areas):
        return
    words = " ".join(x for a in areas for x in (a.get("name"), a.get("description")) if x) or None
    first = areas[0] if areas else {"id": f"{rec.get('id')}:area:{gemeente.lower()}"}
    rec["service_areas"] = [{**first, "name": gemeente, "description": words}]


def check_record(rec: dict, gemeenten: dict[str, str] | None = None, default_gemeente: str | None = None) -> list[str]:
    """Problems with one canonical record ([] = fine). Also fixes the spelling of
    gemeente names that differ only in case. default_gemeente (`iad import --gemeente`):
    the gemeente of a record whose service areas name none (HSDS files from elsewhere
    describe an area in words: "all residents of the MyCity area"); that text is kept as
    the area's description."""
    gemeenten = gemeenten if gemeenten is not None else known_gemeenten()
    if default_gemeente:
        _apply_default_gemeente(rec, gemeenten, default_gemeente)
    errors: list[str] = []
    if not rec.get("id"):
        errors.append("verplicht veld ontbreekt: id")
    if not rec.get("name"):
        errors.append("verplicht veld ontbreekt: name (naam)")
    for field, limit in MAX_LENGTHS.items():
        value = rec.get(field)
        if isinstance(value, str) and len(value) > limit:
            errors.append(f"{field} is te lang ({len(value)} tekens, max {limit})")
    if rec.get("status") not in SERVICE_STATUSES:
        errors.append(f"onbekende status {rec.get('status')!r} (kies uit {', '.join(SERVICE_STATUSES)})")
    if rec.get("url") and not _URL.match(rec["url"]):
        errors.append(f"url is geen webadres: {rec['url']!r}")
    if rec.get("email") and not _EMAIL.match(rec["email"]):
        errors.append(f"email is geen e-mailadres: {rec['email']!r}")
    lo, hi = rec.get("minimum_age"), rec.get("maximum_age")
    for name, age in (("minimum_age", lo), ("maximum_age", hi)):
        if age is not None and not 0 <= age <= 120:
            errors.append(f"{name} moet tussen 0 en 120 liggen, niet {age}")
    if lo is not None and hi is not None and lo > hi:
        errors.append(f"minimum_age ({lo}) is hoger dan maximum_age ({hi})")
    if rec.get("iad_level") not in IAD_LEVEL_LABELS:
        errors.append(f"onbekend IAD-niveau {rec.get('iad_level')!r} (kies uit {', '.join(IAD_LEVEL_LABELS)})")

    if not rec.get("service_areas"):
        errors.append("verplicht veld ontbreekt: gemeente (service_areas)")
    for area in rec.get("service_areas", []):
        name = area.get("name")
        if not name:
            errors.append("service_area zonder naam (gemeente)")
        elif name.lower() not in gemeenten:
            shown = name if len(name) <= 60 else name[:57] + "..."
            errors.append(f"onbekende gemeente {shown!r}")
        else:
            area["name"] = gemeenten[name.lower()]
    seen_areas = [a.get("name") for a in rec.get("service_areas", [])]
    if len(seen_areas) != len(set(seen_areas)):
        errors.append("een gemeente staat dubbel in service_areas")

    for sal in rec.get("service_at_locations", []):
        for addr in sal["location"].get("addresses", []):
            if not addr.get("address_1") or not addr.get("city"):
                errors.append("adres zonder straat (address_1) of plaats (city)")
    for phone in rec.get("phones", []):
        if not phone.get("number"):
            errors.append("telefoon zonder nummer")
    for attr in rec.get("attributes", []):
        term = attr["taxonomy_term"]
        if not term.get("id") or not term.get("name"):
            errors.append("taxonomy_term zonder id of naam")
        if term.get("taxonomy") == LEVENSGEBIED_TAXONOMY and term.get("code") not in LEVENSGEBIED_CODES:
            errors.append(f"onbekend levensgebied {term.get('code')!r}")
    for kind in (
        "service_areas",
        "phones",
        "schedules",
        "languages",
        "cost_options",
        "service_at_locations",
        "attributes",
    ):
        ids = [c["id"] for c in rec.get(kind, [])]
        if len(ids) != len(set(ids)):
            errors.append(f"dubbele id in {kind}")
    return errors
