"""HSDS round trip: export, then import into an empty database, gives the same data."""

from __future__ import annotations

import json

import pytest

from core.db import Base, make_engine, session_scope
from sociale_kaart.exporter import export_hsds
from sociale_kaart.hsds import load_records
from sociale_kaart.importer import DEMO_FILE, TWENTE_FILE, import_file


def _engine(path):
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    return engine


def _records(engine):
    with session_scope(engine) as s:
        return load_records(s)


SOURCES = [pytest.param(DEMO_FILE, id="demo")]
if TWENTE_FILE.exists():
    SOURCES.append(pytest.param(TWENTE_FILE, id="twente"))
else:
    SOURCES.append(
        pytest.param(
            TWENTE_FILE,
            id="twente",
            marks=pytest.mark.skip(reason=f"the shared Twente directory is absent ({TWENTE_FILE})"),
        )
    )


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("target", ["export.json", "export.jsonl", "export.zip", "export_dir"])
def test_export_then_import_gives_the_same_data(tmp_path, source, target):
    first = _engine(tmp_path / "first.db")
    first_report = import_file(source, engine=first)
    assert first_report.ok
    out = tmp_path / target
    result = export_hsds(out, engine=first)
    original = _records(first)
    assert result["services"] == len(original) > 0

    second = _engine(tmp_path / "second.db")
    report = import_file(out, engine=second)
    assert report.ok, report.errors
    assert _records(second) == original
    # And exporting again is a no-op import on the first database.
    assert import_file(out, engine=first, dataset=first_report.dataset).unchanged == len(original)


def test_export_is_plain_hsds(tmp_path):
    engine = _engine(tmp_path / "k.db")
    import_file(DEMO_FILE, engine=engine)
    export_hsds(tmp_path / "out.json", engine=engine)
    services = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    first = services[0]
    assert {"id", "name", "status", "organization", "service_areas", "attributes"} <= set(first)
    assert "iad_level" not in first  # travels as an attribute with taxonomy iad-niveau
    assert any(a["taxonomy_term"]["taxonomy"] == "iad-niveau" for a in first["attributes"])
    export_hsds(tmp_path / "pkg", engine=engine)
    names = {p.name for p in (tmp_path / "pkg").iterdir()}
    assert {
        "services.csv",
        "organizations.csv",
        "service_areas.csv",
        "attributes.csv",
        "taxonomy_terms.csv",
        "datapackage.json",
    } <= names
