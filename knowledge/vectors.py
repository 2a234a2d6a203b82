"""Passage vectors with a cache: in memory for the running process, and in the
`search_embedding` table so that a restart, a second process or a re-import only embeds
passages whose text changed."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.config import get_settings
from core.db import session_scope
from core.taxonomy import levensgebieden
from knowledge.embeddings import embed_passages, embed_queries, get_model
from sociale_kaart.models import SearchEmbedding

log = logging.getLogger(__name__)


def model_key() -> str:
    """Names the embedding model in the cache: its folder name and weight file size, so a
    different model (EMBEDDING_MODEL) never reuses another model's vectors."""
    name = get_settings().embedding_model
    path = Path(name)
    weights = path / "model.safetensors"
    size = weights.stat().st_size if weights.is_file() else 0
    return f"{path.name or name}:{size}"[:200]


def embeddings_available() -> bool:
    settings = get_settings()
    if settings.uses_default_embedding_model:
        return (Path(settings.embedding_model) / "modules.json").is_file()
    try:
        get_model()
        return True
    except Exception as exc:  # noqa: BLE001 - any load failure means keyword-only search
        log.warning("embedding model %s not usable: %s", settings.embedding_model, exc)
        return False


# Shared by every index in the process (keys include the model): an evaluation's
# scratch database or a second gemeente database never embeds the same passage twice.
_MEMORY: dict[str, np.ndarray] = {}


class PassageVectors:
    def __init__(self) -> None:
        self.memory = _MEMORY
        self.embedded = 0  # passages this index had to embed (no cache had them)

    @staticmethod
    def _key(model: str, passage: str) -> str:
        return hashlib.sha256(f"{model}\0{passage}".encode()).hexdigest()

    def vectors(self, passages: list[str], engine: Engine | None) -> np.ndarray:
        model = model_key()
        keys = [self._key(model, p) for p in passages]
        missing = [k for k in dict.fromkeys(keys) if k not in self.memory]
        if missing and engine is not None:
            self._load(engine, model, missing)
        todo = [(k, p) for k, p in dict(zip(keys, passages)).items() if k not in self.memory]
        if todo:
            fresh = embed_passages([p for _, p in todo])
            self.embedded += len(todo)
            for (k, _), vec in zip(todo, fresh):
                self.memory[k] = vec
            if engine is not None:
                self._store(engine, model, [(k, self.memory[k]) for k, _ in todo])
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.memory[k] for k in keys]).astype(np.float32, copy=False)

    def _load(self, engine: Engine, model: str, keys: list[str]) -> None:
        try:
            with session_scope(engine) as session:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    rows = session.execute(
                        select(SearchEmbedding.text_hash, SearchEmbedding.vector).where(
                            SearchEmbedding.model == model, SearchEmbedding.text_hash.in_(chunk)
                        )
                    )
                    for text_hash, blob in rows:
                        self.memory[text_hash] = np.frombuffer(blob, dtype=np.float32).copy()
        except SQLAlchemyError as exc:
            log.warning("could not read cached embeddings: %s", exc)

    def _store(self, engine: Engine, model: str, items: list[tuple[str, np.ndarray]]) -> None:
        # Best effort: a failed write only costs re-embedding after the next restart.
        try:
            with session_scope(engine) as session:
                for text_hash, vec in items:
                    session.merge(
                        SearchEmbedding(
                            text_hash=text_hash,
                            model=model,
                            dim=int(vec.shape[0]),
                            vector=np.asarray(vec, dtype=np.float32).tobytes(),
                        )
                    )
        except SQLAlchemyError as exc:
            log.warning("could not store embeddings: %s", exc)


_domain: dict[str, np.ndarray] = {}


def levensgebied_prototypes() -> list[str]:
    return [f"{lg.label}: {', '.join(lg.signals)}" for lg in levensgebieden()]


def levensgebied_vectors() -> np.ndarray:
    """One vector per levensgebied, embedded as a question ("query: label: signals"):
    question-to-question similarity says how close a new question is to the domain."""
    key = model_key()
    if key not in _domain:
        _domain[key] = embed_queries(levensgebied_prototypes())
    return _domain[key]
