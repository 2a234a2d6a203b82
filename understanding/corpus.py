"""The labelled examples the models learn from: understanding/corpus/**/*.yml (written for
this project, every style residents use) and the bot's own NLU examples (bot/data/nlu,
read as data). Evaluation sets (../shared/eval, eval/blind) are never read here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from iad.crisis import CRISIS_CODES
from iad.taxonomy import LEVENSGEBIED_CODES

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
BOT_NLU_DIR = Path(__file__).resolve().parent.parent / "bot" / "data" / "nlu"
# The bot's crisis intents name their code.
BOT_CRISIS_INTENTS = {f"crisis_{code}": code for code in CRISIS_CODES}


@dataclass(frozen=True)
class Example:
    text: str
    levensgebieden: tuple[str, ...]
    crisis: str | None
    lang: str
    style: str
    source: str


def _corpus_examples(folder: Path) -> list[Example]:
    out = []
    for path in sorted(folder.rglob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            codes = tuple(c for c in (item.get("levensgebieden") or []) if c in LEVENSGEBIED_CODES)
            crisis = item.get("crisis") if item.get("crisis") in CRISIS_CODES else None
            out.append(Example(str(item["text"]).strip(), codes, crisis, item.get("lang") or "nl",
                               item.get("style") or "standard", str(path.relative_to(folder))))
    return out


def _bot_examples(folder: Path) -> list[Example]:
    out = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            intent = block.get("intent")
            if not intent:
                continue
            codes = tuple((block.get("metadata") or {}).get("levensgebieden") or ())
            examples = block.get("examples", "")
            lines = [ln.strip()[2:].strip() for ln in examples.splitlines() if ln.strip().startswith("- ")]
            for text in lines:
                if text and not text.startswith("/"):
                    out.append(Example(text, codes, BOT_CRISIS_INTENTS.get(intent), "nl", "bot", f"bot:{path.name}"))
    return out


def load_examples(corpus_dir: Path = CORPUS_DIR, bot_nlu_dir: Path = BOT_NLU_DIR) -> list[Example]:
    """Every training example, once per text (the first label wins on a duplicate)."""
    seen: set[str] = set()
    out = []
    for ex in _corpus_examples(corpus_dir) + _bot_examples(bot_nlu_dir):
        key = " ".join(ex.text.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(ex)
    return out
