"""`--record`: the headline figures of an `iad eval` run go into eval/figures.json with the
date, the cases file and the channel, for the transparency page (webhooks/transparency.py).
One entry per (command, cases, channel): a new run replaces the old one."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from webhooks.transparency import FIGURE_LABELS, FIGURES


def headline(result: dict) -> dict[str, float]:
    """The figures the page explains, from a result's top level ("recall@5" -> "recall_at_5";
    the nlu command's "macro_f1" is the levensgebieden macro-F1)."""
    flat = {key.replace("@", "_at_"): value for key, value in result.items()}
    if "macro_f1" in flat:
        flat["levensgebieden_macro_f1"] = flat["macro_f1"]
    return {key: float(value) for key, value in flat.items() if key in FIGURE_LABELS and isinstance(value, int | float)}


def record(command: str, cases: Path, result: dict, *, channel: str | None = None, path: Path = FIGURES) -> dict:
    runs = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entry = {
        "command": command,
        "cases": Path(cases).as_posix(),
        "channel": channel,
        "date": date.today().isoformat(),
        "n": result.get("n"),
        "figures": headline(result),
    }
    runs[" ".join(x for x in (command, entry["cases"], channel) if x)] = entry
    # Written next to it and then renamed: the public page never reads a half-written file.
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(runs, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(scratch, path)
    return entry
