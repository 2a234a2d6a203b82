"""Importers: the real Twente file, idempotent re-import, updates, and malformed input
that must be rejected with a clear report while leaving the database unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import Base, make_engine, session_scope
from sociale_kaart.hsds import load_records
from sociale_kaart.importer import DEMO_FILE, TWENTE_FILE, current_revision, import_file
from sociale_kaart.models import Service, ServiceArea
from sociale_kaart.twente import ages_from_audience
from sociale_kaart.validation import MAX_IMPORT_BYTES

needs_twente = pytest.mark.skipif(
    not TWENTE_FILE.exists(), reason=f"the shared Twente directory is absent ({TWENTE_FILE})"
)


@pytest.fixture()
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'kaart.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def count(engine, model=Service) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def snapshot(engine) -> list[dict]:
    with session_scope(engine) as s:
        return load_records(s)


@needs_twente
def test_twente_file_imports_every_offer(engine):
    report = import_file(TWENTE_FILE, engine=engine)
    assert report.ok, report.errors
    assert report.format == "twente-jsonl"
    lines = [line for line in TWENTE_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert report.created == len(lines) == count(engine)
    first = json.loads(lines[1])
    with session_scope(engine) as s:
        rec = load_records(s, ids=[first["id"]])[0]
    assert rec["name"] == first["name"]
    assert [a["name"] for a in rec["service_areas"]] == first["municipalities"]
    assert rec["url"] == first["source"]
    codes = {
        a["taxonomy_term"]["code"] for a in rec["attributes"] if a["taxonomy_term"]["taxonomy"] == "iad-levensgebied"
    }
    assert "geld" in codes  # theme "geld" → levensgebied geld


@needs_twente
def test_reimport_is_a_noop_and_a_change_is_updated(engine, tmp_path):
    import_file(TWENTE_FILE, engine=engine)
    rev = _revision(engine)
    again = import_file(TWENTE_FILE, engine=engine)
    assert again.ok and again.created == again.updated == 0
    assert again.unchanged == count(engine)
    assert _revision(engine) == rev  # nothing changed: running indexes need not refresh

    lines = TWENTE_FILE.read_text(encoding="utf-8").splitlines()
    changed = json.loads(lines[0])
    changed["audience"] = "Iedereen uit de buurt"
    lines[0] = json.dumps(changed, ensure_ascii=False)
    edited = tmp_path / "services.jsonl"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(edited, engine=engine, dataset="twente")
    assert report.ok and report.updated == 1 and report.created == 0
    assert _revision(engine) == rev + 1
    with session_scope(engine) as s:
        assert s.get(Service, changed["id"]).eligibility_description == "Iedereen uit de buurt"


def _revision(engine) -> int:
    with session_scope(engine) as s:
        return current_revision(s)


def test_demo_directory_imports(engine):
    report = import_file(DEMO_FILE, engine=engine)
    assert report.ok, report.errors
    assert report.created == 12 and report.format == "hsds-json"


def _write_jsonl(path: Path, objs: list) -> Path:
    path.write_text("\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs) + "\n", encoding="utf-8")
    return path


def _twente_like(i: int, **changes) -> dict:
    obj = {
        "id": f"t-{i}",
        "name": f"Aanbod {i}",
        "organization": "Org",
        "municipalities": ["Enschede"],
        "category": "geld",
        "themes": ["geld"],
        "subthemes": [],
        "audience": "",
        "costs": "",
        "access": "",
        "description": "",
        "address": "",
        "town": "",
        "source": "https://example.org",
    }
    obj.update(changes)
    return obj


def test_malformed_rows_are_all_reported_and_nothing_is_written(engine, tmp_path):
    import_file(DEMO_FILE, engine=engine)
    before = snapshot(engine)
    bad = _write_jsonl(
        tmp_path / "bad.jsonl",
        [
            _twente_like(1),
            _twente_like(2, name=""),  # missing required field
            _twente_like(3, municipalities=["Atlantis"]),  # unknown gemeente
            '{"id": "t-4", "name": "kapot"',  # broken JSON
            _twente_like(1),  # duplicate id
            _twente_like(5, municipalities=[]),  # no gemeente at all
        ],
    )
    report = import_file(bad, engine=engine)
    assert not report.ok
    reasons = {(e["where"], e["reason"]) for e in report.errors}
    assert ("regel 2", "verplicht veld ontbreekt: name (naam)") in reasons
    assert ("regel 3", "onbekende gemeente 'Atlantis'") in reasons
    assert any(w == "regel 4" and r.startswith("kapotte JSON") for w, r in reasons)
    assert any(w == "regel 5" and "dubbele id" in r and "regel 1" in r for w, r in reasons)
    assert any(w == "regel 6" and "gemeente" in r for w, r in reasons)
    assert snapshot(engine) == before  # the good first row was not written either


def test_broken_hsds_json_reports_the_line(engine, tmp_path):
    path = tmp_path / "kapot.json"
    path.write_text('[\n  {"id": "a", "name": "A"},\n  {"id": "b", "name": \n]\n', encoding="utf-8")
    report = import_file(path, engine=engine)
    assert not report.ok
    assert report.errors[-1]["where"] == "regel 4"
    assert report.errors[-1]["reason"].startswith("kapotte JSON")
    assert count(engine) == 0


def test_huge_file_is_refused_before_reading(engine, tmp_path):
    path = tmp_path / "groot.jsonl"
    with path.open("wb") as fh:  # sparse: 50 MB without writing 50 MB
        fh.seek(50 * 1024 * 1024)
        fh.write(b"\n")
    assert path.stat().st_size > MAX_IMPORT_BYTES
    report = import_file(path, engine=engine)
    assert not report.ok and "te groot" in report.errors[0]["reason"]
    assert count(engine) == 0


def test_failure_inside_the_transaction_rolls_everything_back(engine, tmp_path, monkeypatch):
    import sociale_kaart.importer as importer

    import_file(DEMO_FILE, engine=engine)
    before = snapshot(engine)
    path = _write_jsonl(tmp_path / "ok.jsonl", [_twente_like(i) for i in range(5)])
    real = importer.write_record
    calls = {"n": 0}

    def fail_on_third(session, rec, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(session, rec, **kw)

    monkeypatch.setattr(importer, "write_record", fail_on_third)
    report = import_file(path, engine=engine)
    assert not report.ok and "teruggedraaid" in report.errors[0]["reason"]
    assert snapshot(engine) == before


def test_simple_spreadsheet_csv(engine, tmp_path):
    path = tmp_path / "kaart.csv"
    path.write_text(
        "id;naam;organisatie;gemeenten;levensgebieden;doelgroep;leeftijd_van;leeftijd_tot;gratis;telefoon;adres;plaats\n"
        "s1;Taalcafé Zuid;Bieb;Enschede|hengelo;taal;Nieuwkomers;;;ja;053-1234567;Markt 1;Enschede\n"
        "s2;Jongerenwerk;Welzijn;Enschede;opvoeden;Jongeren;12;23;;;;\n"
        "s3;Zonder gemeente;Welzijn;;geld;;;;;;;\n"
        "s4;Fout niveau;Welzijn;Enschede;werkloos;;30;20;;;;\n",
        encoding="utf-8",
    )
    report = import_file(path, engine=engine)
    assert not report.ok
    problems = {e["where"]: e["reason"] for e in report.errors}
    assert "regel 4" in problems and "gemeente" in problems["regel 4"]
    assert any(e["where"] == "regel 5" and "onbekend levensgebied" in e["reason"] for e in report.errors)
    assert any(e["where"] == "regel 5" and "hoger dan" in e["reason"] for e in report.errors)
    assert count(engine) == 0

    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    report = import_file(path, engine=engine)
    assert report.ok, report.errors
    with session_scope(engine) as s:
        recs = {r["id"]: r for r in load_records(s)}
        areas = sorted(s.scalars(select(ServiceArea.name).where(ServiceArea.service_id == "s1")))
    assert areas == ["Enschede", "Hengelo"]  # spelling fixed to the known gemeente
    assert recs["s1"]["cost_options"][0]["amount"] == 0
    assert recs["s1"]["phones"][0]["number"] == "053-1234567"
    assert (recs["s2"]["minimum_age"], recs["s2"]["maximum_age"]) == (12, 23)


def test_prune_removes_records_gone_from_the_dataset(engine, tmp_path):
    path = _write_jsonl(tmp_path / "a.jsonl", [_twente_like(i) for i in range(3)])
    import_file(path, engine=engine, dataset="twente")
    _write_jsonl(path, [_twente_like(i) for i in range(2)])
    kept = import_file(path, engine=engine, dataset="twente")
    assert kept.ok and count(engine) == 3 and kept.deleted == 0
    pruned = import_file(path, engine=engine, dataset="twente", prune=True)
    assert pruned.ok and pruned.deleted == 1 and count(engine) == 2


def test_ages_only_from_numbers_in_the_audience():
    assert ages_from_audience("Kinderen tot en met 17 jaar uit gezinnen") == (None, 17)
    assert ages_from_audience("Jongeren van 12 tot 23 jaar") == (12, 23)
    assert ages_from_audience("Inwoners vanaf 55 jaar") == (55, None)
    assert ages_from_audience("Ouderen / senioren") == (None, None)


def test_missing_file_is_reported(engine, tmp_path):
    report = import_file(tmp_path / "bestaat-niet.json", engine=engine)
    assert not report.ok and "niet gevonden" in report.errors[0]["reason"]


def test_unknown_extension_is_reported(engine, tmp_path):
    path = tmp_path / "kaart.xlsx"
    shutil.copy(DEMO_FILE, path)
    report = import_file(path, engine=engine)
    assert not report.ok and "onbekend bestandstype" in report.errors[0]["reason"]


def test_child_ids_of_another_service_are_refused(engine, tmp_path):
    import_file(DEMO_FILE, engine=engine)
    before = snapshot(engine)
    copy = json.loads(DEMO_FILE.read_text(encoding="utf-8"))[0]
    copy["id"] = "kopie"  # a copied row whose phone, area, ... ids were not changed
    path = tmp_path / "kopie.json"
    path.write_text(json.dumps([copy]), encoding="utf-8")
    report = import_file(path, engine=engine)
    assert not report.ok
    assert any("hoort al bij een andere dienst" in e["reason"] for e in report.errors)
    assert snapshot(engine) == before

    twice = dict(copy, id="kopie-2")
    path.write_text(json.dumps([dict(copy, id="kopie-1"), twice]), encoding="utf-8")
    report = import_file(path, engine=engine)
    assert any("wordt ook gebruikt op" in e["reason"] for e in report.errors)


def test_import_demo_data_is_idempotent_and_falls_back_to_the_demo(engine, monkeypatch, tmp_path):
    import sociale_kaart.importer as importer
    from iad.demo_data import load_demo_directory

    first = load_demo_directory(engine=engine, warm=False)
    assert first["import"]["ok"] and first["articles"] >= 6
    second = load_demo_directory(engine=engine, warm=False)
    assert second["import"]["created"] == second["import"]["updated"] == 0
    assert second["import"]["unchanged"] == first["import"]["created"]

    # Without ../shared the demo runs on the small fictional directory.
    monkeypatch.setattr(importer, "TWENTE_FILE", tmp_path / "absent" / "services.jsonl")
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    Base.metadata.create_all(fresh)
    result = importer.import_demo_data(engine=fresh)
    assert result["source"] == str(DEMO_FILE) and result["import"]["created"] == 12
    fresh.dispose()
