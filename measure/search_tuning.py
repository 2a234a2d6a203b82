"""`iad eval search --tune`: the fusion weight and the no-match rule chosen on a tuning set
of resident questions (eval/tuning/search.yml, never a blind set), with 5-fold
cross-validation so the figure printed for each choice is out-of-fold.

- Fusion: w_dense (w_bm25 = 1 - w_dense) on a grid; the one with the best mean of
  Recall@5 and MRR@10 on the answerable questions.
- No match: the rule of knowledge/index.py (no match when cosine to the best candidate
  + cosine to the closest levensgebied < min_relevance, unless BM25 per query term >=
  min_bm25), both thresholds on a grid; the pair with the best balanced accuracy
  (no-match questions told so, answerable ones not).
"""

from __future__ import annotations

import numpy as np

from knowledge.embeddings import embed_queries
from knowledge.index import SearchConfig
from knowledge.search import place_in_query

W_DENSE_GRID = tuple(round(w, 2) for w in np.arange(0.4, 1.01, 0.1))
MIN_RELEVANCE_GRID = tuple(round(x, 3) for x in np.arange(1.55, 1.801, 0.005))
MIN_BM25_GRID = (0.3, 0.5, 0.7, 0.9, 1.2, 1.5, 2.0, float("inf"))
FOLDS = 5


def _stats(searcher, cases: list[dict], w_dense: float) -> list[dict]:
    index = searcher.index
    index.config = index.config.with_(w_dense=w_dense, w_bm25=round(1 - w_dense, 2))
    vectors = embed_queries([c["query"] for c in cases])
    rows = []
    for case, vector in zip(cases, vectors):
        gemeente = case.get("gemeente") or (place_in_query(case["query"]) if index.config.place_from_query else None)
        mask = index.mask(gemeente=gemeente, kinds=("service",))
        ranked = index.rank(case["query"], mask, mode="hybrid", query_vector=vector, depth=10)
        ids = [index.docs[int(i)].id for i in ranked.order[:10]]
        relevant = set(case.get("relevant") or [])
        first = next((k + 1 for k, d in enumerate(ids) if d in relevant), None)
        rows.append(
            {
                "no_match": bool(case.get("no_match") or not relevant),
                "recall5": float(first is not None and first <= 5),
                "rr": 1.0 / first if first else 0.0,
                "relevance": (ranked.top_cosine or 0.0) + (ranked.domain_cosine or 0.0),
                "bm25": ranked.top_bm25 or 0.0,
            }
        )
    return rows


def _balanced(rows: list[dict], min_relevance: float, min_bm25: float) -> tuple[float, float, float]:
    said = [r["relevance"] < min_relevance and r["bm25"] < min_bm25 for r in rows]
    nm = [s for s, r in zip(said, rows) if r["no_match"]]
    ok = [s for s, r in zip(said, rows) if not r["no_match"]]
    right = sum(nm) / len(nm) if nm else 1.0
    false = sum(ok) / len(ok) if ok else 0.0
    return (right + 1 - false) / 2, right, false


def _best_rule(rows: list[dict]) -> tuple[float, float]:
    best = max(
        ((_balanced(rows, r, b)[0], -r, -b) for r in MIN_RELEVANCE_GRID for b in MIN_BM25_GRID),
        key=lambda x: x,
    )
    return -best[1], -best[2]


def tune(searcher, cases: list[dict], seed: int = 7) -> dict:
    per_weight = {w: _stats(searcher, cases, w) for w in W_DENSE_GRID}
    fusion = {}
    for w, rows in per_weight.items():
        answerable = [r for r in rows if not r["no_match"]]
        fusion[w] = {
            "recall@5": round(float(np.mean([r["recall5"] for r in answerable])), 4),
            "mrr@10": round(float(np.mean([r["rr"] for r in answerable])), 4),
        }
    w_dense = max(fusion, key=lambda w: (fusion[w]["recall@5"] + fusion[w]["mrr@10"], w))
    rows = per_weight[w_dense]
    fold = np.random.default_rng(seed).integers(0, FOLDS, size=len(rows))
    said_right = said_false = n_nm = n_ok = 0
    for k in range(FOLDS):
        train = [r for r, f in zip(rows, fold) if f != k]
        test = [r for r, f in zip(rows, fold) if f == k]
        rule = _best_rule(train)
        _, right, false = _balanced(test, *rule)
        k_nm = sum(r["no_match"] for r in test)
        said_right += right * k_nm
        n_nm += k_nm
        said_false += false * (len(test) - k_nm)
        n_ok += len(test) - k_nm
    min_relevance, min_bm25 = _best_rule(rows)
    default = SearchConfig()
    _, right_default, false_default = _balanced(per_weight[w_dense], default.min_relevance, default.min_bm25)
    return {
        "cases": len(cases),
        "fusion_by_w_dense": fusion,
        "chosen": {
            "w_dense": w_dense,
            "w_bm25": round(1 - w_dense, 2),
            "min_relevance": min_relevance,
            "min_bm25": min_bm25,
        },
        "no_match_cross_validated": {
            "no_match_accuracy": round(said_right / n_nm, 4) if n_nm else None,
            "false_no_match_rate": round(said_false / n_ok, 4) if n_ok else None,
        },
        "no_match_with_current_defaults": {
            "no_match_accuracy": round(right_default, 4),
            "false_no_match_rate": round(false_default, 4),
        },
    }
