"""`iad eval search` end to end: a small own case file on the demo directory (always),
and the acceptance targets of issue 4 on the dev cases (when ../shared and the model
are there)."""

import pytest

from core.config import get_settings
from knowledge.vectors import embeddings_available
from measure.search import evaluate_search
from sociale_kaart.importer import DEMO_FILE, SHARED_DIR, TWENTE_FILE

DEV_CASES = SHARED_DIR / "eval" / "dev" / "search.yml"
needs_model = pytest.mark.skipif(
    not embeddings_available(), reason=f"embedding model not built ({get_settings().embedding_model})"
)


def test_eval_on_own_cases(tmp_path):
    cases = tmp_path / "cases.yml"
    cases.write_text(
        '- query: "taalhuis om beter te leren lezen"\n  gemeente: Enschede\n  relevant: [demo-taalhuis]\n'
        '- query: "voedselpakket voor ons gezin"\n  relevant: [demo-voedselpunt]\n'
        '- query: "Hoe vraag ik een nieuw paspoort aan?"\n  relevant: []\n  no_match: true\n',
        encoding="utf-8",
    )
    result = evaluate_search(cases, DEMO_FILE)
    for key in ("recall@5", "mrr@10", "ndcg@10", "no_match_accuracy", "n"):
        assert key in result
    assert result["n"] == 2 and result["bm25_baseline"]["n"] == 2
    assert any("bm25" in k for k in result)
    assert result["keyword_dutch"]["recall@5"] == 1.0


@needs_model
@pytest.mark.skipif(
    not (DEV_CASES.exists() and TWENTE_FILE.exists()),
    reason=f"the shared dev cases or Twente directory are absent ({SHARED_DIR})",
)
def test_dev_cases_meet_the_acceptance_targets():
    result = evaluate_search(DEV_CASES, TWENTE_FILE)
    assert result["mode"] == "hybrid"
    assert result["recall@5"] >= 0.90
    assert result["mrr@10"] >= 0.75
    assert result["no_match_accuracy"] >= 0.80
    assert result["recall@5"] - result["bm25_baseline"]["recall@5"] >= 0.10
