"""`iad bench search --services N`: generate a directory of N services, import it into a
scratch database, build the index, and time searches the way the action server runs
them (query embedding, revision check, filters and ranking included), on one core.

The generated services are clearly fictional (names from word lists below) but shaped
like the real Twente records: a name "Organisation · offer", themes, subthemes, an
audience, one or more gemeenten, and sometimes a description and an address.

Passage embeddings are cached in the scratch database under var/bench/, so a second
run with the same N and seed measures the index build without re-embedding.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import time
from pathlib import Path

import sociale_kaart.models  # noqa: F401 - registers the tables the bench database needs
from core.config import get_settings
from core.db import Base, make_engine, session_scope
from core.taxonomy import label as levensgebied_label
from knowledge.embeddings import get_model
from sociale_kaart.hsds import levensgebied_attribute, normalize_record
from sociale_kaart.importer import ImportReport, store_records
from sociale_kaart.twente import TWENTE_TAXONOMY, theme_levensgebieden
from sociale_kaart.validation import check_record, known_gemeenten

ORG_WORDS = [
    "Welzijn",
    "Samen",
    "Buurtkracht",
    "Noabers",
    "Wijkpunt",
    "Stadsteam",
    "Hulpnet",
    "Mienskip",
    "Kompas",
    "Brug",
    "Lichtpunt",
    "Anker",
    "Horizon",
    "Steunpunt",
    "Haven",
]
ORG_PLACES = ["Noord", "Zuid", "Oost", "West", "Centrum", "Stad", "Dorp", "Regio", "Wijk", "Veld"]
OFFERS = {
    "geld": [
        "budgetcoach",
        "hulp bij geldzaken",
        "formulierenhulp",
        "voedselpakketten",
        "kledingpunt",
        "spreekuur geldzorgen",
        "thuisadministratie",
        "schuldhulpmaatje",
    ],
    "ontmoeten": [
        "koffieochtend",
        "huiskamer in de wijk",
        "samen eten",
        "wandelgroep",
        "ontmoetingscentrum",
        "maatjesproject",
        "bezoekdienst",
        "buurtcafe",
    ],
    "jeugd": [
        "jongerenwerk",
        "opvoedspreekuur",
        "huiswerkbegeleiding",
        "ouder-kindgroep",
        "tienerinloop",
        "speel-o-theek",
        "gezinscoach",
        "kinderclub",
    ],
    "vrijwillig": [
        "vrijwilligerspunt",
        "vacaturebank vrijwilligers",
        "klussendienst",
        "vervoer door vrijwilligers",
        "boodschappenhulp",
        "tuinhulp",
    ],
    "taal": ["taalcafe", "taalmaatje", "digitaal spreekuur", "leesclub", "computerles", "cursus Nederlands"],
    "mantelzorg": [
        "mantelzorgsteunpunt",
        "respijtzorg",
        "lotgenotengroep mantelzorgers",
        "jonge mantelzorgers",
        "mantelzorgcafe",
    ],
    "mentaal": ["inloophuis", "herstelgroep", "praatgroep", "ervaringsdeskundigen"],
    "bewegen": ["beweegcoach", "sport voor ouderen", "zwemmen voor iedereen", "fietsmaatje"],
    "vervoer": ["rijdienst", "belbus", "ritten voor ouderen", "vervoersdienst"],
    "advies": [
        "sociaal loket",
        "maatschappelijk werk",
        "informatiepunt",
        "cliëntondersteuning",
        "wijkspreekuur",
        "welzijnsadvies",
    ],
}
SUBTHEMES = {
    "geld": ["geldzorgen", "bestaanszekerheid", "administratie", "kleding"],
    "ontmoeten": ["ontmoeting", "eenzaamheid", "maatjes", "senioren"],
    "jeugd": ["jeugd", "opvoeden & gezin", "ouders"],
    "vrijwillig": ["vrijwillige inzet", "vervoer", "praktische hulp"],
    "taal": ["taal", "digitale vaardigheden"],
    "mantelzorg": ["mantelzorg", "dementie"],
    "mentaal": ["mentaal welzijn & herstel"],
    "bewegen": ["sport", "sport & bewegen"],
    "vervoer": ["vervoer"],
    "advies": ["maatschappelijke ondersteuning", "praktische hulp"],
}
AUDIENCES = [
    "",
    "",
    "",
    "Ouderen / senioren",
    "Ouders en gezinnen",
    "Kinderen en jongeren",
    "Mantelzorgers",
    "Mensen met geldzorgen of een laag inkomen",
    "Nieuwkomers / mensen die de Nederlandse taal leren",
    "(Potentiële) vrijwilligers",
    "Kinderen tot en met 17 jaar",
    "Inwoners vanaf 55 jaar",
]
DESCRIPTIONS = [
    "Vrijwilligers helpen inwoners een paar uur per week.",
    "Elke week een vaste groep met koffie en een praatje.",
    "Een medewerker denkt mee en zoekt samen met u naar een oplossing.",
    "U kunt zonder afspraak binnenlopen.",
    "Voor vragen over geld, post en formulieren.",
]
# The bench's own questions (not from any evaluation set).
BENCH_QUERIES = [
    "ik kan mijn rekeningen niet meer betalen",
    "waar kan ik koffie drinken met andere mensen",
    "mijn zoon van 16 hangt op straat rond",
    "ik zoek vrijwilligerswerk in de buurt",
    "hulp bij het invullen van formulieren van de gemeente",
    "mijn moeder is vergeetachtig en ik zorg voor haar",
    "ik wil beter Nederlands leren spreken",
    "wie kan mij naar het ziekenhuis rijden",
    "ik voel me somber en wil met iemand praten",
    "goedkoop sporten voor ouderen",
    "is er een voedselbank",
    "ik heb hulp nodig in de tuin",
    "mijn kind krijgt geen zwemles want het is te duur",
    "ik ben de hele dag alleen thuis",
    "wij hebben schulden en er komt een deurwaarder",
    "waar kan ik terecht met vragen over opvoeding",
    "ik wil leren werken met de computer",
    "mantelzorger en overbelast",
    "ik heb niemand om mee te praten sinds mijn man overleed",
    "wat kan de gemeente doen als ik het huishouden niet meer kan",
]


def generate_records(n: int, *, seed: int = 0) -> list[dict]:
    """n fictional, valid HSDS records over the configured region's gemeenten."""
    rng = random.Random(seed)
    gemeenten = sorted(set(known_gemeenten().values()))
    themes = list(OFFERS)
    records = []
    for i in range(n):
        org = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_PLACES)} {i % 97}"
        theme = rng.choice(themes)
        offer = rng.choice(OFFERS[theme])
        subs = rng.sample(SUBTHEMES[theme], k=min(len(SUBTHEMES[theme]), rng.choice((0, 1, 1, 2))))
        sid = f"bench-{seed}-{i:06d}"
        area = rng.sample(gemeenten, k=1 if rng.random() < 0.85 else rng.randint(2, 5))
        attributes = [
            {
                "link_type": "primary_theme",
                "taxonomy_term": {
                    "id": f"{TWENTE_TAXONOMY}:thema:{theme}",
                    "code": theme,
                    "name": theme,
                    "taxonomy": TWENTE_TAXONOMY,
                },
            }
        ]
        for sub in subs:
            attributes.append(
                {
                    "link_type": "subtheme",
                    "taxonomy_term": {
                        "id": f"{TWENTE_TAXONOMY}:subthema:{sub.replace(' ', '-')}",
                        "code": sub,
                        "name": sub,
                        "taxonomy": TWENTE_TAXONOMY,
                    },
                }
            )
        for code in theme_levensgebieden([theme], subs):
            attributes.append(levensgebied_attribute(code, levensgebied_label(code)))
        audience = rng.choice(AUDIENCES)
        records.append(
            {
                "id": sid,
                "name": f"{org} · {offer} {i}",
                "description": rng.choice(DESCRIPTIONS) if rng.random() < 0.2 else None,
                "url": f"https://example.org/{sid}",
                "eligibility_description": audience or None,
                "maximum_age": 17 if "17 jaar" in audience else None,
                "minimum_age": 55 if "55 jaar" in audience else None,
                "organization": {"id": f"bench-org-{org}", "name": org},
                "service_areas": [{"id": f"{sid}:area:{g}", "name": g} for g in area],
                "phones": [{"id": f"{sid}:phone", "number": f"053-{rng.randint(1000000, 9999999)}"}]
                if rng.random() < 0.3
                else [],
                "cost_options": [{"id": f"{sid}:cost", "option": "Gratis", "amount": 0, "currency": "EUR"}]
                if rng.random() < 0.3
                else [],
                "attributes": attributes,
                "iad_level": rng.choice(("algemene_voorziening_wijk", "algemene_voorziening_stad")),
            }
        )
    return records


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-quantile (0 <= q <= 1) of the values."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


