"""The demo directory `iad setup` loads: the sociale kaart imported (sociale_kaart/), then
the articles checked and the search index warmed (knowledge/), so that passage
embeddings are stored and the first resident search is fast. Idempotent: a second run
imports nothing and embeds nothing. It lives in the app layer because it joins the two."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from knowledge.articles import load_articles
from knowledge.search import warm_index
from sociale_kaart.importer import import_demo_data


def load_demo_directory(*, engine: Engine | None = None, warm: bool = True) -> dict:
    result = import_demo_data(engine=engine)
    if result["import"]["ok"]:
        result["articles"] = len(load_articles())
        if warm:
            result["index"] = warm_index(engine=engine)
    return result
