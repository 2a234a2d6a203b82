"""`iad eval search --cases FILE [--directory FILE]`: import the directory into a scratch
database, run every case, and report Recall@5, MRR@10, nDCG@10 and no_match_accuracy for
the hybrid search, beside a plain BM25 baseline on the same data and run (and, for
insight, the Dutch keyword ranker alone and the dense ranker alone).

Case format: ../shared/eval/README.md (dev/search.yml). The cases are only read here;
nothing from them goes into the index, the synonyms or the code.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import yaml

import sociale_kaart.models  # noqa: F401 - registers the tables the scratch database needs
from core.db import Base, make_engine
from knowledge.search import DirectorySearch
from measure.search_tuning import tune as tune_searcher
from sociale_kaart.importer import TWENTE_FILE, import_file

MODES = ("hybrid", "bm25", "bm25_dutch", "dense")


def load_cases(path: str | Path) -> list[dict]:
    cases = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(cases, list):
        raise ValueError(f"{path}: expected a list of cases")
    for i, case in enumerate(cases, start=1):
        if not isinstance(case, dict) or not case.get("query"):
            raise ValueError(f"{path}: case {i} has no query")
    return cases


def _metrics(ranked_ids: list[str], relevant: set[str]) -> tuple[float, float, float]:
    top5 = ranked_ids[:5]
    recall = 1.0 if relevant & set(top5) else 0.0
    rr = 0.0
    for rank, doc_id in enumerate(ranked_ids[:10], start=1):
        if doc_id in relevant:
            rr = 1.0 / rank
            break
    dcg = sum(1.0 / math.log2(r + 1) for r, d in enumerate(ranked_ids[:10], start=1) if d in relevant)
    idcg = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(relevant), 10) + 1))
    return recall, rr, (dcg / idcg if idcg else 0.0)


def evaluate_searcher(searcher, cases: list[dict], modes=MODES, *, details: bool = False) -> dict:
    """Metrics per mode for an already built DirectorySearch."""
    out: dict[str, dict] = {}
    for mode in modes:
        if mode in ("hybrid", "dense") and searcher.index.vectors is None:
            continue
        sums = [0.0, 0.0, 0.0]
        n = n_nm = nm_ok = false_nm = 0
        rows = []
        for case in cases:
            ids, ranked = searcher.ranking(case["query"], gemeente=case.get("gemeente"), mode=mode)
            relevant = set(case.get("relevant") or [])
            if case.get("no_match") or not relevant:
                n_nm += 1
                nm_ok += bool(ranked.no_match)
                rows.append(
                    {
                        "query": case["query"],
                        "no_match_expected": True,
                        "no_match": bool(ranked.no_match),
                        "top": ids[:3],
                        "top_cosine": ranked.top_cosine,
                        "top_bm25": ranked.top_bm25,
                    }
                )
                continue
            n += 1
            r, rr, nd = _metrics(ids, relevant)
            sums[0] += r
            sums[1] += rr
            sums[2] += nd
            false_nm += bool(ranked.no_match)
            rows.append(
                {
                    "query": case["query"],
                    "recall@5": r,
                    "rr": round(rr, 3),
                    "first_relevant_rank": next((k + 1 for k, d in enumerate(ids) if d in relevant), None),
                    "no_match": bool(ranked.no_match),
                    "top": ids[:5],
                    "top_cosine": ranked.top_cosine,
                    "top_bm25": ranked.top_bm25,
                }
            )
        result = {
            "recall@5": round(sums[0] / n, 4) if n else None,
            "mrr@10": round(sums[1] / n, 4) if n else None,
            "ndcg@10": round(sums[2] / n, 4) if n else None,
            "no_match_accuracy": round(nm_ok / n_nm, 4) if n_nm else None,
            # The price of the threshold: answerable questions wrongly told "no match".
            "false_no_match_rate": round(false_nm / n, 4) if n else None,
            "n": n,
            "n_no_match": n_nm,
        }
        if details:
            result["cases"] = rows
        out[mode] = result
    return out


def evaluate_search(
    cases: str | Path,
    directory: str | Path | None = None,
    *,
    config=None,
    details: bool = False,
    include_articles: bool = False,
    tune: bool = False,
) -> dict:
    """The JSON object `iad eval search` prints: the hybrid metrics at the top level, the
    plain BM25 baseline under "bm25_baseline", and the single rankers beside it.

    The scratch database lives in a temporary folder and is removed afterwards; the labels
    only name directory ids, so articles are left out unless include_articles."""
    case_list = load_cases(cases)
    directory = Path(directory) if directory else TWENTE_FILE
    with tempfile.TemporaryDirectory(prefix="iad-eval-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/eval.db")
        try:
            Base.metadata.create_all(engine)
            report = import_file(directory, engine=engine)
            if not report.ok:
                return {"error": "directory import failed", "import": report.to_dict()}
            searcher = DirectorySearch(engine, config=config, include_articles=include_articles)
            start = time.perf_counter()
            searcher.refresh(force=True)
            build = time.perf_counter() - start
            if tune:
                return tune_searcher(searcher, case_list)
            per_mode = evaluate_searcher(searcher, case_list, details=details)
        finally:
            engine.dispose()
    main = per_mode.get("hybrid") or per_mode.get("bm25_dutch")
    result = dict(main)
    result["mode"] = "hybrid" if "hybrid" in per_mode else "bm25_dutch (no embedding model)"
    result["bm25_baseline"] = per_mode["bm25"]
    result["keyword_dutch"] = per_mode.get("bm25_dutch")
    result["dense_only"] = per_mode.get("dense")
    if main.get("recall@5") is not None and per_mode["bm25"].get("recall@5") is not None:
        result["recall@5_gain_over_bm25"] = round(main["recall@5"] - per_mode["bm25"]["recall@5"], 4)
    result["directory"] = str(directory)
    result["services"] = report.created
    result["index_build_seconds"] = round(build, 2)
    result["config"] = {k: v for k, v in vars(searcher.config).items()}
    return result
