"""The labelled examples the models learn from: understanding/corpus/**/*.yml (written for
this project, every style residents use) and the bot's own NLU examples (bot/data/nlu,
read as data). Evaluation sets (../shared/eval, eval/blind) are never read here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.crisis import CRISIS_CODES
from core.taxonomy import LEVENSGEBIED_CODES

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
    # Handover signals (corpus/signalen): regieverlies, overbelast, zorg_om_ander. None when
    # the example was not labelled for them (most of the corpus), () when it has none.
    signalen: tuple[str, ...] | None = None


def _corpus_examples(folder: Path) -> list[Example]:
    out = []
    for path in sorted(folder.rglob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            codes = tuple(c for c in (item.get("levensgebieden") or []) if c in LEVENSGEBIED_CODES)
            crisis = item.get("crisis") if item.get("crisis") in CRISIS_CODES else None
            signalen = tuple(item["signalen"] or ()) if "signalen" in item else None
            out.append(
                Example(
                    str(item["text"]).strip(),
                    codes,
                    crisis,
                    item.get("lang") or "nl",
                    item.get("style") or "standard",
                    str(path.relative_to(folder)),
                    signalen,
                )
            )
    return out


def nlu_blocks(folder: Path = BOT_NLU_DIR) -> Iterator[tuple[Path, str, tuple[str, ...], list[str]]]:
    """Every intent block of the Rasa NLU files: (file, intent, metadata.levensgebieden, texts)."""
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            intent = block.get("intent")
            if not intent:
                continue
            examples = block.get("examples", "")
            if isinstance(examples, str):
                texts = [ln.strip()[2:].strip() for ln in examples.splitlines() if ln.strip().startswith("- ")]
            else:
                texts = [e["text"].strip() for e in examples]
            yield path, intent, tuple((block.get("metadata") or {}).get("levensgebieden") or ()), texts


def _bot_examples(folder: Path) -> list[Example]:
    return [
        Example(text, codes, BOT_CRISIS_INTENTS.get(intent), "nl", "bot", f"bot:{path.name}")
        for path, intent, codes, texts in nlu_blocks(folder)
        for text in texts
        if text and not text.startswith("/")
    ]


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
