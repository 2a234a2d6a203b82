"""Search the sociale kaart and the algemene-regelingen articles from a resident's own
words. The bot's custom actions call:

    from knowledge.search import search_directory
    result = search_directory("ik kom niet rond", gemeente="Enschede", limit=3)
    result.no_match   # True: nothing is a good match; say so and offer the loket/wijkteam
    result.hits       # best first: Hit(id, kind, name, summary, contact, levensgebieden,
                      #                 iad_level, score)

The index lives in the process (one per database): built on first use, refreshed when an
import bumps the directory revision or an article file changes, never rebuilt per query.
Without the embedding model it falls back to the keyword ranker alone.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.db import get_engine, session_scope
from knowledge.articles import ARTICLES_DIR, articles_fingerprint, load_articles
from knowledge.documents import SearchDocument, article_document, service_document
from knowledge.embeddings import embed_queries
from knowledge.index import SearchConfig, SearchIndex
from knowledge.text import analyzer as dutch_analyzer
from knowledge.vectors import PassageVectors, embeddings_available, levensgebied_vectors, model_key
from sociale_kaart.hsds import load_records
from sociale_kaart.importer import current_revision
from sociale_kaart.models import SearchEmbedding, Service
from sociale_kaart.validation import woonplaatsen

log = logging.getLogger(__name__)


@dataclass
class Hit:
    id: str
    kind: str  # "service" | "article"
    name: str
    summary: str
    contact: str
    levensgebieden: list[str]
    iad_level: str
    score: float
    practical: str = ""  # free or not, how to get in (the record's own words)
    gemeenten: tuple[str, ...] | None = None  # None: every gemeente


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    no_match: bool
    mode: str = "hybrid"  # what actually ran: "hybrid", or "bm25_dutch" without the model

    def to_dict(self) -> dict:
        return asdict(self)


def _revision(session: Session) -> int:
    return current_revision(session)


def _load_documents(session: Session, *, include_articles: bool, config: SearchConfig) -> list[SearchDocument]:
    docs = [
        service_document(
            rec,
            signals=config.signals_in_documents,
            synonyms=config.synonyms_in_documents,
            organization_in_passage=config.organization_in_passage,
            expand_topics=config.expand_topics,
            service_types=config.service_types_in_documents,
        )
        for rec in load_records(session)
        if rec.get("status") == "active"
    ]
    if include_articles:
        docs.extend(article_document(a, signals=config.signals_in_documents) for a in load_articles())
    return docs


class DirectorySearch:
    """A search index bound to one database, kept fresh."""

    def __init__(
        self,
        engine: Engine,
        *,
        config: SearchConfig | None = None,
        use_embeddings: bool = True,
        include_articles: bool = True,
    ):
        self.engine = engine
        self.config = config or SearchConfig()
        self.include_articles = include_articles
        self.use_embeddings = use_embeddings
        self.vectors = PassageVectors()
        self.index: SearchIndex | None = None
        self.state: tuple | None = None  # (directory revision, articles, dense) of the index
        self.built_at = 0.0
        self.build_seconds = 0.0
        self._lock = threading.Lock()

    def _dense_ready(self) -> bool:
        return self.use_embeddings and embeddings_available()

    def _state(self, session: Session) -> tuple:
        return (_revision(session), articles_fingerprint() if self.include_articles else (), self._dense_ready())

    def refresh(self, session: Session | None = None, *, force: bool = False) -> bool:
        """Rebuild the index if the data changed (one small query when it did not).
        Returns True when it rebuilt. While one thread rebuilds, the others keep
        answering from the current index."""
        scope = nullcontext(session) if session is not None else session_scope(self.engine)
        with scope as session:
            if not force and self.index is not None and self._state(session) == self.state:
                return False
            if not self._lock.acquire(blocking=self.index is None or force):
                return False  # someone else is rebuilding right now
            try:
                state = self._state(session)
                if not force and self.index is not None and state == self.state:
                    return False
                start = time.perf_counter()
                docs = _load_documents(session, include_articles=self.include_articles, config=self.config)
                vectors = domain = None
                if state[2] and docs:
                    vectors = self.vectors.vectors([d.passage for d in docs], self.engine)
                    domain = levensgebied_vectors()
                self.index = SearchIndex(docs, dutch_analyzer(), self.config, vectors, domain)
                self.state = state
                self.built_at = time.time()
                self.build_seconds = time.perf_counter() - start
                return True
            finally:
                self._lock.release()

    def search(
        self,
        query: str,
        *,
        gemeente: str | None = None,
        levensgebieden: list[str] | None = None,
        age: int | None = None,
        free_only: bool = False,
        limit: int = 3,
        mode: str = "hybrid",
        kinds: tuple[str, ...] = ("service", "article"),
        session: Session | None = None,
        refresh: bool = True,
    ) -> SearchResult:
        if refresh or self.index is None:
            try:
                self.refresh(session)
            except SQLAlchemyError:
                if self.index is None:
                    raise
                # The database is briefly unavailable: answer from the index we have.
                log.exception("directory revision check failed; searching the last index")
        index = self.index
        assert index is not None
        if gemeente is None and self.config.place_from_query:
            gemeente = place_in_query(query)
        mask = index.mask(gemeente=gemeente, levensgebieden=levensgebieden, age=age, free_only=free_only, kinds=kinds)
        query_vector = _query_vector(index, query, mode)
        # Without passage vectors (another model, not embedded yet) hybrid falls back to keywords.
        ran = "bm25_dutch" if mode in ("hybrid", "dense") and query_vector is None else mode
        ranked = index.rank(query, mask, mode=ran, query_vector=query_vector, depth=max(limit, 1))
        hits = []
        if not ranked.no_match:
            for i, score in zip(ranked.order[:limit], ranked.scores[:limit]):
                d = index.docs[int(i)]
                hits.append(
                    Hit(
                        id=d.id,
                        kind=d.kind,
                        name=d.name,
                        summary=d.summary,
                        contact=d.contact,
                        levensgebieden=list(d.levensgebieden),
                        iad_level=d.iad_level,
                        score=round(float(score), 4),
                        practical=d.practical,
                        gemeenten=d.gemeenten,
                    )
                )
        return SearchResult(query=query, hits=hits, no_match=ranked.no_match, mode=ran)

    def ranking(
        self,
        query: str,
        *,
        gemeente: str | None = None,
        mode: str = "hybrid",
        kinds: tuple[str, ...] = ("service",),
        depth: int = 10,
    ):
        """(ids best first, no_match) without the limit or the no-match cut: for evaluation."""
        index = self.index
        assert index is not None
        if gemeente is None and self.config.place_from_query:
            gemeente = place_in_query(query)
        mask = index.mask(gemeente=gemeente, kinds=kinds)
        ranked = index.rank(query, mask, mode=mode, query_vector=_query_vector(index, query, mode), depth=depth)
        return [index.docs[int(i)].id for i in ranked.order[:depth]], ranked


def place_in_query(query: str) -> str | None:
    """The gemeente a question names, itself or by one of its woonplaatsen ("een club in
    Enter" -> Wierden); None when it names none or places in two gemeenten."""
    places = woonplaatsen()
    pattern = _place_pattern(tuple(places))
    found = {places[m.group(0).lower()] for m in pattern.finditer(query)}
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=4)
def _place_pattern(names: tuple[str, ...]) -> re.Pattern:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _query_vector(index, query: str, mode: str):
    """The query's embedding when the mode uses it and the index has passage vectors."""
    if mode not in ("hybrid", "dense") or index.vectors is None:
        return None
    return embed_queries([query])[0]


