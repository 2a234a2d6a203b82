"""Algemene regelingen: short B1 articles in knowledge/articles/*.md, each with YAML
front matter, searched together with the services of the sociale kaart.

    ---
    id: bijzondere-bijstand              # stable, unique
    title: Bijzondere bijstand
    summary: One short B1 line: what it is.
    levensgebieden: [geld]               # codes from core/levensgebieden.yml
    gemeente: alle                       # "alle" (a national rule every gemeente carries out) or a gemeente
    iad_level: wijkteam                  # see sociale_kaart.models.IAD_LEVELS
    contact: How a resident asks for it.
    source: Where the facts come from (law article or page).
    checked: 2026-11-23                  # when the text was last checked
    ---
    The body, in B1 Dutch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from core.taxonomy import LEVENSGEBIED_CODES
from sociale_kaart.models import IAD_LEVELS

ARTICLES_DIR = Path(__file__).with_name("articles")
REQUIRED = ("id", "title", "summary", "levensgebieden", "gemeente", "iad_level", "contact", "source", "checked")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    summary: str
    levensgebieden: tuple[str, ...]
    gemeente: str | None  # None: every gemeente
    iad_level: str
    contact: str
    source: str
    checked: date
    body: str
    path: Path


class ArticleError(ValueError):
    pass


def parse_article(path: Path) -> Article:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ArticleError(f"{path.name}: front matter (---) ontbreekt")
    try:
        _, front, body = text.split("---\n", 2)
    except ValueError:
        raise ArticleError(f"{path.name}: front matter wordt niet afgesloten met ---") from None
    meta = yaml.safe_load(front) or {}
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise ArticleError(f"{path.name}: ontbreekt: {', '.join(missing)}")
    unknown = [c for c in meta["levensgebieden"] if c not in LEVENSGEBIED_CODES]
    if unknown:
        raise ArticleError(f"{path.name}: onbekend levensgebied {unknown}")
    if meta["iad_level"] not in IAD_LEVELS:
        raise ArticleError(f"{path.name}: onbekend iad_level {meta['iad_level']!r}")
    checked = meta["checked"]
    if not isinstance(checked, date):
        checked = date.fromisoformat(str(checked))
    gemeente = str(meta["gemeente"]).strip()
    return Article(
        id=str(meta["id"]),
        title=str(meta["title"]).strip(),
        summary=" ".join(str(meta["summary"]).split()),
        levensgebieden=tuple(meta["levensgebieden"]),
        gemeente=None if gemeente.lower() == "alle" else gemeente,
        iad_level=meta["iad_level"],
        contact=" ".join(str(meta["contact"]).split()),
        source=str(meta["source"]).strip(),
        checked=checked,
        body=body.strip(),
        path=path,
    )


def load_articles(directory: Path | None = None) -> list[Article]:
    """All articles, sorted by id; raises ArticleError on the first bad file or a
    duplicate id (articles live in the repo, so a bad one is a bug to fix, not skip)."""
    directory = directory or ARTICLES_DIR
    articles = [parse_article(p) for p in sorted(directory.glob("*.md"))]
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise ArticleError(f"dubbele id {article.id!r}")
        seen.add(article.id)
    return sorted(articles, key=lambda a: a.id)


def articles_fingerprint(directory: Path | None = None) -> tuple:
    """Changes whenever an article file is added, removed or edited (cheap: stat only)."""
    directory = directory or ARTICLES_DIR
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.md")))
