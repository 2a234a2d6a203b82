"""The project's own labelled examples, read from the Rasa NLU files in bot/data/nlu.

Every `intent` block may carry `metadata.levensgebieden`; blocks without it (greet,
out_of_scope, ...) are examples with no levensgebied. Used to train and sanity-check the
levensgebieden detector; the evaluation sets in ../shared/eval are never read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

NLU_DIR = Path(__file__).resolve().parent / "data" / "nlu"
CRISIS_INTENTS = {
    "crisis_suicide": "suicide",
    "crisis_geweld": "geweld",
    "crisis_acuut_gevaar": "acuut_gevaar",
    "crisis_dakloos_vannacht": "dakloos_vannacht",
    "crisis_verward": "verward",
}

# The front door's learned detector (understanding/crisis.py) is the crisis decision and runs
# before every message. A crisis that only the bot's NLU sees is acted on as well, but only
# at this confidence or above: an extra catch, never a veto. Measured on the dev dialogues:
# DIET gave false crises at 0.982 and 0.990 to ordinary questions.
BOT_ONLY_CRISIS_MIN_CONFIDENCE = 0.995


def bot_crisis_code(intent: str | None, confidence: float | None, front_door: str | None) -> str | None:
    """The crisis code the bot acts on for its own NLU intent, or None. When the front door
    saw a crisis (slot crisis_handled) it has sent its numbers; a crisis intent then names
    the code the bot answers."""
    code = CRISIS_INTENTS.get(intent or "")
    if code is None:
        return None
    if front_door or (confidence or 0.0) >= BOT_ONLY_CRISIS_MIN_CONFIDENCE:
        return code
    return None


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    levensgebieden: tuple[str, ...]
    crisis: str | None
    source: str


def _example_texts(examples) -> list[str]:
    if isinstance(examples, str):
        return [
            line.strip()[2:].strip()
            for line in examples.splitlines()
            if line.strip().startswith("- ")
        ]
    return [e["text"].strip() for e in examples]


def load_examples(nlu_dir: Path = NLU_DIR) -> list[Example]:
    out: list[Example] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            intent = block.get("intent")
            if not intent:
                continue
            labels = tuple((block.get("metadata") or {}).get("levensgebieden") or ())
            for text in _example_texts(block.get("examples", "")):
                out.append(
                    Example(text, intent, labels, CRISIS_INTENTS.get(intent), path.name)
                )
    return out
