"""A read-only HSDS 3.0 API over the sociale kaart (/api/hsds/...), so a wijkteam's own
system or a regional platform can read the directory: the operations of the
specification's schema/openapi.json for services, taxonomies and taxonomy terms, paged,
with its search and taxonomy filters. Services come out exactly as `iad export` writes them
(sociale_kaart.hsds.to_hsds), so the API and the files cannot disagree.

Not (yet) served: /organizations and /service_at_locations; `proximity` and `postcode`.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from flask import Blueprint, abort, g, jsonify, request
from sqlalchemy import or_, select

from core.timefmt import as_utc
from sociale_kaart.hsds import IAD_LEVEL_LABELS, IAD_LEVEL_TAXONOMY, SERVICE_FIELDS, load_records, to_hsds
from sociale_kaart.models import Attribute, Service, TaxonomyTerm

bp = Blueprint("hsds_api", __name__, url_prefix="/api/hsds")

HSDS_VERSION = "3.0"
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
PROFILE_URL = "https://docs.openreferral.org/en/latest/hsds/"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# What each taxonomy of our directory is, for /taxonomies (HSDS requires a description).
TAXONOMY_DESCRIPTIONS = {
    "iad-levensgebied": "Levensgebieden van het IAD-loket: waar de vraag van een inwoner over gaat.",
    IAD_LEVEL_TAXONOMY: "IAD-niveau: van eigen kracht via algemene voorzieningen tot maatwerk.",
}
# One-to-one fields of a service: what the list shows unless full=true.
ONE_TO_ONE = (*SERVICE_FIELDS, "organization_id", "last_modified")


class BadParameter(Exception):
    pass


@bp.errorhandler(BadParameter)
def _bad_parameter(exc: BadParameter):
    return jsonify(error="bad_request", message=str(exc)), 400


def _int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, not {raw[:40]!r}") from None
    if value < 1:
        raise BadParameter(f"{name} starts at 1")
    return value


def _bool(name: str) -> bool:
    raw = (request.args.get(name) or "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise BadParameter(f"{name} must be true or false, not {raw[:40]!r}")


def _datetime(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(f"{name} must be an ISO 8601 date and time, not {raw[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _paging() -> tuple[int, int]:
    return _int("page", 1), min(_int("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)


def _page_object(total: int, page: int, per_page: int, contents: list):
    """The HSDS Page object around one page of results."""
    total_pages = max(1, math.ceil(total / per_page))
    return jsonify(
        total_items=total,
        total_pages=total_pages,
        page_number=page,
        size=len(contents),
        first_page=page == 1,
        last_page=page >= total_pages,
        empty=not contents,
        contents=contents,
    )


def _page(items: list):
    page, per_page = _paging()
    return _page_object(len(items), page, per_page, items[(page - 1) * per_page : page * per_page])


def _service_ids() -> list[str]:
    q = select(Service.id)
    search = (request.args.get("search") or "").strip()
    if search:
        # icontains with autoescape: a % or _ in the search is a character, not a wildcard.
        q = q.where(
            or_(
                Service.name.icontains(search, autoescape=True),
                Service.alternate_name.icontains(search, autoescape=True),
                Service.description.icontains(search, autoescape=True),
            )
        )
    term = request.args.get("taxonomy_term_id")
    if term:
        if term.startswith(f"{IAD_LEVEL_TAXONOMY}:"):  # the IAD level travels as a virtual term
            q = q.where(Service.iad_level == term.split(":", 1)[1])
        else:
            q = q.where(Service.id.in_(select(Attribute.link_id).where(Attribute.taxonomy_term_id == term)))
    taxonomy = request.args.get("taxonomy_id")
    if taxonomy and taxonomy != IAD_LEVEL_TAXONOMY:
        q = q.where(
            Service.id.in_(
                select(Attribute.link_id)
                .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
                .where(TaxonomyTerm.taxonomy == taxonomy)
            )
        )
    if request.args.get("organization_id"):
        q = q.where(Service.organization_id == request.args["organization_id"])
    after = _datetime("modified_after")
    if after is not None:
        q = q.where(Service.last_modified >= after)
    # Sorted in Python: PostgreSQL and SQLite collate "-" and ":" differently.
    return sorted(g.db.scalars(q).all())


@bp.get("/")
def api_info():
    return jsonify(version=HSDS_VERSION, profile=PROFILE_URL, openapi_url=OPENAPI_URL)


@bp.get("/services")
def services():
    """A page of services: one-to-one fields (full=true: everything nested, minimal=true:
    id, name, status and last_modified). Only the page shown is loaded."""
    full, minimal = _bool("full"), _bool("minimal")
    page, per_page = _paging()
    ids = _service_ids()
    shown = ids[(page - 1) * per_page : page * per_page]
    rows = g.db.execute(
        select(Service.id, Service.name, Service.status, Service.last_modified).where(Service.id.in_(shown))
    ).all()
    brief = {row.id: row for row in rows}
    records = {} if minimal or not shown else {r["id"]: r for r in load_records(g.db, ids=shown)}
    contents = []
    for service_id in shown:
        stamp = brief[service_id].last_modified
        last_modified = {"last_modified": as_utc(stamp).isoformat()} if stamp else {}
        if minimal:  # id and last_modified, with the name and status the schema requires
            row = brief[service_id]
            contents.append({"id": service_id, "name": row.name, "status": row.status, **last_modified})
            continue
        service = {**to_hsds(records[service_id]), **last_modified}
        if not full:
            organization_id = (service.get("organization") or {}).get("id")
            service = {k: v for k, v in service.items() if k in ONE_TO_ONE}
            if organization_id:
                service["organization_id"] = organization_id
        contents.append(service)
    return _page_object(len(ids), page, per_page, contents)


@bp.get("/services/<path:service_id>")
def service(service_id: str):
    records = load_records(g.db, ids=[service_id])
    if not records:
        abort(404, description=f"no service with id {service_id[:80]!r}")
    return jsonify(to_hsds(records[0]))


def _terms() -> list[dict]:
    """Every taxonomy term in the directory, and the IAD levels as terms of their own taxonomy."""
    rows = g.db.scalars(select(TaxonomyTerm)).all()
    terms = [
        {
            "id": t.id,
            "code": t.code,
            "name": t.name,
            "description": t.description or "",
            "parent_id": t.parent_id,
            "taxonomy": t.taxonomy,
        }
        for t in rows
    ]
    terms += [
        {
            "id": f"{IAD_LEVEL_TAXONOMY}:{code}",
            "code": code,
            "name": label,
            "description": label,
            "taxonomy": IAD_LEVEL_TAXONOMY,
        }
        for code, label in IAD_LEVEL_LABELS.items()
    ]
    return sorted(({k: v for k, v in t.items() if v is not None} for t in terms), key=lambda t: t["id"])


def _matches(item: dict, search: str) -> bool:
    return not search or any(search in str(item.get(k) or "").lower() for k in ("name", "description", "code"))


@bp.get("/taxonomy_terms")
def taxonomy_terms():
    search = (request.args.get("search") or "").strip().lower()
    taxonomy, parent = request.args.get("taxonomy_id"), request.args.get("parent_id")
    top_only = _bool("top_only")
    terms = [
        t
        for t in _terms()
        if _matches(t, search)
        and (not taxonomy or t.get("taxonomy") == taxonomy)
        and (not parent or t.get("parent_id") == parent)
        and (not top_only or not t.get("parent_id"))
    ]
    return _page(terms)


@bp.get("/taxonomy_terms/<path:term_id>")
def taxonomy_term(term_id: str):
    term = next((t for t in _terms() if t["id"] == term_id), None)
    if term is None:
        abort(404, description=f"no taxonomy term with id {term_id[:80]!r}")
    return jsonify(term)


def _taxonomies() -> list[dict]:
    names = sorted({t["taxonomy"] for t in _terms() if t.get("taxonomy")})
    return [
        {
            "id": name,
            "name": name,
            "description": TAXONOMY_DESCRIPTIONS.get(name, f"Taxonomie {name} van de sociale kaart."),
        }
        for name in names
    ]


@bp.get("/taxonomies")
def taxonomies():
    search = (request.args.get("search") or "").strip().lower()
    return _page([t for t in _taxonomies() if _matches(t, search)])


@bp.get("/taxonomies/<path:taxonomy_id>")
def taxonomy(taxonomy_id: str):
    found = next((t for t in _taxonomies() if t["id"] == taxonomy_id), None)
    if found is None:
        abort(404, description=f"no taxonomy with id {taxonomy_id[:80]!r}")
    return jsonify(found)
