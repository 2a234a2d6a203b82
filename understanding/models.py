"""Logistic regressions on sentence embeddings: fitting, cross-validation and a small
store on disk (weights.npz + meta.json under DATA_DIR/models/<name>).

A model is saved with a fingerprint of its training data, its settings and the
embedding model; `iad setup` trains again only when that fingerprint changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np

from core.config import get_settings
from knowledge.embeddings import bulk_threads, embed_queries

log = logging.getLogger(__name__)

# Sentences: a crisis often sits in one sentence of a longer story, where the embedding
# of the whole message dilutes it. Split on sentence ends and line breaks only.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text or "")]
    return [p for p in parts if len(p.split()) >= 2]


# One turn asks for the same text more than once (levensgebieden, signals, their
# clauses): each text is embedded once per process, the last EMBED_CACHE_SIZE kept.
EMBED_CACHE_SIZE = 2048
_embedded: OrderedDict[str, np.ndarray] = OrderedDict()
_embedded_lock = threading.Lock()


def embed(texts: Sequence[str]) -> np.ndarray:
    """Resident messages as vectors (the e5 ``query:`` prompt)."""
    texts = list(texts)
    if not texts:
        return embed_queries(texts)
    with _embedded_lock:
        missing = list(dict.fromkeys(t for t in texts if t not in _embedded))
    if missing:
        vectors = embed_queries(missing)
        with _embedded_lock:
            _embedded.update(zip(missing, vectors))
            while len(_embedded) > EMBED_CACHE_SIZE:
                _embedded.popitem(last=False)
    with _embedded_lock:
        found = [_embedded.get(t) for t in texts]
        for t in texts:
            if t in _embedded:
                _embedded.move_to_end(t)
    if any(v is None for v in found):  # pushed out by another thread meanwhile
        return embed_queries(texts)
    return np.array(found, dtype=np.float32)


def embed_for_training(texts: Sequence[str]) -> np.ndarray:
    """As embed(), with a cache on disk per text (DATA_DIR/models/training-embeddings.npz),
    so a changed corpus only embeds what is new. Training only: run time never reads it."""
    cache_file = get_settings().data_dir / "models" / "training-embeddings.npz"
    tag = hashlib.sha256(get_settings().embedding_model.encode()).hexdigest()[:8]
    keys = [tag + hashlib.sha256(t.encode("utf-8")).hexdigest()[:24] for t in texts]
    cache: dict[str, np.ndarray] = {}
    if cache_file.exists():
        with np.load(cache_file) as stored:
            cache = dict(zip(stored["keys"].tolist(), stored["vectors"]))
    missing = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
    if missing:
        with bulk_threads():
            vectors = embed_queries([t for _, t in missing])
        cache.update({k: v for (k, _), v in zip(missing, vectors)})
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, keys=np.array(list(cache)), vectors=np.array(list(cache.values()), dtype=np.float32))
    return np.array([cache[k] for k in keys], dtype=np.float32)


def model_dir(name: str) -> Path:
    return get_settings().data_dir / "models" / name


def fingerprint(version: int, rows: Sequence[tuple[str, str]], **params) -> str:
    h = hashlib.sha256()
    h.update(f"v{version}|{get_settings().embedding_model}|{json.dumps(params, sort_keys=True)}".encode())
    for text, label in rows:
        h.update(text.encode("utf-8") + b"\x00" + label.encode("utf-8") + b"\x01")
    return h.hexdigest()[:16]


def save(name: str, arrays: dict[str, np.ndarray], meta: dict, words=None) -> Path:
    """words: the fitted character n-gram model (see fit_words), kept with joblib."""
    folder = model_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "weights.npz", **arrays)
    if words is not None:
        joblib.dump(words, folder / "words.joblib")
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def load_words(name: str):
    return joblib.load(model_dir(name) / "words.joblib")


def load(name: str) -> tuple[dict[str, np.ndarray], dict]:
    folder = model_dir(name)
    meta = load_meta(name)
    if meta is None:
        raise FileNotFoundError(f"{folder} missing: run `iad setup` (trains the understanding models)")
    with np.load(folder / "weights.npz") as weights:
        arrays = {k: weights[k] for k in weights.files}
    return arrays, meta


def load_meta(name: str) -> dict | None:
    """What was saved about a model (fingerprint, thresholds, cross-validation), or None."""
    meta_file = model_dir(name) / "meta.json"
    if not meta_file.exists():
        return None
    return json.loads(meta_file.read_text(encoding="utf-8"))


def saved_fingerprint(name: str) -> str | None:
    return (load_meta(name) or {}).get("fingerprint")


def folds_of(n: int, folds: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, folds, size=n)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def fit_multiclass(X: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, every class weighted equally (class_weight balanced)."""
    from sklearn.linear_model import LogisticRegression  # heavy: about 1 s; only training needs it

    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    clf.fit(X, y)
    return clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32)


def fit_one_vs_rest(X: np.ndarray, Y: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray]:
    """One binary logistic regression per column of Y (multi-label)."""
    from sklearn.linear_model import LogisticRegression  # heavy: about 1 s; only training needs it

    coefs, intercepts = [], []
    for j in range(Y.shape[1]):
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
        clf.fit(X, Y[:, j])
        coefs.append(clf.coef_[0])
        intercepts.append(clf.intercept_[0])
    return np.array(coefs, dtype=np.float32), np.array(intercepts, dtype=np.float32)


# The second view of a message: character n-grams of its words (TF-IDF). The embedding
# hears meaning and paraphrase; the n-grams hear the words themselves, misspelled or
# dialect ("spoor", "pillen gespaard", "sgulden"). Averaged, the two do clearly better in
# cross-validation than either alone (understanding/README.md has the figures).
def _ngrams():
    from sklearn.feature_extraction.text import TfidfVectorizer  # heavy: about 1 s; only training needs it

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)


def fit_words(texts: Sequence[str], y: np.ndarray, C: float = 8.0):
    """A multinomial (y: classes) or one-vs-rest (y: 2-D labels) logistic regression on
    character n-grams; predict_proba gives (n, classes) or (n, labels)."""
    # heavy: scikit-learn takes about 1 s to import; only training needs it (a saved model
    # brings in what it needs when joblib loads it)
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    model = make_pipeline(_ngrams(), OneVsRestClassifier(lr) if y.ndim == 2 else lr)
    model.fit(list(texts), y)
    return model


class SavedModel:
    """A model saved under DATA_DIR/models/<name>, loaded once per process on first use.
    When it cannot be loaded, get() logs once and gives None (required=True raises)."""

    def __init__(self, name: str, build, what_runs_without: str):
        self.name, self._build, self._without = name, build, what_runs_without
        self._lock = threading.Lock()
        self._model = None
        self._unavailable = False

    def get(self, required: bool = False):
        if self._model is not None:
            return self._model
        if self._unavailable and not required:
            return None
        with self._lock:
            if self._model is None:
                try:
                    arrays, meta = load(self.name)
                    self._model = self._build(arrays, meta, load_words(self.name))
                    embed(["warm-up"])  # load the embedding model now, not on a resident's turn
                except Exception:
                    if required:
                        raise
                    self._unavailable = True
                    log.error("%s unavailable: %s", self.name, self._without, exc_info=True)
                    return None
        return self._model

    def reset(self) -> None:
        with self._lock:
            self._model, self._unavailable = None, False
