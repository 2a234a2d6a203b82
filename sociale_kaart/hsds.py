"""One service record in the HSDS 3.0 "compiled" JSON layout (a service with its
organization, service_areas, service_at_locations → location → addresses, phones,
schedules, languages, cost_options and attributes → taxonomy_term nested inside).

Every importer turns its input into these records, the validator checks them, the
database stores them, and the exporter writes them back. `normalize_record` makes a
record canonical (known fields only, "" → None, child ids filled in) so that its hash
says whether anything changed.

IAD addition: `iad_level` on the record. In HSDS files it travels as an attribute with
taxonomy "iad-niveau", so exported files stay plain HSDS.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sociale_kaart.models import (
    IAD_LEVELS,
    LEVENSGEBIED_TAXONOMY,
    Address,
    Attribute,
    CostOption,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)

IAD_LEVEL_TAXONOMY = "iad-niveau"
IAD_LEVEL_LABELS = {
    "eigen_kracht": "Eigen kracht en eigen netwerk",
    "algemene_voorziening_wijk": "Algemene voorziening in de wijk",
    "algemene_voorziening_stad": "Algemene voorziening in de stad of regio",
    "wijkteam": "Wijkteam",
    "specialist": "Specialistische hulp (maatwerk)",
}
assert set(IAD_LEVEL_LABELS) == set(IAD_LEVELS)

SERVICE_FIELDS = (
    "id",
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "assured_date",
)
ORGANIZATION_FIELDS = ("id", "name", "description", "email", "website")
LOCATION_FIELDS = ("id", "location_type", "name", "description", "url", "latitude", "longitude")
ADDRESS_FIELDS = (
    "id",
    "address_1",
    "address_2",
    "city",
    "region",
    "state_province",
    "postal_code",
    "country",
    "address_type",
)
PHONE_FIELDS = ("id", "number", "type", "description")
SCHEDULE_FIELDS = ("id", "freq", "byday", "opens_at", "closes_at", "description")
SERVICE_AREA_FIELDS = ("id", "name", "description")
LANGUAGE_FIELDS = ("id", "name", "code", "note")
COST_OPTION_FIELDS = ("id", "option", "currency", "amount", "amount_description")
TAXONOMY_TERM_FIELDS = ("id", "code", "name", "description", "parent_id", "taxonomy")
ATTRIBUTE_FIELDS = ("id", "link_type", "value", "label")

SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
INT_FIELDS = {"minimum_age", "maximum_age"}
FLOAT_FIELDS = {"latitude", "longitude", "amount"}


class RecordError(ValueError):
    """A record that cannot be made canonical (wrong type, bad date, ...)."""


def _clean(value: Any, field: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    if field in INT_FIELDS:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RecordError(f"{field} moet een getal zijn, niet {value!r}") from None
        if number != int(number):
            raise RecordError(f"{field} moet een heel getal zijn, niet {value!r}")
        return int(number)
    if field in FLOAT_FIELDS:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise RecordError(f"{field} moet een getal zijn, niet {value!r}") from None
    if field == "assured_date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise RecordError(f"assured_date moet een datum zijn (JJJJ-MM-DD), niet {value!r}") from None
    if isinstance(value, (dict, list)):
        raise RecordError(f"{field} moet tekst zijn, geen {type(value).__name__}")
    return str(value) if not isinstance(value, (int, float, bool)) else value


def _pick(raw: Any, fields: tuple[str, ...], what: str) -> dict:
    if not isinstance(raw, dict):
        raise RecordError(f"{what} moet een object zijn, geen {type(raw).__name__}")
    return {f: _clean(raw.get(f), f) for f in fields}


def _children(raw: dict, key: str, fields: tuple[str, ...], prefix: str) -> list[dict]:
    items = raw.get(key) or []
    if not isinstance(items, list):
        raise RecordError(f"{key} moet een lijst zijn")
    out = []
    for i, item in enumerate(items):
        child = _pick(item, fields, key)
        child["id"] = child["id"] or f"{prefix}:{key}:{i}"
        out.append(child)
    # Children in id order: the database gives them back that way, so hashes and round
    # trips compare equal.
    return sorted(out, key=lambda c: c["id"])


def normalize_record(raw: Any) -> dict:
    """The canonical form of one HSDS service record. Raises RecordError."""
    if not isinstance(raw, dict):
        raise RecordError(f"een dienst moet een object zijn, geen {type(raw).__name__}")
    rec = _pick(raw, SERVICE_FIELDS, "service")
    if rec["id"] is not None:
        rec["id"] = str(rec["id"])
    sid = rec["id"] or "?"
    rec["status"] = rec["status"] or "active"

    org = raw.get("organization")
    rec["organization"] = _pick(org, ORGANIZATION_FIELDS, "organization") if org else None
    if rec["organization"] is not None and rec["organization"]["id"] is None:
        name = rec["organization"]["name"] or ""
        rec["organization"]["id"] = "org-" + hashlib.sha1(name.encode()).hexdigest()[:16]

    rec["service_areas"] = _children(raw, "service_areas", SERVICE_AREA_FIELDS, sid)
    rec["phones"] = _children(raw, "phones", PHONE_FIELDS, sid)
    rec["schedules"] = _children(raw, "schedules", SCHEDULE_FIELDS, sid)
    rec["languages"] = _children(raw, "languages", LANGUAGE_FIELDS, sid)
    rec["cost_options"] = _children(raw, "cost_options", COST_OPTION_FIELDS, sid)

    sals = []
    for i, item in enumerate(raw.get("service_at_locations") or []):
        if not isinstance(item, dict):
            raise RecordError("service_at_locations moet een lijst van objecten zijn")
        loc_raw = item.get("location")
        if not isinstance(loc_raw, dict):
            raise RecordError("service_at_location zonder location")
        loc = _pick(loc_raw, LOCATION_FIELDS, "location")
        loc["id"] = loc["id"] or f"{sid}:location:{i}"
        loc["location_type"] = loc["location_type"] or "physical"
        loc["addresses"] = _children(loc_raw, "addresses", ADDRESS_FIELDS, loc["id"])
        for addr in loc["addresses"]:
            addr["country"] = addr["country"] or "NL"
            addr["address_type"] = addr["address_type"] or "physical"
        sals.append(
            {
                "id": _clean(item.get("id"), "id") or f"{sid}:service_at_location:{i}",
                "description": _clean(item.get("description"), "description"),
                "location": loc,
            }
        )
    rec["service_at_locations"] = sorted(sals, key=lambda c: c["id"])

    iad_level = _clean(raw.get("iad_level"), "iad_level")
    attributes = []
    for item in raw.get("attributes") or []:
        attr = _pick(item, ATTRIBUTE_FIELDS, "attribute")
        term = _pick(item.get("taxonomy_term") or {}, TAXONOMY_TERM_FIELDS, "taxonomy_term")
        if term["taxonomy"] == IAD_LEVEL_TAXONOMY:
            iad_level = term["code"]
            continue
        if term["id"] is None and term["code"] is not None:
            term["id"] = f"{term['taxonomy'] or 'term'}:{term['code']}"
        term["name"] = term["name"] or term["code"]
        attr["id"] = attr["id"] or f"{sid}:attribute:{term['id']}"
        attr["taxonomy_term"] = term
        attributes.append(attr)
    rec["attributes"] = sorted(attributes, key=lambda c: c["id"])
    rec["iad_level"] = iad_level or "algemene_voorziening_stad"
    return rec


def content_hash(rec: dict) -> str:
    blob = json.dumps(rec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def levensgebied_attribute(code: str, name: str) -> dict:
    """An HSDS attribute that links a service to one of our levensgebieden."""
    return {
        "link_type": "levensgebied",
        "taxonomy_term": {
            "id": f"{LEVENSGEBIED_TAXONOMY}:{code}",
            "code": code,
            "name": name,
            "taxonomy": LEVENSGEBIED_TAXONOMY,
        },
    }


def without_unknowns(value: Any) -> Any:
    """HSDS 3.0 leaves out what is unknown: its schema allows no null where it asks for a
    string or a number. Drops None values at every depth (the importer reads a missing
    field as None again, so a round trip changes nothing)."""
    if isinstance(value, dict):
        return {k: without_unknowns(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_unknowns(v) for v in value]
    return value


# Text fields the HSDS 3.0 schema requires (schema/service_with_definitions.json). When the
# directory does not know them they are written as "", which the importer reads as unknown.
REQUIRED_TEXT = {
    "organization": ("description",),
    "taxonomy_term": ("name", "description"),
    "address": ("address_1", "city", "state_province", "postal_code", "country"),
}


def _fill_required(obj: dict | None, kind: str) -> None:
    if obj:
        for field in REQUIRED_TEXT[kind]:
            if obj.get(field) is None:
                obj[field] = ""


def to_hsds(rec: dict) -> dict:
    """The record as plain HSDS for export: iad_level as an attribute, nothing unknown
    written as null, and every field the schema requires present."""
    out = copy.deepcopy(with_iad_level(rec))
    _fill_required(out.get("organization"), "organization")
    for attribute in out.get("attributes") or []:
        _fill_required(attribute.get("taxonomy_term"), "taxonomy_term")
    for sal in out.get("service_at_locations") or []:
        for address in (sal.get("location") or {}).get("addresses") or []:
            _fill_required(address, "address")
    return without_unknowns(out)


def with_iad_level(rec: dict) -> dict:
    """The record with iad_level as an HSDS attribute (unknowns still None: the CSV tables
    write them as empty cells)."""
    out = {k: v for k, v in rec.items() if k != "iad_level"}
    level = rec["iad_level"]
    out["attributes"] = list(rec["attributes"]) + [
        {
            "id": f"{rec['id']}:attribute:{IAD_LEVEL_TAXONOMY}",
            "link_type": "iad_level",
            "value": None,
            "label": None,
            "taxonomy_term": {
                "id": f"{IAD_LEVEL_TAXONOMY}:{level}",
                "code": level,
                "name": IAD_LEVEL_LABELS.get(level, level),
                "description": None,
                "parent_id": None,
                "taxonomy": IAD_LEVEL_TAXONOMY,
            },
        }
    ]
    return out


# --- database ------------------------------------------------------------------------


def _set(obj, data: dict, fields: tuple[str, ...]) -> None:
    for f in fields:
        if f == "id":
            continue
        value = data.get(f)
        if f == "assured_date" and value is not None:
            value = date.fromisoformat(value)
        setattr(obj, f, value)


def write_record(session: Session, rec: dict, *, dataset: str | None, digest: str) -> None:
    """Insert or rewrite one service with everything below it (inside the caller's
    transaction)."""
    org = rec["organization"]
    if org is not None:
        org_row = session.get(Organization, org["id"]) or Organization(id=org["id"])
        _set(org_row, org, ORGANIZATION_FIELDS)
        session.add(org_row)

    service = session.get(Service, rec["id"])
    if service is None:
        service = Service(id=rec["id"])
        session.add(service)
    else:
        # Children are rewritten whole: clear them and flush so that the new rows may
        # reuse the same ids.
        for rel in (
            "service_areas",
            "service_at_locations",
            "phones",
            "schedules",
            "languages",
            "cost_options",
            "attributes",
        ):
            getattr(service, rel).clear()
        session.flush()
    _set(service, rec, SERVICE_FIELDS)
    service.organization_id = org["id"] if org else None
    service.iad_level = rec["iad_level"]
    service.dataset = dataset
    service.content_hash = digest
    service.last_modified = datetime.now().astimezone()

    service.service_areas = [
        ServiceArea(id=a["id"], name=a["name"], description=a["description"]) for a in rec["service_areas"]
    ]
    service.phones = [Phone(**p) for p in rec["phones"]]
    service.schedules = [Schedule(**s) for s in rec["schedules"]]
    service.languages = [Language(**lang) for lang in rec["languages"]]
    service.cost_options = [CostOption(**c) for c in rec["cost_options"]]

    sals = []
    for sal in rec["service_at_locations"]:
        loc = sal["location"]
        loc_row = session.get(Location, loc["id"])
        if loc_row is None:
            loc_row = Location(id=loc["id"])
            session.add(loc_row)
        else:
            loc_row.addresses.clear()
            session.flush()
        _set(loc_row, loc, LOCATION_FIELDS)
        loc_row.organization_id = org["id"] if org else None
        loc_row.addresses = [Address(**a) for a in loc["addresses"]]
        sals.append(ServiceAtLocation(id=sal["id"], location_id=loc["id"], description=sal["description"]))
    service.service_at_locations = sals

    attrs = []
    for attr in rec["attributes"]:
        term = attr["taxonomy_term"]
        term_row = session.get(TaxonomyTerm, term["id"]) or TaxonomyTerm(id=term["id"])
        _set(term_row, term, TAXONOMY_TERM_FIELDS)
        session.add(term_row)
        attrs.append(
            Attribute(
                id=attr["id"],
                link_entity="service",
                link_type=attr["link_type"],
                taxonomy_term_id=term["id"],
                value=attr["value"],
                label=attr["label"],
            )
        )
    service.attributes = attrs


def _row(obj, fields: tuple[str, ...]) -> dict:
    out = {}
    for f in fields:
        value = getattr(obj, f)
        if isinstance(value, date):
            value = value.isoformat()
        out[f] = value
    return out


def load_records(session: Session, ids: list[str] | None = None) -> list[dict]:
    """Every service (or the given ids) back as canonical records, in id order.
    A handful of bulk queries, not one per service, so 10,000 services load quickly."""
    # Sorted in Python, not with ORDER BY: PostgreSQL's collation orders "-" and ":"
    # differently from SQLite, and both must give the same records in the same order.
    q = select(Service)
    if ids is not None:
        q = q.where(Service.id.in_(ids))
    services = sorted(session.scalars(q).all(), key=lambda s: s.id)
    if not services:
        return []
    wanted = {s.id for s in services}

    def by_service(model, key="service_id"):
        groups: dict[str, list] = {}
        for row in session.scalars(select(model)):
            sid = getattr(row, key)
            if sid in wanted:
                groups.setdefault(sid, []).append(row)
        for rows in groups.values():
            rows.sort(key=lambda r: r.id)
        return groups

    orgs = {o.id: o for o in session.scalars(select(Organization))}
    areas = by_service(ServiceArea)
    phones = by_service(Phone)
    schedules = by_service(Schedule)
    languages = by_service(Language)
    costs = by_service(CostOption)
    sals = by_service(ServiceAtLocation)
    attrs = by_service(Attribute, key="link_id")
    locations = {loc.id: loc for loc in session.scalars(select(Location))}
    addresses: dict[str, list] = {}
    for a in sorted(session.scalars(select(Address)), key=lambda a: a.id):
        addresses.setdefault(a.location_id, []).append(a)
    terms = {t.id: t for t in session.scalars(select(TaxonomyTerm))}

    records = []
    for s in services:
        rec = _row(s, SERVICE_FIELDS)
        org = orgs.get(s.organization_id) if s.organization_id else None
        rec["organization"] = _row(org, ORGANIZATION_FIELDS) if org else None
        rec["service_areas"] = [_row(a, SERVICE_AREA_FIELDS) for a in areas.get(s.id, [])]
        rec["phones"] = [_row(p, PHONE_FIELDS) for p in phones.get(s.id, [])]
        rec["schedules"] = [_row(x, SCHEDULE_FIELDS) for x in schedules.get(s.id, [])]
        rec["languages"] = [_row(x, LANGUAGE_FIELDS) for x in languages.get(s.id, [])]
        rec["cost_options"] = [_row(x, COST_OPTION_FIELDS) for x in costs.get(s.id, [])]
        rec["service_at_locations"] = []
        for sal in sals.get(s.id, []):
            loc = locations[sal.location_id]
            loc_d = _row(loc, LOCATION_FIELDS)
            loc_d["addresses"] = [_row(a, ADDRESS_FIELDS) for a in addresses.get(loc.id, [])]
            rec["service_at_locations"].append({"id": sal.id, "description": sal.description, "location": loc_d})
        rec["attributes"] = []
        for a in attrs.get(s.id, []):
            d = _row(a, ATTRIBUTE_FIELDS)
            d["taxonomy_term"] = _row(terms[a.taxonomy_term_id], TAXONOMY_TERM_FIELDS)
            rec["attributes"].append(d)
        rec["iad_level"] = s.iad_level
        records.append(rec)
    return records
