"""`iad import FILE`: validate every row first, then write everything in one
transaction (all or nothing). Unchanged records are skipped (same content hash), changed
ones rewritten, and the directory revision is bumped so running search indexes refresh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.config import PROJECT_ROOT
from core.db import get_engine, session_scope
from sociale_kaart.formats import FormatError, detect_format, read_rows
from sociale_kaart.hsds import RecordError, content_hash, normalize_record, write_record
from sociale_kaart.models import (
    Attribute,
    CostOption,
    DirectoryRevision,
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
from sociale_kaart.validation import MAX_IMPORT_BYTES, check_record, known_gemeenten

SHARED_DIR = PROJECT_ROOT.parent / "shared"
TWENTE_FILE = SHARED_DIR / "data" / "twente" / "services.jsonl"
DEMO_FILE = Path(__file__).with_name("demo") / "demo_services.json"


@dataclass
class ImportReport:
    path: str
    format: str | None = None
    dataset: str | None = None
    ok: bool = False
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    revision: int | None = None
    errors: list[dict] = field(default_factory=list)

    def error(self, where: str, reason: str, id: str | None = None) -> None:
        self.errors.append({"where": where, "id": id, "reason": reason})

    def error_first(self, where: str, reason: str) -> None:
        """A finding about the whole file, shown above the rows it sums up."""
        self.errors.insert(0, {"where": where, "id": None, "reason": reason})

    def to_dict(self) -> dict:
        return asdict(self)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def read_and_validate(
    path: Path, fmt: str | None, report: ImportReport, default_gemeente: str | None = None
) -> list[dict]:
    """Canonical records of a file; every bad row goes into report.errors."""
    if not path.exists():
        report.error("bestand", f"bestand niet gevonden: {path}")
        return []
    size = _size(path)
    if size > MAX_IMPORT_BYTES:
        report.error(
            "bestand", f"bestand is te groot ({size / 1e6:.1f} MB, max {MAX_IMPORT_BYTES / 1e6:.0f} MB): splits het op"
        )
        return []
    try:
        report.format = fmt or detect_format(path)
        rows = list(read_rows(path, report.format))
    except FormatError as exc:
        report.error("bestand", str(exc))
        return []
    gemeenten = known_gemeenten()
    if default_gemeente and default_gemeente.lower() not in gemeenten:
        report.error("--gemeente", f"onbekende gemeente {default_gemeente!r}")
        return []
    default_gemeente = gemeenten[default_gemeente.lower()] if default_gemeente else None
    records: list[dict] = []
    without_gemeente = 0
    first_seen: dict[str, str] = {}
    child_owner: dict[tuple[str, str], str] = {}
    for row in rows:
        report.rows += 1
        if row.error:
            report.error(row.where, row.error)
            continue
        try:
            rec = normalize_record(row.raw)
        except RecordError as exc:
            report.error(row.where, str(exc), id=str((row.raw or {}).get("id") or "") or None)
            continue
        problems = check_record(rec, gemeenten, default_gemeente)
        without_gemeente += any("gemeente" in problem for problem in problems)
        for problem in problems:
            report.error(row.where, problem, id=rec.get("id"))
        if rec.get("id") in first_seen:
            report.error(row.where, f"dubbele id (ook op {first_seen[rec['id']]})", id=rec["id"])
            continue
        if rec.get("id"):
            first_seen[rec["id"]] = row.where
        # Ids of a service's own rows (phones, areas, ...) are primary keys: two services
        # may share a location, never a phone row.
        for kind, child_id in _child_ids(rec):
            other = child_owner.setdefault((kind, child_id), row.where)
            if other != row.where:
                problems.append(f"id {child_id!r} in {kind} wordt ook gebruikt op {other}")
                report.error(row.where, problems[-1], id=rec.get("id"))
        if not problems:
            records.append(rec)
    if report.rows == 0 and not report.errors:
        report.error("bestand", "het bestand bevat geen diensten")
    if without_gemeente and not default_gemeente:
        report.error_first(
            "bestand",
            f"{without_gemeente} dienst(en) noemen geen bekende gemeente: geef de gemeente met --gemeente <naam>",
        )
    return records


OWNED_CHILDREN = {
    "service_areas": ServiceArea,
    "phones": Phone,
    "schedules": Schedule,
    "languages": Language,
    "cost_options": CostOption,
    "service_at_locations": ServiceAtLocation,
    "attributes": Attribute,
}


def _child_ids(rec: dict):
    for kind in OWNED_CHILDREN:
        for child in rec.get(kind, []):
            yield kind, child["id"]


def _foreign_child_ids(session: Session, records: list[dict]) -> list[tuple[str, str, str]]:
    """(service id, kind, child id) where a child id already belongs to another service."""
    clashes = []
    for kind, model in OWNED_CHILDREN.items():
        owner_col = model.link_id if model is Attribute else model.service_id
        wanted = {c["id"]: r["id"] for r in records for c in r.get(kind, [])}
        ids = list(wanted)
        for start in range(0, len(ids), 500):
            rows = session.execute(select(model.id, owner_col).where(model.id.in_(ids[start : start + 500])))
            for child_id, owner in rows:
                if owner != wanted[child_id]:
                    clashes.append((wanted[child_id], kind, child_id))
    return clashes


def bump_revision(session: Session) -> int:
    row = session.get(DirectoryRevision, 1)
    if row is None:
        row = DirectoryRevision(id=1, revision=0)
        session.add(row)
    row.revision = (row.revision or 0) + 1
    row.changed_at = datetime.now().astimezone()
    session.flush()
    return row.revision


def current_revision(session: Session) -> int:
    return session.scalar(select(DirectoryRevision.revision).where(DirectoryRevision.id == 1)) or 0


def _remove_orphans(session: Session) -> None:
    session.flush()
    used_locations = select(ServiceAtLocation.location_id)
    session.execute(delete(Location).where(Location.id.not_in(used_locations)))
    used_terms = select(Attribute.taxonomy_term_id)
    session.execute(delete(TaxonomyTerm).where(TaxonomyTerm.id.not_in(used_terms)))
    used_orgs = select(Service.organization_id).where(Service.organization_id.is_not(None))
    session.execute(delete(Organization).where(Organization.id.not_in(used_orgs)))


class ImportConflict(Exception):
    pass


def store_records(
    session: Session, records: list[dict], *, dataset: str | None, prune: bool, report: ImportReport
) -> None:
    clashes = _foreign_child_ids(session, records)
    if clashes:
        for sid, kind, child_id in clashes:
            report.error(f"dienst {sid}", f"id {child_id!r} in {kind} hoort al bij een andere dienst", id=sid)
        raise ImportConflict(f"{len(clashes)} ids horen al bij andere diensten")
    existing, existing_dataset = {}, {}
    for sid, digest, ds in session.execute(select(Service.id, Service.content_hash, Service.dataset)):
        existing[sid], existing_dataset[sid] = digest, ds
    changed = False
    for rec in records:
        digest = content_hash(rec)
        old = existing.get(rec["id"])
        if old == digest and existing_dataset.get(rec["id"]) == dataset:
            report.unchanged += 1
            continue
        write_record(session, rec, dataset=dataset, digest=digest)
        changed = True
        if old is None:
            report.created += 1
        else:
            report.updated += 1
    if prune and dataset:
        keep = {r["id"] for r in records}
        gone = [sid for sid, ds in existing_dataset.items() if ds == dataset and sid not in keep]
        for sid in gone:
            session.delete(session.get(Service, sid))
        report.deleted = len(gone)
        changed = changed or bool(gone)
    if changed:
        _remove_orphans(session)
        report.revision = bump_revision(session)
    else:
        report.revision = current_revision(session)


def import_file(
    path: str | Path,
    *,
    engine: Engine | None = None,
    dataset: str | None = None,
    fmt: str | None = None,
    prune: bool = False,
    dry_run: bool = False,
    gemeente: str | None = None,
) -> ImportReport:
    """Validate FILE, then import it in one transaction. Returns the report; nothing is
    written when report.ok is False. `dataset` names the owner of the records (default:
    the file name) for `prune`, which deletes that dataset's services missing from FILE.
    `gemeente`: for records whose service areas name no known gemeente (see check_record)."""
    path = Path(path)
    report = ImportReport(path=str(path), dry_run=dry_run)
    records = read_and_validate(path, fmt, report, default_gemeente=gemeente)
    report.dataset = dataset or ("twente" if report.format == "twente-jsonl" else path.stem)
    if report.errors:
        return report
    if dry_run:
        report.ok = True
        return report
    try:
        with session_scope(engine or get_engine()) as session:
            store_records(session, records, dataset=report.dataset, prune=prune, report=report)
    except ImportConflict:
        report.created = report.updated = report.unchanged = report.deleted = 0
        return report
    except Exception as exc:  # the transaction rolled back: say so, don't half-report
        report.created = report.updated = report.unchanged = report.deleted = 0
        report.error("database", f"import teruggedraaid: {type(exc).__name__}: {exc}")
        return report
    report.ok = True
    return report


def import_demo_data(*, engine: Engine | None = None) -> dict:
    """What `iad setup` imports: the real Twente sociale kaart from ../shared when it is
    there, otherwise the small fictional demo directory in sociale_kaart/demo/.
    Idempotent: a second run imports nothing. (Indexing it is the search's job: `iad setup`
    warms the index after this.)"""
    source = TWENTE_FILE if TWENTE_FILE.exists() else DEMO_FILE
    report = import_file(source, engine=engine, dataset="twente" if source == TWENTE_FILE else "demo")
    return {"source": str(source), "import": report.to_dict()}
