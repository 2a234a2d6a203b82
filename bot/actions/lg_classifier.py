"""A multi-label levensgebieden classifier on sentence embeddings (knowledge.embeddings,
multilingual-e5-small), trained ONLY on the project's own labelled examples in
bot/data/nlu (see bot/training_data.py): one logistic regression per levensgebied.

It complements the lexicon in signalen.yml: it hears paraphrases the patterns miss
("de pot is leeg aan het eind van de maand"). The decision threshold is chosen by
cross-validation on the training examples, never on an evaluation set.

Built at set-up (`ensure_classifier()`, app venv) into DATA_DIR/models/levensgebieden-clf;
the action server loads it once.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

BUILDER_VERSION = 2
_lock = threading.Lock()
_cached: "LevensgebiedClassifier | None" = None
_failed = False


def model_dir() -> Path:
    from iad.config import get_settings

    return get_settings().data_dir / "models" / "levensgebieden-clf"


def _fingerprint(texts: list[str], labels: list[tuple[str, ...]]) -> str:
    from iad.config import get_settings

    h = hashlib.sha256()
    h.update(f"v{BUILDER_VERSION}|{get_settings().embedding_model}".encode())
    for t, ls in zip(texts, labels):
        h.update(t.encode("utf-8") + b"\x00" + ",".join(ls).encode() + b"\x01")
    return h.hexdigest()[:16]


def _clauses(text: str) -> list[str]:
    parts = re.split(r"[.!?;,]+|\s+(?:en|maar|want|omdat|and|but|because)\s+", text)
    return [p.strip() for p in parts if len(p.strip().split()) >= 2] or [text.strip()]


class LevensgebiedClassifier:
    def __init__(self, codes: list[str], coef: np.ndarray, intercept: np.ndarray, threshold: float):
        self.codes = codes
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.threshold = float(threshold)

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        z = vectors @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def predict(self, text: str, threshold: float | None = None) -> dict[str, list[str]]:
        """{code: [the clause of the text that carried it]} for codes above threshold
        (default: the cross-validated one)."""
        from knowledge.embeddings import embed_queries

        cut = self.threshold if threshold is None else threshold
        p = self.proba(embed_queries([text]))[0]
        codes = [c for c, v in zip(self.codes, p) if v >= cut]
        if not codes:
            return {}
        clauses = _clauses(text)
        if len(clauses) == 1:
            return {c: [clauses[0]] for c in codes}
        cp = self.proba(embed_queries(clauses))
        out = {}
        for c in codes:
            j = self.codes.index(c)
            out[c] = [clauses[int(np.argmax(cp[:, j]))]]
        return out

    def save(self, folder: Path, fingerprint: str, info: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "weights.npz", coef=self.coef, intercept=self.intercept)
        (folder / "meta.json").write_text(
            json.dumps(
                {"codes": self.codes, "threshold": self.threshold, "fingerprint": fingerprint, **info},
                indent=2,
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, folder: Path) -> "LevensgebiedClassifier":
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        w = np.load(folder / "weights.npz")
        return cls(meta["codes"], w["coef"], w["intercept"], meta["threshold"])


def _training_set():
    from bot.training_data import load_examples
    from iad.taxonomy import LEVENSGEBIED_CODES

    examples = [e for e in load_examples() if not e.text.startswith("/")]
    texts = [e.text for e in examples]
    labels = [tuple(sorted(e.levensgebieden)) for e in examples]
    Y = np.array([[int(c in ls) for c in LEVENSGEBIED_CODES] for ls in labels], dtype=np.int8)
    return list(LEVENSGEBIED_CODES), texts, labels, Y


def _fit(X: np.ndarray, Y: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    coefs, intercepts = [], []
    for j in range(Y.shape[1]):
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        clf.fit(X, Y[:, j])
        coefs.append(clf.coef_[0])
        intercepts.append(clf.intercept_[0])
    return np.array(coefs), np.array(intercepts)


def _macro_f1(Y: np.ndarray, P: np.ndarray) -> float:
    f1s = []
    for j in range(Y.shape[1]):
        tp = int(((P[:, j] == 1) & (Y[:, j] == 1)).sum())
        fp = int(((P[:, j] == 1) & (Y[:, j] == 0)).sum())
        fn = int(((P[:, j] == 0) & (Y[:, j] == 1)).sum())
        f1s.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float(np.mean(f1s))


def train(C: float = 4.0, folds: int = 5, seed: int = 7) -> tuple[LevensgebiedClassifier, dict]:
    """Fit on all own examples; pick the threshold with the best cross-validated
    macro-F1 (own examples only)."""
    from knowledge.embeddings import embed_queries

    codes, texts, labels, Y = _training_set()
    X = embed_queries(texts)
    rng = np.random.default_rng(seed)
    fold_of = rng.integers(0, folds, size=len(texts))
    probs = np.zeros(Y.shape, dtype=np.float32)
    for k in range(folds):
        tr, te = fold_of != k, fold_of == k
        coef, icpt = _fit(X[tr], Y[tr], C)
        probs[te] = LevensgebiedClassifier(codes, coef, icpt, 0.5).proba(X[te])
    grid = [round(t, 2) for t in np.arange(0.3, 0.96, 0.05)]
    scores = {t: _macro_f1(Y, (probs >= t).astype(int)) for t in grid}
    best = max(scores, key=scores.get)
    coef, icpt = _fit(X, Y, C)
    info = {"n_examples": len(texts), "C": C, "cv_macro_f1": round(scores[best], 4),
            "cv_scores": {str(k): round(v, 4) for k, v in scores.items()}}
    return LevensgebiedClassifier(codes, coef, icpt, best), info


def ensure_classifier(force: bool = False) -> dict:
    """Train and save when missing or when the examples changed. Returns a summary."""
    codes, texts, labels, _ = _training_set()
    fp = _fingerprint(texts, labels)
    folder = model_dir()
    meta_file = folder / "meta.json"
    if not force and meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("fingerprint") == fp:
            return {"status": "up to date", "threshold": meta["threshold"], "cv_macro_f1": meta.get("cv_macro_f1")}
    clf, info = train()
    clf.save(folder, fp, info)
    global _cached
    _cached = None
    return {"status": "trained", "threshold": clf.threshold, "cv_macro_f1": info["cv_macro_f1"]}


def get_classifier(required: bool = False) -> LevensgebiedClassifier | None:
    """The saved classifier, or None (lexicon only) when it or the embedding model is
    missing; required=True raises instead."""
    global _cached, _failed
    if _cached is not None:
        return _cached
    if _failed and not required:
        return None
    with _lock:
        if _cached is None:
            try:
                folder = model_dir()
                if not (folder / "meta.json").exists():
                    raise FileNotFoundError(f"{folder} missing: run ensure_classifier() (iad setup)")
                from knowledge.embeddings import get_model

                get_model()
                _cached = LevensgebiedClassifier.load(folder)
            except Exception:
                if required:
                    raise
                _failed = True
                log.warning("levensgebieden classifier unavailable; lexicon only", exc_info=True)
                return None
    return _cached