_searchers: dict[str, DirectorySearch] = {}
_searchers_lock = threading.Lock()


def get_searcher(engine: Engine | None = None) -> DirectorySearch:
    engine = engine or get_engine()
    key = str(engine.url)
    with _searchers_lock:
        searcher = _searchers.get(key)
        if searcher is None:
            searcher = _searchers[key] = DirectorySearch(engine)
    return searcher


def search_directory(
    query: str,
    *,
    gemeente: str | None = None,
    levensgebieden: list[str] | None = None,
    age: int | None = None,
    free_only: bool = False,
    limit: int = 3,
    session: Session | None = None,
) -> SearchResult:
    """Services and articles that fit the resident's words, filtered to their gemeente,
    levensgebieden, age and (free_only) free offers. See the module docstring."""
    engine = session.get_bind() if session is not None else get_engine()
    return get_searcher(engine).search(
        query,
        gemeente=gemeente,
        levensgebieden=levensgebieden,
        age=age,
        free_only=free_only,
        limit=limit,
        session=session,
    )


def warm_index(engine: Engine | None = None) -> dict:
    """Build (or refresh) the index now, storing passage embeddings, so the first
    resident's search is fast. Called by `iad setup` after the import."""
    searcher = get_searcher(engine)
    rebuilt = searcher.refresh(force=searcher.index is None)
    index = searcher.index
    return {
        "documents": index.n if index else 0,
        "dense": bool(index is not None and index.vectors is not None),
        "rebuilt": rebuilt,
        "passages_embedded": searcher.vectors.embedded,
        "seconds": round(searcher.build_seconds, 2),
        "articles_dir": str(ARTICLES_DIR),
    }


def index_status(engine: Engine | None = None) -> dict:
    """For /health, without loading the model: is there a directory, and have its passages
    been embedded with the configured model (the index the action server searches)?"""
    engine = engine or get_engine()
    with Session(engine) as session:
        services = session.scalar(select(func.count()).select_from(Service)) or 0
        embedded = (
            session.scalar(
                select(func.count()).select_from(SearchEmbedding).where(SearchEmbedding.model == model_key())
            )
            or 0
        )
        revision = _revision(session)
    up = services > 0 and embedded >= services and embeddings_available()
    return {"up": up, "services": services, "passages_embedded": embedded, "directory_revision": revision}
