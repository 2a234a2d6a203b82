"""The in-memory search index over SearchDocuments: a fielded BM25 keyword ranker
(bm25s, on the Dutch analyzer of knowledge/text.py) fused with dense retrieval (cosine on
e5 passage embeddings), plus filter arrays for gemeente, age, cost, levensgebied and
kind. Built once per directory revision; a query only does a few vector operations.

Scores: per query, over the documents that pass the filters,
    fused = w_dense * dense' + w_bm25 * bm25' + w_levensgebied * lg
where bm25' is BM25 divided by its best candidate, dense' is the cosine rescaled
between its worst and best candidate, and lg is the share of the levensgebieden heard in
the query (via the signal words of core/levensgebieden.yml) that the document covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import bm25s
import numpy as np

from core.taxonomy import levensgebieden as all_levensgebieden
from knowledge.documents import SearchDocument
from knowledge.synonyms import expand_terms
from knowledge.text import DutchAnalyzer


@dataclass(frozen=True)
class SearchConfig:
    k1: float = 1.2
    b: float = 0.75
    field_weights: tuple[tuple[str, float], ...] = (("name", 1.0), ("topics", 0.3), ("text", 0.2))
    # Chosen on the tuning questions (`iad eval search --cases eval/tuning/search.yml --tune`):
    # 0.7 / 0.3 gave the best Recall@5 + MRR@10 there (0.6 / 0.4 before).
    w_dense: float = 0.7
    w_bm25: float = 0.3
    # Bonus for documents in the levensgebieden the query's signal words point at.
    # Measured on the dev cases: no gain on top of the dense ranker, so off by default.
    w_levensgebied: float = 0.0
    synonym_weight: float = 0.5  # weight of query terms added by the synonym list
    fusion: str = "linear"  # or "rrf"
    rrf_k: int = 60
    # "No good match" when the question is far from both the best candidate and every
    # levensgebied (cosine to the best candidate + cosine to the closest levensgebied
    # prototype below min_relevance), unless the keyword ranker found a clear match (best
    # BM25 per query term at least min_bm25). Raw e5 cosines sit in a narrow band
    # (0.78-0.88 here), so neither cosine alone separates well.
    min_relevance: float = 1.675
    min_bm25: float = 0.7
    signals_in_documents: bool = True
    synonyms_in_documents: bool = True
    organization_in_passage: bool = True
    # Signal words and synonyms also in the keyword ranker's topics field (else only in
    # the dense passage).
    expand_topics: bool = False
    # What well-known organisations and service types do (knowledge/service_types.yml), in
    # the passage of a record whose name names one.
    service_types_in_documents: bool = True
    # Without a gemeente given, the one the question names (itself or a village of it).
    place_from_query: bool = True

    def with_(self, **changes) -> SearchConfig:
        return replace(self, **changes)


@dataclass
class Ranked:
    order: np.ndarray  # document indices, best first
    scores: np.ndarray  # fused score per entry of order
    no_match: bool
    top_cosine: float | None = None
    domain_cosine: float | None = None
    top_bm25: float | None = None
    detected_levensgebieden: tuple[str, ...] = ()


@dataclass
class SignalMatcher:
    """Which levensgebieden a text signals, by the stems of the signal phrases."""

    phrases: list[tuple[str, frozenset[str]]] = field(default_factory=list)

    @classmethod
    def build(cls, analyzer: DutchAnalyzer) -> SignalMatcher:
        phrases = []
        for lg in all_levensgebieden():
            for phrase in lg.signals:
                terms = frozenset(analyzer.terms(phrase))
                if terms:
                    phrases.append((lg.code, terms))
        return cls(phrases)

    def detect(self, terms: set[str]) -> tuple[str, ...]:
        found = [code for code, needed in self.phrases if needed <= terms]
        return tuple(dict.fromkeys(found))


def plain_tokens(text: str) -> list[str]:
    """The baseline's tokenizer: bm25s's own (lower case, words of 2+ characters, its
    Dutch stop-word list), without lemmas, compounds, synonyms or stemming."""
    return bm25s.tokenize([text], stopwords="nl", return_ids=False, show_progress=False)[0]


class SearchIndex:
    def __init__(
        self,
        docs: list[SearchDocument],
        analyzer: DutchAnalyzer,
        config: SearchConfig | None = None,
        vectors: np.ndarray | None = None,
        domain_vectors: np.ndarray | None = None,
    ):
        self.docs = docs
        self.analyzer = analyzer
        self.config = config or SearchConfig()
        self.n = len(docs)
        self.vectors = vectors  # (n, dim) float32, L2-normalised, or None
        # One query-style vector per levensgebied ("label: signal words"): how close a
        # question is to anything the sociale kaart is about.
        self.domain_vectors = domain_vectors
        self.signals = SignalMatcher.build(analyzer)

        self.field_index: dict[str, bm25s.BM25] = {}
        for name, _w in self.config.field_weights:
            tokens = [analyzer.terms(d.fields.get(name, "")) for d in docs]
            self.field_index[name] = _bm25(tokens, self.config)
        plain = [plain_tokens(d.plain_text) for d in docs]
        self.plain_index = _bm25(plain, self.config)

        self.kind = np.array([d.kind for d in docs])
        self.min_age = np.array([np.nan if d.minimum_age is None else d.minimum_age for d in docs])
        self.max_age = np.array([np.nan if d.maximum_age is None else d.maximum_age for d in docs])
        self.not_free = np.array([d.free is False for d in docs], dtype=bool)
        self.everywhere = np.array([d.gemeenten is None for d in docs], dtype=bool)
        self.by_gemeente: dict[str, np.ndarray] = {}
        for i, d in enumerate(docs):
            for g in d.gemeenten or ():
                self.by_gemeente.setdefault(g.lower(), []).append(i)
        self.by_gemeente = {g: np.array(ix) for g, ix in self.by_gemeente.items()}
        self.general = np.array([not d.levensgebieden for d in docs], dtype=bool)
        self.lg_matrix = {
            lg.code: np.array([lg.code in d.levensgebieden for d in docs], dtype=bool) for lg in all_levensgebieden()
        }

    # -- filters ---------------------------------------------------------------------
    def mask(
        self,
        *,
        gemeente: str | None = None,
        levensgebieden: list[str] | None = None,
        age: int | None = None,
        free_only: bool = False,
        kinds: tuple[str, ...] = ("service", "article"),
    ) -> np.ndarray:
        keep = np.isin(self.kind, kinds)
        if gemeente:
            in_gemeente = self.everywhere.copy()
            ix = self.by_gemeente.get(gemeente.strip().lower())
            if ix is not None:
                in_gemeente[ix] = True
            keep &= in_gemeente
        if age is not None:
            with np.errstate(invalid="ignore"):
                keep &= ~(self.min_age > age) & ~(self.max_age < age)
        if free_only:
            keep &= ~self.not_free
        if levensgebieden:
            # General entry points (maatschappelijk werk, welzijn: no levensgebied of
            # their own) stay in: they help with every levensgebied.
            wanted = self.general.copy()
            for code in levensgebieden:
                if code in self.lg_matrix:
                    wanted |= self.lg_matrix[code]
            keep &= wanted
        return keep

    # -- scoring ---------------------------------------------------------------------
    def query_terms(self, query: str) -> tuple[list[str], list[str]]:
        terms = self.analyzer.terms(query)
        return terms, expand_terms(terms, self.analyzer)

    def bm25_scores(self, terms: list[str], extra: list[str]) -> np.ndarray:
        total = np.zeros(self.n, dtype=np.float32)
        for name, weight in self.config.field_weights:
            index = self.field_index[name]
            known = [t for t in terms if t in index.vocab_dict]
            if known:
                total += weight * index.get_scores(known)
            known_extra = [t for t in extra if t in index.vocab_dict]
            if known_extra:
                total += weight * self.config.synonym_weight * index.get_scores(known_extra)
        return total

    def plain_scores(self, query: str) -> np.ndarray:
        known = [t for t in plain_tokens(query) if t in self.plain_index.vocab_dict]
        if not known:
            return np.zeros(self.n, dtype=np.float32)
        return self.plain_index.get_scores(known)

    def rank(
        self,
        query: str,
        mask: np.ndarray,
        *,
        mode: str = "hybrid",
        query_vector: np.ndarray | None = None,
        depth: int = 50,
    ) -> Ranked:
        """The best `depth` candidates, best first (ties: directory order)."""
        cfg = self.config
        cand = np.flatnonzero(mask)
        if cand.size == 0 or not query.strip():
            return Ranked(order=cand[:0], scores=np.zeros(0), no_match=True)

        if mode == "bm25":
            raw = self.plain_scores(query)[cand]
            order = _best(raw, depth)
            best = float(raw[order[0]])
            return Ranked(order=cand[order], scores=raw[order], no_match=best <= 0, top_bm25=best)

        terms, extra = self.query_terms(query)
        detected = self.signals.detect(set(terms) | set(extra))
        bm25 = self.bm25_scores(terms, extra)[cand]
        top_bm25 = float(bm25.max()) if bm25.size else 0.0
        bm25_n = bm25 / top_bm25 if top_bm25 > 0 else np.zeros_like(bm25)
        bm25_per_term = top_bm25 / max(1, len(set(terms)))

        lg = np.zeros(cand.size, dtype=np.float32)
        if detected:
            for code in detected:
                lg += self.lg_matrix[code][cand]
            lg /= len(detected)

        if mode == "bm25_dutch" or self.vectors is None or query_vector is None:
            fused = bm25_n + cfg.w_levensgebied * lg
            order = _best(fused, depth)
            return Ranked(
                order=cand[order],
                scores=fused[order],
                no_match=top_bm25 <= 0,
                top_bm25=bm25_per_term,
                detected_levensgebieden=detected,
            )

        cos = self.vectors[cand] @ query_vector
        top_cos = float(cos.max())
        domain = float((self.domain_vectors @ query_vector).max()) if self.domain_vectors is not None else top_cos
        relevance_too_low = top_cos + domain < cfg.min_relevance
        if mode == "dense":
            order = _best(cos, depth)
            return Ranked(
                order=cand[order],
                scores=cos[order],
                no_match=relevance_too_low,
                top_cosine=top_cos,
                domain_cosine=domain,
                top_bm25=bm25_per_term,
                detected_levensgebieden=detected,
            )

        if cfg.fusion == "rrf":
            rank_d = np.empty(cand.size)
            rank_d[np.argsort(-cos, kind="stable")] = np.arange(cand.size)
            rank_b = np.empty(cand.size)
            rank_b[np.argsort(-bm25, kind="stable")] = np.arange(cand.size)
            fused = (cfg.w_dense / (cfg.rrf_k + rank_d) + cfg.w_bm25 / (cfg.rrf_k + rank_b)) * cfg.rrf_k
            fused += cfg.w_levensgebied * lg
        else:
            spread = float(cos.max() - cos.min())
            dense_n = (cos - cos.min()) / spread if spread > 1e-6 else np.ones_like(cos)
            fused = cfg.w_dense * dense_n + cfg.w_bm25 * bm25_n + cfg.w_levensgebied * lg
        order = _best(fused, depth)
        no_match = relevance_too_low and bm25_per_term < cfg.min_bm25
        return Ranked(
            order=cand[order],
            scores=fused[order],
            no_match=no_match,
            top_cosine=top_cos,
            domain_cosine=domain,
            top_bm25=bm25_per_term,
            detected_levensgebieden=detected,
        )


def _best(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first, ties by position; partial sort, so a
    search over 10,000 services does not sort them all."""
    if scores.size > k:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(scores.size)
    return part[np.lexsort((part, -scores[part]))]


def _bm25(tokens: list[list[str]], config: SearchConfig) -> bm25s.BM25:
    index = bm25s.BM25(k1=config.k1, b=config.b)
    index.index(tokens, show_progress=False)
    return index
