"""The project's own labelled examples, read from the Rasa NLU files in bot/data/nlu.

Every `intent` block may carry `metadata.levensgebieden`; blocks without it (greet,
out_of_scope, ...) are examples with no levensgebied. Used to train and sanity-check the
levensgebieden detector; the evaluation sets in ../shared/eval are never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from understanding.corpus import BOT_CRISIS_INTENTS, nlu_blocks

NLU_DIR = Path(__file__).resolve().parent / "data" / "nlu"
# The crisis intents name their code ("crisis_suicide" -> "suicide").
CRISIS_INTENTS = BOT_CRISIS_INTENTS

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


def load_examples(nlu_dir: Path = NLU_DIR) -> list[Example]:
    return [
        Example(text, intent, labels, CRISIS_INTENTS.get(intent), path.name)
        for path, intent, labels, texts in nlu_blocks(nlu_dir)
        for text in texts
    ]
