"""`iad eval nlu`: single resident messages (../shared/eval/dev/nlu.yml, eval/blind/nlu.yml)
scored as the product reads them.

- Crisis: the front door's detector (understanding.crisis: learned model + patterns), both
  tiers together (a possible-tier safety question counts as caught when its code fits the
  case, and as a false alarm on a message without crisis) and each tier apart, and each
  source apart (the model alone, the patterns alone).
- Levensgebieden: what the bot records for the message (bot.actions.levensgebieden),
  multi-label precision/recall/F1 per code and macro-F1.
- Beside it: the cross-validated figures of the saved models on their training corpus.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.actions import levensgebieden as lg
from core.crisis import POSSIBLE, SURE
from core.taxonomy import LEVENSGEBIED_CODES
from understanding import crisis as crisis_detector
from understanding import levensgebieden as lg_model
from understanding import models
from understanding.crisis import combine
from understanding.crisis_patterns import pattern_crisis


def load_cases(path: str | Path) -> list[dict]:
    cases = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [c for c in cases if isinstance(c, dict) and "text" in c]


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def score_levensgebieden(gold: list[set[str]], pred: list[set[str]]) -> dict:
    per_label = {}
    for c in LEVENSGEBIED_CODES:
        tp = sum(1 for g, p in zip(gold, pred) if c in g and c in p)
        fp = sum(1 for g, p in zip(gold, pred) if c not in g and c in p)
        fn = sum(1 for g, p in zip(gold, pred) if c in g and c not in p)
        per_label[c] = _prf(tp, fp, fn)
    # Macro over the codes that occur in the gold labels or the predictions.
    used = [c for c in LEVENSGEBIED_CODES if per_label[c]["support"] or any(c in p for p in pred)]
    macro = sum(per_label[c]["f1"] for c in used) / len(used) if used else 0.0
    return {"macro_f1": round(macro, 4), "per_label": per_label}


def crisis_rates(cases: list[dict], codes: list[str | None]) -> dict:
    crisis = [i for i, c in enumerate(cases) if c.get("crisis")]
    calm = [i for i, c in enumerate(cases) if not c.get("crisis")]
    return {
        "recall": round(sum(1 for i in crisis if codes[i]) / len(crisis), 4) if crisis else None,
        "code_accuracy": round(sum(1 for i in crisis if codes[i] == cases[i]["crisis"]) / len(crisis), 4)
        if crisis
        else None,
        "false_alarm_rate": round(sum(1 for i in calm if codes[i]) / len(calm), 4) if calm else None,
        "n_crisis": len(crisis),
        "n_calm": len(calm),
    }


def predict_levensgebieden(text: str, mode: str) -> set[str]:
    if mode == "lexicon":
        return set(lg.detect_lexicon(text))
    if mode == "classifier":
        return set(lg_model.predict(text, required=True))
    return set(lg.detect_levensgebieden(text, use_classifier=True))  # the product


def cross_validation() -> dict:
    out = {}
    for name in (crisis_detector.NAME, lg_model.NAME):
        meta = models.load_meta(name)
        if meta is None:
            continue
        out[name] = {"n_examples": meta.get("n_examples"), **meta.get("cross_validation", {})}
    return out


def evaluate_nlu(cases_path: str | Path, *, mode: str = "product", details: bool = False) -> dict:
    crisis_detector.ensure_model()
    lg_model.ensure_model()
    model = crisis_detector.get_model(required=True)
    cases = load_cases(cases_path)
    model_only = [model.verdict(c["text"]) for c in cases]
    patterns = [pattern_crisis(c["text"]) for c in cases]
    # As understanding.crisis.detect does, from the two parts computed once.
    verdicts = [combine(m, p) for m, p in zip(model_only, patterns)]

    both = [v.code for v in verdicts]
    sure = [v.code if v.tier == SURE else None for v in verdicts]
    possible = [v.code if v.tier == POSSIBLE else None for v in verdicts]
    gold_lg = [set(c.get("levensgebieden") or []) for c in cases]
    pred_lg = [predict_levensgebieden(c["text"], mode) for c in cases]
    result = {"n": len(cases), "cases": str(cases_path), "levensgebieden_mode": mode}
    rates = crisis_rates(cases, both)
    result.update(
        {
            "crisis_recall": rates["recall"],
            "crisis_false_alarm_rate": rates["false_alarm_rate"],
            "crisis_code_accuracy": rates["code_accuracy"],
            "crisis_tiers": {
                "both": rates,
                "sure": crisis_rates(cases, sure),
                # The possible tier alone: what the safety question catches and costs.
                "possible": crisis_rates(cases, possible),
            },
            "crisis_by_source": {
                "model": crisis_rates(cases, [v.code for v in model_only]),
                "patterns": crisis_rates(cases, patterns),
            },
            "thresholds": {"sure": round(model.sure, 4), "possible": round(model.possible, 4)},
        }
    )
    result.update(score_levensgebieden(gold_lg, pred_lg))
    result["cross_validation"] = cross_validation()
    if details:
        result["details"] = [
            {
                "text": c["text"],
                "expected_crisis": c.get("crisis"),
                "crisis": v.code,
                "tier": v.tier,
                "probability": round(v.probability, 4),
                "source": v.source,
                "crisis_ok": (v.code == c.get("crisis")) if c.get("crisis") else v.code is None,
                "expected_levensgebieden": sorted(g),
                "levensgebieden": sorted(p),
                "levensgebieden_ok": g == p,
            }
            for c, v, g, p in zip(cases, verdicts, gold_lg, pred_lg)
        ]
    return result
