"""The message catalogue: resident texts, once per language (nl.yml, en.yml), so Dutch and
English cannot drift. `text("handover.passed_on", "en", team=...)` fills the {placeholders}.
A language without the key falls back to Dutch; tests/test_messages.py checks that both
files hold the same keys and placeholders, and that the Dutch texts read at B1."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("nl", "en")
_DIR = Path(__file__).resolve().parent


@cache
def catalogue(lang: str) -> dict[str, str]:
    """{"handover.passed_on": "Ik heb uw vraag doorgegeven aan {team}.", ...}: the nested
    YAML flattened to dotted keys."""
    data = yaml.safe_load((_DIR / f"{lang}.yml").read_text(encoding="utf-8")) or {}
    flat: dict[str, str] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = str(node).strip()

    walk("", data)
    return flat


def text(key: str, lang: str | None = "nl", **values: object) -> str:
    """The text for `key` in `lang` (Dutch when unknown), with the values filled in.
    A missing key is a KeyError: a resident never sees a key name."""
    texts = catalogue(lang if lang in LANGUAGES else "nl")
    template = texts.get(key) or catalogue("nl")[key]
    return template.format(**values)


def options(prefix: str, lang: str | None = "nl") -> dict[str, str]:
    """The children of `prefix`, in the catalogue's order: options("melding.ask.weet.buttons")
    -> {"eens": "Ja, vindt het goed", ...}. For button titles."""
    texts = catalogue(lang if lang in LANGUAGES else "nl")
    start = prefix + "."
    return {key[len(start) :]: value for key, value in texts.items() if key.startswith(start)}
