"""search_directory / DirectorySearch on the fictional demo directory plus the articles:
the contract the bot relies on, the filters, the no-match threshold, and refreshing the
index when the data changes."""

from __future__ import annotations

import json

import pytest

from core.config import get_settings
from core.db import Base, make_engine, session_scope
from knowledge.articles import load_articles
from knowledge.search import DirectorySearch, Hit, get_searcher, search_directory
from knowledge.vectors import embeddings_available
from sociale_kaart.importer import DEMO_FILE, import_file

needs_model = pytest.mark.skipif(
    not embeddings_available(),
    reason=f"embedding model not built ({get_settings().embedding_model}); run `iad setup`",
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "kaart.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    assert import_file(DEMO_FILE, engine=engine).ok
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def searcher(engine):
    s = DirectorySearch(engine)
    s.refresh()
    return s


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


@needs_model
def test_hits_follow_the_contract(searcher):
    result = searcher.search("Ik heb schulden en er komen steeds meer brieven", gemeente="Enschede")
    assert result.mode == "hybrid" and not result.no_match
    assert 1 <= len(result.hits) <= 3
    for hit in result.hits:
        assert isinstance(hit, Hit)
        assert hit.kind in ("service", "article")
        assert hit.name and hit.summary and hit.contact and hit.iad_level
        assert isinstance(hit.levensgebieden, list) and isinstance(hit.score, float)
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    assert {"demo-geldcafe", "artikel:schuldhulpverlening"} & set(ids(result))
    geldcafe = next(h for h in searcher.search("geldcafé", limit=1).hits)
    assert "053 000 0001" in geldcafe.contact and "Voorbeeldstraat 1" in geldcafe.contact


@needs_model
@pytest.mark.parametrize(
    "query, expected",
    [
        ("Ik ben eenzaam en zie bijna niemand meer", {"demo-koffieochtend", "demo-maatje"}),
        ("ik wil beter leren lezen en schrijven", {"demo-taalhuis"}),
        ("Wie kan mij naar het ziekenhuis brengen?", {"demo-rijdienst"}),
        ("ik zorg voor mijn zieke man en ik ben op", {"demo-mantelzorgpunt", "artikel:mantelzorgwaardering"}),
    ],
)
def test_own_words_find_the_service(searcher, query, expected):
    result = searcher.search(query, gemeente="Enschede")
    assert not result.no_match
    assert expected & set(ids(result)), ids(result)


@needs_model
@pytest.mark.parametrize(
    "query",
    [
        "Hoe vraag ik een nieuw paspoort aan?",
        "Ik wil een dakkapel op mijn huis bouwen. Heb ik een vergunning nodig?",
        "Ik ga trouwen. Kan dat op het stadhuis?",
    ],
)
def test_no_good_match_is_said_not_shown(searcher, query):
    result = searcher.search(query, gemeente="Enschede")
    assert result.no_match and result.hits == []


def test_gemeente_filter(searcher):
    # The demo services are all in Enschede; the articles hold for every gemeente.
    result = searcher.search("hulp bij schulden", gemeente="Hengelo", limit=10, mode="bm25_dutch")
    assert result.hits and all(h.kind == "article" for h in result.hits)
    enschede = searcher.search("hulp bij schulden", gemeente="enschede", limit=10, mode="bm25_dutch")
    assert "demo-geldcafe" in ids(enschede)


def test_age_filter(searcher):
    young = searcher.search("jongeren plek om te chillen", gemeente="Enschede", age=15, limit=20, mode="bm25_dutch")
    old = searcher.search("jongeren plek om te chillen", gemeente="Enschede", age=40, limit=20, mode="bm25_dutch")
    assert "demo-jongerenplek" in ids(young)
    assert "demo-jongerenplek" not in ids(old)
    assert "demo-maatje" not in ids(searcher.search("maatje ouderen", age=30, limit=20, mode="bm25_dutch"))
    assert "demo-maatje" in ids(searcher.search("maatje ouderen", age=70, limit=20, mode="bm25_dutch"))


def test_free_only_drops_services_that_cost_money(searcher):
    assert "demo-klusdienst" in ids(searcher.search("klusjes in huis", limit=20, mode="bm25_dutch"))
    result = searcher.search("klusjes in huis", limit=20, free_only=True, mode="bm25_dutch")
    assert "demo-klusdienst" not in ids(result)
    assert "demo-koffieochtend" not in ids(
        searcher.search("koffie drinken met buren", limit=20, free_only=True, mode="bm25_dutch")
    )


def test_levensgebied_filter_keeps_general_entry_points(searcher):
    result = searcher.search("hulp", levensgebieden=["taal"], limit=30, mode="bm25_dutch")
    found = set(ids(result))
    assert "demo-taalhuis" in found
    assert "demo-wijkteam" in found  # no levensgebied of its own: helps with every one
    assert "demo-geldcafe" not in found


@needs_model
def test_search_directory_uses_the_session_database(engine):
    with session_scope(engine) as session:
        result = search_directory("taalhuis lezen schrijven", gemeente="Enschede", session=session)
    assert result.hits and result.hits[0].id == "demo-taalhuis"
    assert get_searcher(engine).index is not None


def test_index_refreshes_after_an_import_and_not_per_query(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    Base.metadata.create_all(engine)
    import_file(DEMO_FILE, engine=engine)
    searcher = DirectorySearch(engine, use_embeddings=False)
    assert searcher.refresh() is True
    assert searcher.refresh() is False  # same revision: no rebuild
    assert "demo-nieuw" not in ids(searcher.search("repair café fietsen maken", limit=5))

    new = {
        "id": "demo-nieuw",
        "name": "Repair Café De Reparateur (fictief)",
        "description": "Samen kapotte fietsen en lampen maken.",
        "service_areas": [{"name": "Enschede"}],
    }
    path = tmp_path / "nieuw.json"
    path.write_text(json.dumps([new]), encoding="utf-8")
    assert import_file(path, engine=engine).ok
    result = searcher.search("repair café fietsen maken", limit=5)
    assert result.hits[0].id == "demo-nieuw"
    assert searcher.refresh() is False
    engine.dispose()


def test_keyword_fallback_without_the_model(engine):
    searcher = DirectorySearch(engine, use_embeddings=False)
    result = searcher.search("voedselpakket", gemeente="Enschede")
    assert result.mode == "bm25_dutch"
    assert result.hits[0].id == "demo-voedselpunt"
    assert searcher.search("xyzzy qwerty", gemeente="Enschede").no_match


def test_articles_are_valid_and_searchable(searcher):
    articles = load_articles()
    assert {
        "bijzondere-bijstand",
        "kwijtschelding-gemeentelijke-belastingen",
        "wmo-melding",
        "mantelzorgwaardering",
        "schuldhulpverlening",
        "meedoen-met-een-laag-inkomen",
    } <= {a.id for a in articles}
    for a in articles:
        assert a.summary and a.contact and a.source and a.body
        assert len(a.summary) <= 120, a.id
    result = searcher.search("kwijtschelding afvalstoffenheffing", limit=3, mode="bm25_dutch")
    assert result.hits[0].id == "artikel:kwijtschelding-gemeentelijke-belastingen"
    assert result.hits[0].kind == "article"


def test_articles_read_at_b1_level():
    import re

    import textstat

    textstat.set_lang("nl")
    for a in load_articles():
        body = " ".join(re.sub(r"[*#>`_-]+", " ", a.body).split())
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", body) if s]
        # Flesch-Douma (Dutch Flesch): 60-70 is plain language, higher is easier.
        assert textstat.flesch_reading_ease(body) >= 65, a.id
        assert len(body.split()) / len(sentences) <= 12, a.id
