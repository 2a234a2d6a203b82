"""Multi-label classification of one message, shared by the levensgebieden and the handover
signals: per label the average of a logistic regression on the message's sentence embedding
and one on its character n-grams (understanding/models.py), each label with its own
threshold chosen by cross-validation on the training corpus.

`predict(text)` gives {label: [the sentence or clause that carried it]}: the resident's own
words for the record and the wijkteam."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from understanding import models

THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.3, 0.96, 0.05))

_CLAUSE = re.compile(r"[.!?;,\n]+|\s+(?:en|maar|want|omdat|and|but|because)\s+")


def clauses(text: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSE.split(text or "")]
    return [p for p in parts if len(p.split()) >= 2] or [text.strip()]


class MultiLabelModel:
    def __init__(self, labels: Sequence[str], coef: np.ndarray, intercept: np.ndarray, words, thresholds: np.ndarray):
        self.labels = tuple(labels)
        self.coef, self.intercept, self.words = coef, intercept, words
        self.thresholds = np.asarray(thresholds, dtype=np.float32)

    def proba(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        by_meaning = models.sigmoid(vectors @ self.coef.T + self.intercept)
        return (by_meaning + self.words.predict_proba(texts)) / 2

    def predict(
        self, text: str, margin: float = 0.0, supported: Sequence[str] = (), supported_margin: float = 0.0
    ) -> dict[str, list[str]]:
        """{label: [own words]} for every label above its threshold (+ margin); a label in
        `supported` (other evidence heard it too) needs its threshold + supported_margin."""
        p = self.proba(models.embed([text]), [text])[0]
        found = [
            c
            for j, c in enumerate(self.labels)
            if p[j] >= min(0.99, self.thresholds[j] + (supported_margin if c in supported else margin))
        ]
        if not found:
            return {}
        parts = clauses(text)
        if len(parts) == 1:
            return {c: [parts[0]] for c in found}
        cp = self.proba(models.embed(parts), parts)
        return {c: [parts[int(np.argmax(cp[:, self.labels.index(c)]))]] for c in found}


def ensure_saved(name: str, fingerprint: str, train_model, reset, force: bool = False) -> dict:
    """Train (train_model() -> (model, info)) and save under `name` when missing or when the
    fingerprint of its training data changed; idempotent, for `iad setup`."""
    if not force and models.saved_fingerprint(name) == fingerprint:
        return {"status": "up to date", "cv_macro_f1": models.load_meta(name)["cross_validation"]["macro_f1"]}
    model, info = train_model()
    models.save(
        name,
        {"coef": model.coef, "intercept": model.intercept, "thresholds": model.thresholds},
        {"fingerprint": fingerprint, **info},
        words=model.words,
    )
    reset()
    return {
        "status": "trained",
        "cv_macro_f1": info["cross_validation"]["macro_f1"],
        "per_label_f1": info["cross_validation"]["per_label_f1"],
    }


def f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    return 2 * tp / max(1, 2 * tp + fp + fn)


def train(
    labels: Sequence[str], texts: list[str], Y: np.ndarray, C: float, C_words: float, folds: int = 5, seed: int = 7
) -> tuple[MultiLabelModel, dict]:
    """Out-of-fold probabilities choose each label's threshold (best F1); then the final
    model is fitted on everything."""
    X = models.embed_for_training(texts)
    fold_of = models.folds_of(len(texts), folds, seed)
    oof = np.zeros(Y.shape, dtype=np.float32)
    for k in range(folds):
        tr, te = fold_of != k, fold_of == k
        coef, icpt = models.fit_one_vs_rest(X[tr], Y[tr], C)
        words = models.fit_words([t for t, keep in zip(texts, tr) if keep], Y[tr], C_words)
        oof[te] = MultiLabelModel(labels, coef, icpt, words, np.full(Y.shape[1], 0.5)).proba(
            X[te], [t for t, keep in zip(texts, te) if keep]
        )
    thresholds, f1s = [], []
    for j in range(Y.shape[1]):
        scores = {t: f1(Y[:, j], oof[:, j] >= t) for t in THRESHOLD_GRID}
        best = max(scores, key=scores.get)
        thresholds.append(best)
        f1s.append(scores[best])
    coef, icpt = models.fit_one_vs_rest(X, Y, C)
    words = models.fit_words(texts, Y, C_words)
    info = {
        "C": C,
        "n_examples": len(texts),
        "support": {c: int(Y[:, j].sum()) for j, c in enumerate(labels)},
        "thresholds": {c: float(t) for c, t in zip(labels, thresholds)},
        "cross_validation": {
            "folds": folds,
            "macro_f1": round(float(np.mean(f1s)), 4),
            "per_label_f1": {c: round(v, 4) for c, v in zip(labels, f1s)},
        },
    }
    return MultiLabelModel(labels, coef, icpt, words, np.array(thresholds)), info
