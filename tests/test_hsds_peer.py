"""HSDS 3.0 interop, checked with the specification's own files (../shared/peer/hsds/): what
`iad export` writes validates against the official service schema, and `iad import` reads
the official examples (a single service, a page of the API, an organization with its
services, the CSV tables)."""

from __future__ import annotations

import json

import pytest

from core.db import Base, make_engine, session_scope
from sociale_kaart.exporter import export_hsds
from sociale_kaart.hsds import load_records
from sociale_kaart.importer import DEMO_FILE, TWENTE_FILE, import_file
from tests.conftest import need_shared

# The examples that hold services (base.json, taxonomy*.json and location.json hold none).
# The ones whose service area is a sentence ("all residents of the MyCity area"); the
# lists carry no service area at all.
AREAS_IN_WORDS = {"service_full.json", "organization_full.json", "csv"}
SERVICE_EXAMPLES = ["service_full.json", "service_list.json", "organization_full.json", "organization_list.json", "csv"]


def _engine(tmp_path, name="hsds.db"):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    Base.metadata.create_all(engine)
    return engine


def _service_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(need_shared("peer", "hsds", "schema", "service_with_definitions.json").read_text())
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("source", [DEMO_FILE, TWENTE_FILE], ids=["demo", "twente"])
def test_every_exported_service_is_valid_hsds(tmp_path, source):
    if not source.exists():
        pytest.skip(f"{source} is absent")
    validator = _service_validator()
    engine = _engine(tmp_path)
    assert import_file(source, engine=engine).ok
    export_hsds(tmp_path / "export.json", engine=engine)
    services = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    invalid = {s["id"]: [e.message for e in validator.iter_errors(s)][:3] for s in services}
    invalid = {k: v for k, v in invalid.items() if v}
    assert services and not invalid, f"{len(invalid)} of {len(services)} invalid, e.g. {list(invalid.items())[:2]}"


@pytest.mark.parametrize("example", SERVICE_EXAMPLES)
def test_the_official_examples_import_and_round_trip(tmp_path, example):
    path = need_shared("peer", "hsds", "examples", example)
    validator = _service_validator()
    engine = _engine(tmp_path)
    report = import_file(path, engine=engine, gemeente="Enschede")
    assert report.ok and report.created >= 1, report.errors
    with session_scope(engine) as session:
        first = load_records(session)
    # The gemeente comes from --gemeente; an area described in words keeps its words.
    assert all([area["name"] for area in rec["service_areas"]] == ["Enschede"] for rec in first)
    if example in AREAS_IN_WORDS:
        assert all("MyCity" in (rec["service_areas"][0]["description"] or "") for rec in first)
    export_hsds(tmp_path / "export.json", engine=engine)
    exported = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    assert not [e.message for s in exported for e in validator.iter_errors(s)]
    again = _engine(tmp_path, "again.db")
    assert import_file(tmp_path / "export.json", engine=again).ok
    with session_scope(again) as session:
        assert load_records(session) == first


def test_an_example_without_a_dutch_gemeente_says_what_to_do(tmp_path):
    path = need_shared("peer", "hsds", "examples", "service_full.json")
    report = import_file(path, engine=_engine(tmp_path))
    assert not report.ok and report.created == 0
    reasons = [e["reason"] for e in report.errors]
    assert any("--gemeente" in r for r in reasons), reasons
    # The area's description is not read as a gemeente's name in full.
    assert all(len(r) < 120 for r in reasons), reasons


def test_an_unknown_gemeente_given_is_refused(tmp_path):
    report = import_file(DEMO_FILE, engine=_engine(tmp_path), gemeente="Atlantis")
    assert not report.ok and [e["reason"] for e in report.errors] == ["onbekende gemeente 'Atlantis'"]


def test_a_file_without_services_is_refused_clearly(tmp_path):
    path = need_shared("peer", "hsds", "examples", "base.json")
    report = import_file(path, engine=_engine(tmp_path))
    assert not report.ok and "geen diensten gevonden" in report.errors[0]["reason"]
