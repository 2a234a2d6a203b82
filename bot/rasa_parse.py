"""Parse messages with a trained Rasa model, without a server. Runs in the RASA venv:

    .venv-rasa/bin/python -m bot.rasa_parse var/rasa-models parses.json < texts.json

stdin: a JSON list of texts. Writes {"model", "parses": [{"intent", "confidence",
"ranking"}, ...]} to the output file (stdout carries Rasa's own chatter).
Used by bot/evaluate.py (app venv), which cannot import Rasa itself.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def latest_model(path: Path) -> Path:
    if path.is_file():
        return path
    models = sorted(path.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no trained Rasa model in {path}")
    return models[-1]


async def _parse_all(model: Path, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    out = []
    for text in texts:
        result = await agent.parse_message(text)
        out.append(
            {
                "intent": result["intent"]["name"],
                "confidence": result["intent"].get("confidence"),
                "ranking": [
                    {"name": r["name"], "confidence": r["confidence"]}
                    for r in result.get("intent_ranking", [])[:5]
                ],
            }
        )
    return out


def main() -> None:
    logging.disable(logging.WARNING)
    model = latest_model(Path(sys.argv[1] if len(sys.argv) > 1 else "var/rasa-models"))
    texts = json.load(sys.stdin)
    result = asyncio.run(_parse_all(model, texts))
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    data = json.dumps({"model": model.name, "parses": result}, ensure_ascii=False)
    if out:
        out.write_text(data, encoding="utf-8")
    else:
        print(data)


if __name__ == "__main__":
    main()
