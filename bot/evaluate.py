"""NLU evaluation: levensgebieden (multi-label) and crisis recognition, on a cases file
such as ../shared/eval/dev/nlu.yml. Runs in the app venv:

    .venv/bin/python -m bot.evaluate ../shared/eval/dev/nlu.yml [--mode union]

Levensgebieden come from bot.actions.levensgebieden.detect_levensgebieden (what the
actions record). A crisis counts as recognised when either the bot's NLU (the trained
Rasa model: top intent crisis_*) or the front door's detector
(conversations.crisis.detect_crisis) fires: in the product both run on every message.
The Rasa model is run in its own venv through bot/rasa_parse.py (no server needed).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from bot.training_data import bot_crisis_code

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODES = ("lexicon", "classifier", "union")


def load_cases(path: str | Path) -> list[dict]:
    cases = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [c for c in cases if isinstance(c, dict) and "text" in c]


def rasa_parse(texts: list[str], model_dir: Path | None = None) -> dict:
    """Intent per text from the latest trained Rasa model, via the Rasa venv."""
    from iad.config import get_settings

    rasa_python = Path(os.environ.get("RASA_PYTHON", PROJECT_ROOT / ".venv-rasa" / "bin" / "python"))
    model_dir = model_dir or get_settings().rasa_model_dir
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "parses.json"
        proc = subprocess.run(
            [str(rasa_python), "-m", "bot.rasa_parse", str(model_dir), str(out)],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"rasa_parse failed:\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


def predict_levensgebieden(text: str, mode: str, intent: str | None = None) -> set[str]:
    from bot.actions import levensgebieden as lg

    if intent in lg.NO_LEVENSGEBIED_INTENTS:
        return set()
    if mode == "lexicon":
        return set(lg.detect_lexicon(text))
    if mode == "classifier":
        from bot.actions.lg_classifier import get_classifier

        return set(get_classifier(required=True).predict(text))
    # As in the product (action_extract_signals): the intent decides whether the
    # classifier reads the message.
    return set(lg.levensgebieden_for_message(text, intent, use_classifier=True))


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def score_levensgebieden(gold: list[set[str]], pred: list[set[str]], codes) -> dict:
    per_label = {}
    for c in codes:
        tp = sum(1 for g, p in zip(gold, pred) if c in g and c in p)
        fp = sum(1 for g, p in zip(gold, pred) if c not in g and c in p)
        fn = sum(1 for g, p in zip(gold, pred) if c in g and c not in p)
        per_label[c] = _prf(tp, fp, fn)
    # Macro over the codes that occur in the gold labels or the predictions.
    used = [c for c in codes if per_label[c]["support"] or any(c in p for p in pred)]
    macro = sum(per_label[c]["f1"] for c in used) / len(used) if used else 0.0
    return {"macro_f1": round(macro, 4), "per_label": per_label}


def evaluate_nlu(cases_path: str | Path, *, mode: str = "union", use_rasa: bool = True,
                 model_dir: Path | None = None) -> dict:
    from conversations.crisis import detect_crisis
    from iad.taxonomy import LEVENSGEBIED_CODES

    if mode != "lexicon":
        from bot.actions.lg_classifier import ensure_classifier

        ensure_classifier()  # idempotent; trains from the bot's own examples when missing
    cases = load_cases(cases_path)
    texts = [c["text"] for c in cases]
    gold_lg = [set(c.get("levensgebieden") or []) for c in cases]

    front = [detect_crisis(t) for t in texts]
    rasa_model = None
    intents: list[str | None] = [None] * len(texts)
    if use_rasa:
        parsed = rasa_parse(texts, model_dir)
        rasa_model = parsed["model"]
        intents = [p["intent"] for p in parsed["parses"]]
        confidences = [p.get("confidence") for p in parsed["parses"]]
    else:
        confidences = [None] * len(texts)
    # As in the product: a bot-only crisis counts only at high confidence (bot_crisis_code).
    bot = [bot_crisis_code(i, c, f) for i, c, f in zip(intents, confidences, front)]

    # As in the product: the NLU intent decides whether a message can carry a levensgebied
    # (small talk, out of scope and medical questions do not).
    pred_lg = [predict_levensgebieden(t, mode, i) for t, i in zip(texts, intents)]
    result = score_levensgebieden(gold_lg, pred_lg, LEVENSGEBIED_CODES)

    def rates(pred: list[str | None]) -> tuple[float, float, float]:
        crisis = [i for i, c in enumerate(cases) if c.get("crisis")]
        calm = [i for i, c in enumerate(cases) if not c.get("crisis")]
        recall = sum(1 for i in crisis if pred[i]) / len(crisis) if crisis else 1.0
        right_code = sum(1 for i in crisis if pred[i] == cases[i]["crisis"]) / len(crisis) if crisis else 1.0
        false_alarm = sum(1 for i in calm if pred[i]) / len(calm) if calm else 0.0
        return round(recall, 4), round(false_alarm, 4), round(right_code, 4)

    either = [f or b for f, b in zip(front, bot)]
    recall, false_alarm, right_code = rates(either)
    result.update(
        {
            "crisis_recall": recall,
            "crisis_false_alarm_rate": false_alarm,
            "n": len(cases),
            "levensgebieden_mode": mode,
            "crisis_code_accuracy": right_code,
            "crisis_by_source": {
                "front_door": dict(zip(("recall", "false_alarm_rate", "code_accuracy"), rates(front))),
                "rasa": dict(zip(("recall", "false_alarm_rate", "code_accuracy"), rates(bot))) if use_rasa else None,
            },
            "rasa_model": rasa_model,
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases")
    ap.add_argument("--mode", choices=MODES, default="union")
    ap.add_argument("--no-rasa", action="store_true", help="crisis from the front door only")
    args = ap.parse_args(argv)
    print(json.dumps(evaluate_nlu(args.cases, mode=args.mode, use_rasa=not args.no_rasa), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
