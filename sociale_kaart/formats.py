"""Readers and writers for the file formats a sociale kaart arrives in:

- HSDS JSON: a JSON array of HSDS 3.0 compiled service objects (also accepted: an object
  with "contents" or "services", as the HSDS API returns pages).
- HSDS JSON Lines: one compiled service object per line.
- HSDS CSV: the HSDS tabular data package (services.csv, organizations.csv, ... ) as a
  folder or a .zip.
- Simple CSV: one row per service with Dutch column names, for a municipality that keeps
  its sociale kaart in a spreadsheet (see SIMPLE_CSV_COLUMNS; `;` or `,` separated).
- Twente JSON Lines: the real Sociale kaart Twente (sociale_kaart/twente.py).

Every reader yields SourceRows: where the row is (for the report), and either the raw
record or the reason it could not be read.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.taxonomy import label as levensgebied_label
from sociale_kaart.hsds import (
    ADDRESS_FIELDS,
    ATTRIBUTE_FIELDS,
    COST_OPTION_FIELDS,
    LANGUAGE_FIELDS,
    LOCATION_FIELDS,
    ORGANIZATION_FIELDS,
    PHONE_FIELDS,
    SCHEDULE_FIELDS,
    SERVICE_AREA_FIELDS,
    SERVICE_FIELDS,
    TAXONOMY_TERM_FIELDS,
    levensgebied_attribute,
    to_hsds,
    with_iad_level,
)
from sociale_kaart.twente import looks_like_twente, twente_to_hsds

FORMATS = ("hsds-json", "hsds-jsonl", "hsds-csv", "simple-csv", "twente-jsonl")


@dataclass
class SourceRow:
    where: str
    raw: dict | None = None
    error: str | None = None


class FormatError(ValueError):
    pass


def detect_format(path: Path) -> str:
    if path.is_dir() or path.suffix.lower() == ".zip":
        return "hsds-csv"
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "hsds-json"
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    try:
                        first = json.loads(line)
                    except json.JSONDecodeError:
                        return "hsds-jsonl"  # the reader reports the broken line
                    return "twente-jsonl" if looks_like_twente(first) else "hsds-jsonl"
        return "hsds-jsonl"
    if suffix == ".csv":
        if path.name == "services.csv" and (path.parent / "organizations.csv").exists():
            return "hsds-csv"
        return "simple-csv"
    raise FormatError(f"onbekend bestandstype {path.suffix!r}: gebruik .json, .jsonl, .csv, .zip of een map")


def read_rows(path: Path, fmt: str) -> Iterator[SourceRow]:
    if fmt == "hsds-json":
        yield from read_hsds_json(path)
    elif fmt in ("hsds-jsonl", "twente-jsonl"):
        yield from read_jsonl(path, twente=fmt == "twente-jsonl")
    elif fmt == "hsds-csv":
        yield from read_hsds_csv(path.parent if path.name == "services.csv" else path)
    elif fmt == "simple-csv":
        yield from read_simple_csv(path)
    else:
        raise FormatError(f"onbekend formaat {fmt!r} (kies uit {', '.join(FORMATS)})")


# --- JSON ----------------------------------------------------------------------------


def read_jsonl(path: Path, *, twente: bool) -> Iterator[SourceRow]:
    with path.open("rb") as fh:
        for number, raw_line in enumerate(fh, start=1):
            where = f"regel {number}"
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError:
                yield SourceRow(where, error="geen geldige UTF-8-tekst")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield SourceRow(where, error=f"kapotte JSON: {exc.msg} (kolom {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield SourceRow(where, error="elke regel moet één JSON-object zijn")
                continue
            yield SourceRow(where, raw=twente_to_hsds(obj) if twente else obj)


def _services_of(obj: dict) -> list | None:
    """The services in one HSDS 3.0 JSON object: a page of the API ("contents"), an
    organization with its "services" (each gets that organization), or a single service
    (an object with an id, a name and a status, as schema/service.json)."""
    if isinstance(obj.get("contents"), list):
        return obj["contents"]
    if isinstance(obj.get("services"), list):
        organization = {k: v for k, v in obj.items() if k not in ("services", "contents")}
        if not organization.get("id"):
            return obj["services"]
        return [
            item if not isinstance(item, dict) or item.get("organization") else {**item, "organization": organization}
            for item in obj["services"]
        ]
    if obj.get("id") and obj.get("name") and "status" in obj:
        return [obj]
    return None


def read_hsds_json(path: Path) -> Iterator[SourceRow]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        yield SourceRow("bestand", error="geen geldige UTF-8-tekst")
        return
    decoder = json.JSONDecoder()
    # Walk the top-level array element by element, so every service is reported with
    # the line it starts on, and a syntax error with its own line.
    pos = _skip_ws(text, 0)
    if pos < len(text) and text[pos] == "{":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield SourceRow(f"regel {exc.lineno}", error=f"kapotte JSON: {exc.msg}")
            return
        items = _services_of(obj)
        if items is None:
            yield SourceRow(
                "bestand",
                error="geen diensten gevonden: verwacht een lijst diensten, een pagina (contents), "
                "een organisatie met services, of één dienst",
            )
            return
        for i, item in enumerate(items, start=1):
            yield _json_item(f"dienst {i}", item)
        return
    if pos >= len(text) or text[pos] != "[":
        yield SourceRow("regel 1", error="kapotte JSON: verwacht een lijst [ ... ] van diensten")
        return
    pos = _skip_ws(text, pos + 1)
    index = 0
    if pos < len(text) and text[pos] == "]":
        return
    line, counted = 1, 0  # newlines counted up to `counted`: each stretch of text is counted once

    def line_at(position: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, position)
        counted = position
        return line

    while True:
        index += 1
        line = line_at(pos)
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield SourceRow(f"regel {exc.lineno}", error=f"kapotte JSON: {exc.msg}")
            return
        yield _json_item(f"regel {line} (dienst {index})", item)
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]" and not text[pos + 1 :].strip():
            return
        yield SourceRow(f"regel {line_at(pos)}", error="kapotte JSON: verwacht ',' of ']'")
        return


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _json_item(where: str, item) -> SourceRow:
    if not isinstance(item, dict):
        return SourceRow(where, error="een dienst moet een JSON-object zijn")
    return SourceRow(where, raw=item)


def write_hsds_json(records: Iterable[dict], path: Path) -> int:
    items = [to_hsds(r) for r in records]
    path.write_text(json.dumps(items, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return len(items)


# --- HSDS CSV (tabular data package) ---------------------------------------------------

# table → (file, fields, parent key)
HSDS_TABLES = {
    "organization": ("organizations.csv", ORGANIZATION_FIELDS),
    "service": ("services.csv", ("id", "organization_id") + SERVICE_FIELDS[1:]),
    "service_area": ("service_areas.csv", ("id", "service_id") + SERVICE_AREA_FIELDS[1:]),
    "phone": ("phones.csv", ("id", "service_id") + PHONE_FIELDS[1:]),
    "schedule": ("schedules.csv", ("id", "service_id") + SCHEDULE_FIELDS[1:]),
    "language": ("languages.csv", ("id", "service_id") + LANGUAGE_FIELDS[1:]),
    "cost_option": ("cost_options.csv", ("id", "service_id") + COST_OPTION_FIELDS[1:]),
    "location": ("locations.csv", ("id", "organization_id") + LOCATION_FIELDS[1:]),
    "address": ("addresses.csv", ("id", "location_id") + ADDRESS_FIELDS[1:]),
    "service_at_location": ("service_at_locations.csv", ("id", "service_id", "location_id", "description")),
    "taxonomy_term": ("taxonomy_terms.csv", TAXONOMY_TERM_FIELDS),
    "attribute": ("attributes.csv", ("id", "link_id", "link_entity", "taxonomy_term_id") + ATTRIBUTE_FIELDS[1:]),
}


def _open_tables(path: Path) -> dict[str, list[tuple[int, dict]]]:
    """table → [(line number, row)], from a folder or a zip of CSV files."""
    files: dict[str, str] = {}
    if path.is_dir():
        for name, (file, _fields) in HSDS_TABLES.items():
            f = path / file
            if f.exists():
                files[name] = f.read_text(encoding="utf-8-sig")
    else:
        with zipfile.ZipFile(path) as zf:
            names = {Path(n).name: n for n in zf.namelist()}
            for name, (file, _fields) in HSDS_TABLES.items():
                if file in names:
                    files[name] = zf.read(names[file]).decode("utf-8-sig")
    tables = {}
    for name, text in files.items():
        reader = csv.DictReader(io.StringIO(text))
        # DictReader's line_num counts physical lines, so quoted newlines stay correct.
        rows = []
        for row in reader:
            rows.append((reader.line_num, {k: (v if v != "" else None) for k, v in row.items() if k}))
        tables[name] = rows
    return tables


def read_hsds_csv(path: Path) -> Iterator[SourceRow]:
    try:
        tables = _open_tables(path)
    except (zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
        yield SourceRow("bestand", error=f"kan HSDS CSV niet lezen: {exc}")
        return
    if "service" not in tables:
        yield SourceRow("bestand", error="services.csv ontbreekt")
        return

    def group(table: str, key: str) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for _line, row in tables.get(table, []):
            out.setdefault(row.get(key) or "", []).append(row)
        return out

    orgs = {row["id"]: row for _l, row in tables.get("organization", []) if row.get("id")}
    locations = {row["id"]: row for _l, row in tables.get("location", []) if row.get("id")}
    terms = {row["id"]: row for _l, row in tables.get("taxonomy_term", []) if row.get("id")}
    areas = group("service_area", "service_id")
    phones = group("phone", "service_id")
    schedules = group("schedule", "service_id")
    languages = group("language", "service_id")
    costs = group("cost_option", "service_id")
    sals = group("service_at_location", "service_id")
    addresses = group("address", "location_id")
    attrs = group("attribute", "link_id")

    for line, row in tables["service"]:
        where = f"services.csv regel {line}"
        sid = row.get("id") or ""
        rec = {f: row.get(f) for f in SERVICE_FIELDS}
        org_id = row.get("organization_id")
        if org_id:
            if org_id not in orgs:
                yield SourceRow(where, error=f"organization_id {org_id!r} staat niet in organizations.csv")
                continue
            rec["organization"] = orgs[org_id]
        rec["service_areas"] = areas.get(sid, [])
        rec["phones"] = phones.get(sid, [])
        rec["schedules"] = schedules.get(sid, [])
        rec["languages"] = languages.get(sid, [])
        rec["cost_options"] = costs.get(sid, [])
        rec["service_at_locations"] = []
        missing = None
        for sal in sals.get(sid, []):
            loc = locations.get(sal.get("location_id") or "")
            if loc is None:
                missing = f"location_id {sal.get('location_id')!r} staat niet in locations.csv"
                break
            loc = dict(loc, addresses=addresses.get(loc["id"], []))
            rec["service_at_locations"].append(
                {"id": sal.get("id"), "description": sal.get("description"), "location": loc}
            )
        rec["attributes"] = []
        for attr in attrs.get(sid, []):
            term = terms.get(attr.get("taxonomy_term_id") or "")
            if term is None:
                missing = f"taxonomy_term_id {attr.get('taxonomy_term_id')!r} staat niet in taxonomy_terms.csv"
                break
            rec["attributes"].append(dict(attr, taxonomy_term=term))
        if missing:
            yield SourceRow(where, error=missing)
            continue
        yield SourceRow(where, raw=rec)


def write_hsds_csv(records: Iterable[dict], path: Path) -> int:
    """The HSDS tabular data package in folder `path` (created), or a .zip if `path`
    ends in .zip."""
    tables: dict[str, dict[str, dict]] = {name: {} for name in HSDS_TABLES}
    count = 0
    for rec in records:
        count += 1
        rec = with_iad_level(rec)
        org = rec["organization"]
        if org:
            tables["organization"][org["id"]] = org
        tables["service"][rec["id"]] = dict(rec, organization_id=org["id"] if org else None)
        for kind, table in (
            ("service_areas", "service_area"),
            ("phones", "phone"),
            ("schedules", "schedule"),
            ("languages", "language"),
            ("cost_options", "cost_option"),
        ):
            for child in rec[kind]:
                tables[table][child["id"]] = dict(child, service_id=rec["id"])
        for sal in rec["service_at_locations"]:
            loc = sal["location"]
            tables["location"][loc["id"]] = dict(loc, organization_id=org["id"] if org else None)
            for addr in loc["addresses"]:
                tables["address"][addr["id"]] = dict(addr, location_id=loc["id"])
            tables["service_at_location"][sal["id"]] = {
                "id": sal["id"],
                "service_id": rec["id"],
                "location_id": loc["id"],
                "description": sal["description"],
            }
        for attr in rec["attributes"]:
            term = attr["taxonomy_term"]
            tables["taxonomy_term"][term["id"]] = term
            tables["attribute"][attr["id"]] = dict(
                attr, link_id=rec["id"], link_entity="service", taxonomy_term_id=term["id"]
            )

    out: dict[str, str] = {}
    for name, (file, fields) in HSDS_TABLES.items():
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in tables[name].values():
            writer.writerow({f: "" if row.get(f) is None else row.get(f) for f in fields})
        out[file] = buf.getvalue()
    out["datapackage.json"] = json.dumps(
        {
            "name": "sociale-kaart",
            "profile": "tabular-data-package",
            "resources": [
                {
                    "name": name,
                    "path": file,
                    "profile": "tabular-data-resource",
                    "schema": {"fields": [{"name": f} for f in fields]},
                }
                for name, (file, fields) in HSDS_TABLES.items()
            ],
        },
        indent=2,
    )

    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for file, text in out.items():
                zf.writestr(file, text)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for file, text in out.items():
            (path / file).write_text(text, encoding="utf-8")
    return count


# --- the simple spreadsheet CSV ---------------------------------------------------------

SIMPLE_CSV_COLUMNS = {
    "id": "vaste code van het aanbod (verplicht, uniek)",
    "naam": "naam van het aanbod (verplicht)",
    "organisatie": "naam van de organisatie",
    "omschrijving": "wat het is, in gewone woorden",
    "gemeenten": "gemeente(n) waar het aanbod geldt, gescheiden door | (verplicht)",
    "levensgebieden": "codes uit core/levensgebieden.yml, gescheiden door |",
    "doelgroep": "voor wie het is",
    "leeftijd_van": "minimale leeftijd (getal)",
    "leeftijd_tot": "maximale leeftijd (getal)",
    "gratis": "ja / nee / leeg als onbekend",
    "kosten": "uitleg over de kosten",
    "aanmelden": "hoe iemand zich aanmeldt",
    "telefoon": "telefoonnummer",
    "email": "e-mailadres",
    "website": "webadres",
    "adres": "straat en huisnummer",
    "postcode": "postcode",
    "plaats": "plaats",
    "openingstijden": "wanneer open (vrije tekst)",
    "talen": "talen die er gesproken worden, gescheiden door |",
    "iad_niveau": "eigen_kracht, algemene_voorziening_wijk, algemene_voorziening_stad, wijkteam of specialist",
    "gecontroleerd_op": "datum waarop de gegevens voor het laatst zijn nagekeken (JJJJ-MM-DD)",
}


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").replace(";", "|").split("|") if p.strip()]


def simple_row_to_hsds(row: dict) -> dict:
    sid = (row.get("id") or "").strip()
    org = (row.get("organisatie") or "").strip()
    gratis = (row.get("gratis") or "").strip().lower()
    fees = row.get("kosten")
    cost_options = []
    if gratis in ("ja", "j", "yes", "true", "1"):
        cost_options.append({"id": f"{sid}:cost", "option": "Gratis", "amount": 0, "currency": "EUR"})
    elif gratis in ("nee", "n", "no", "false", "0") and not (fees or "").strip():
        fees = "Niet gratis"
    sals = []
    if (row.get("adres") or "").strip():
        sals.append(
            {
                "id": f"{sid}:sal",
                "location": {
                    "id": f"{sid}:location",
                    "name": row.get("naam"),
                    "addresses": [
                        {
                            "id": f"{sid}:address",
                            "address_1": row.get("adres"),
                            "postal_code": row.get("postcode"),
                            "city": row.get("plaats"),
                        }
                    ],
                },
            }
        )
    attributes = []
    for code in _split(row.get("levensgebieden")):
        try:
            name = levensgebied_label(code)
        except KeyError:
            name = code  # the validator reports the unknown code
        attributes.append(levensgebied_attribute(code, name))
    return {
        "id": sid,
        "name": row.get("naam"),
        "description": row.get("omschrijving"),
        "url": row.get("website"),
        "email": row.get("email"),
        "application_process": row.get("aanmelden"),
        "fees_description": fees,
        "eligibility_description": row.get("doelgroep"),
        "minimum_age": row.get("leeftijd_van"),
        "maximum_age": row.get("leeftijd_tot"),
        "assured_date": row.get("gecontroleerd_op"),
        "organization": {"name": org} if org else None,
        "service_areas": [{"id": f"{sid}:area:{g.lower()}", "name": g} for g in _split(row.get("gemeenten"))],
        "phones": [{"id": f"{sid}:phone", "number": row["telefoon"]}] if (row.get("telefoon") or "").strip() else [],
        "schedules": [{"id": f"{sid}:schedule", "description": row["openingstijden"]}]
        if (row.get("openingstijden") or "").strip()
        else [],
        "languages": [{"id": f"{sid}:language:{i}", "name": t} for i, t in enumerate(_split(row.get("talen")))],
        "cost_options": cost_options,
        "service_at_locations": sals,
        "attributes": attributes,
        "iad_level": row.get("iad_niveau"),
    }


def read_simple_csv(path: Path) -> Iterator[SourceRow]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        yield SourceRow("bestand", error="geen geldige UTF-8-tekst (sla op als CSV UTF-8)")
        return
    first = text.splitlines()[0] if text else ""
    # Dutch spreadsheets save with ';' by default; accept both.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("id", "naam", "gemeenten") if c not in header]
    if missing:
        yield SourceRow("regel 1", error=f"kolom ontbreekt: {', '.join(missing)}")
        return
    unknown = [h for h in header if h and h not in SIMPLE_CSV_COLUMNS]
    if unknown:
        yield SourceRow("regel 1", error=f"onbekende kolom: {', '.join(unknown)}")
        return
    reader.fieldnames = header
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            yield SourceRow(f"regel {reader.line_num}", error="meer velden dan kolommen")
            continue
        yield SourceRow(f"regel {reader.line_num}", raw=simple_row_to_hsds(row))
