"""PostgreSQL parity: the same directory imported into PostgreSQL and into SQLite gives
the same records and the same search results. Runs against the real server
(IAD_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test) in a
schema of its own, dropped afterwards."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from core.db import Base, make_engine, session_scope
from knowledge.search import DirectorySearch
from sociale_kaart.hsds import load_records
from sociale_kaart.importer import DEMO_FILE, TWENTE_FILE, current_revision, import_file

pytestmark = pytest.mark.postgres

PG_URL = os.environ.get("IAD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SOURCE = TWENTE_FILE if TWENTE_FILE.exists() else DEMO_FILE

QUERIES = [
    ("ik heb schulden en kan de huur niet betalen", "Enschede"),
    ("ik voel me alleen sinds mijn man er niet meer is", "Hengelo"),
    ("ik wil vrijwilligerswerk doen", None),
    ("hulp bij formulieren", "Almelo"),
    ("Hoe vraag ik een nieuw paspoort aan?", "Enschede"),
]


@pytest.fixture(scope="module")
def pg_engine():
    schema = f"iad_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means: skip
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}: {exc}")
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('pg') / 'k.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_import_is_the_same_and_idempotent_on_postgres(pg_engine, sqlite_engine):
    pg = import_file(SOURCE, engine=pg_engine)
    lite = import_file(SOURCE, engine=sqlite_engine)
    assert pg.ok and lite.ok, (pg.errors, lite.errors)
    assert pg.created == lite.created > 0
    with session_scope(pg_engine) as a, session_scope(sqlite_engine) as b:
        assert load_records(a) == load_records(b)
        revision = current_revision(a)
    again = import_file(SOURCE, engine=pg_engine)
    assert again.ok and again.unchanged == pg.created and again.created == again.updated == 0
    with session_scope(pg_engine) as a:
        assert current_revision(a) == revision


def test_search_results_are_the_same(pg_engine, sqlite_engine):
    # The keyword ranker always; hybrid as well when the embedding model is there.
    pg = DirectorySearch(pg_engine)
    lite = DirectorySearch(sqlite_engine)
    pg.refresh()
    lite.refresh()
    modes = ["bm25_dutch"] + (["hybrid"] if pg.index.vectors is not None else [])
    for mode in modes:
        for query, gemeente in QUERIES:
            a = pg.search(query, gemeente=gemeente, limit=5, mode=mode)
            b = lite.search(query, gemeente=gemeente, limit=5, mode=mode)
            assert a.no_match == b.no_match, (mode, query)
            assert [h.id for h in a.hits] == [h.id for h in b.hits], (mode, query)
            assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-3)