def bench_search(services: int = 10000, *, seed: int = 0, rounds: int = 10, workdir: str | Path | None = None) -> dict:
    """Returns {"services", "import_seconds", "index_build_seconds", "passages_embedded",
    "search_ms": {"p50", "p95", "max", "n"}, ...}. Searches run pinned to one CPU core
    with one torch thread; the index build may use every core."""
    # heavy: crisis_bench and dialogue_bench import this module for percentile() only
    import torch  # about 1.5 s

    from knowledge.search import DirectorySearch  # heavy: loads spaCy (about 3 s), as torch above

    workdir = Path(workdir or get_settings().data_dir / "bench")
    workdir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{workdir}/bench-{services}-{seed}.db")
    Base.metadata.create_all(engine)
    try:
        start = time.perf_counter()
        records = [normalize_record(r) for r in generate_records(services, seed=seed)]
        bad = [r["id"] for r in records if check_record(r)]
        if bad:
            raise RuntimeError(f"generated records fail validation: {bad[:3]}")
        report = ImportReport(path="(generated)")
        with session_scope(engine) as session:
            store_records(session, records, dataset="bench", prune=True, report=report)
        import_seconds = time.perf_counter() - start

        get_model()  # loading the model is start-up, not index build
        build_threads = os.cpu_count() or 1
        torch.set_num_threads(build_threads)
        searcher = DirectorySearch(engine)
        start = time.perf_counter()
        searcher.refresh(force=True)
        build_seconds = time.perf_counter() - start

        # One core, one thread: what a search costs the action server.
        affinity = None
        if hasattr(os, "sched_getaffinity"):
            affinity = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {min(affinity)})
        torch.set_num_threads(1)
        try:
            rng = random.Random(seed + 1)
            gemeenten = [None] + sorted({a["name"] for r in records for a in r["service_areas"]})
            for q in BENCH_QUERIES[:3]:  # warm-up
                searcher.search(q)
            # A long-running action server has long collected the build's garbage.
            gc.collect()
            times: list[float] = []
            no_match = 0
            for _ in range(rounds):
                for q in BENCH_QUERIES:
                    g = rng.choice(gemeenten)
                    t = time.perf_counter()
                    result = searcher.search(q, gemeente=g, limit=3)
                    times.append((time.perf_counter() - t) * 1000)
                    no_match += result.no_match
        finally:
            if affinity is not None:
                os.sched_setaffinity(0, affinity)
        return {
            "services": services,
            "documents": searcher.index.n,
            "dense": searcher.index.vectors is not None,
            "import_seconds": round(import_seconds, 2),
            "import": {"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
            "index_build_seconds": round(build_seconds, 2),
            "index_build_threads": build_threads,
            "passages_embedded": searcher.vectors.embedded,
            "search_ms": {
                "p50": round(statistics.median(times), 2),
                "p95": round(percentile(times, 0.95), 2),
                "max": round(max(times), 2),
                "n": len(times),
            },
            "search_threads": 1,
            "no_match_share": round(no_match / len(times), 3),
            "database": str(engine.url),
        }
    finally:
        engine.dispose()
